//! Feedback after the fact (pure): checking it, and what replacing a call's rating and
//! quality score changes in its rollup rows.

use app::types::FeedbackInput;

use super::app_request::Invalid;
use crate::analytics::stats::Stats;

/// Longest call or trace id (characters).
pub const MAX_ID: usize = 256;

/// Which calls a feedback is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Call(String),
    Trace(String),
}

/// A checked feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub target: Target,
    pub rating: Option<i16>,
    pub quality_score: Option<f64>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn id(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn check(f: &FeedbackInput) -> Result<Feedback, Invalid> {
    let target = match (id(&f.call_id), id(&f.trace_id)) {
        (Some(_), Some(_)) => {
            return Err(invalid("trace_id", "give call_id or trace_id, not both"))
        }
        (Some(c), None) => Target::Call(c.to_owned()),
        (None, Some(t)) => Target::Trace(t.to_owned()),
        (None, None) => {
            return Err(invalid(
                "call_id",
                "give the call's id (call_id) or its trace id (trace_id)",
            ))
        }
    };
    let (Target::Call(s) | Target::Trace(s)) = &target;
    if s.chars().count() > MAX_ID {
        let field = match target {
            Target::Call(_) => "call_id",
            Target::Trace(_) => "trace_id",
        };
        return Err(invalid(field, format!("at most {MAX_ID} characters")));
    }
    if f.rating.is_none() && f.quality_score.is_none() {
        return Err(invalid(
            "rating",
            "give a rating (1 to 5), a quality_score (0 to 100) or both",
        ));
    }
    let rating = match f.rating {
        Some(r) if !(1..=5).contains(&r) => {
            return Err(invalid(
                "rating",
                format!("rating {r} is out of range: 1 to 5"),
            ))
        }
        r => r.map(|r| r as i16),
    };
    let quality_score = match f.quality_score {
        Some(q) if !q.is_finite() || !(0.0..=100.0).contains(&q) => {
            return Err(invalid(
                "quality_score",
                format!("quality_score {q} is out of range: 0 to 100"),
            ))
        }
        q => q,
    };
    Ok(Feedback {
        target,
        rating,
        quality_score,
    })
}

/// What replacing a call's `old` (rating, quality score) by `new` adds to its rollup rows.
/// A value the feedback does not give stays as it was.
pub fn delta(old: (Option<i16>, Option<f64>), f: &Feedback) -> Stats {
    let mut d = Stats::default();
    if let Some(r) = f.rating {
        d.rating_sum = f64::from(r) - old.0.map_or(0.0, f64::from);
        d.rating_calls = i64::from(old.0.is_none());
    }
    if let Some(q) = f.quality_score {
        d.quality_sum = q - old.1.unwrap_or(0.0);
        d.quality_calls = i64::from(old.1.is_none());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        call: Option<&str>,
        trace: Option<&str>,
        rating: Option<i64>,
        q: Option<f64>,
    ) -> FeedbackInput {
        FeedbackInput {
            call_id: call.map(str::to_owned),
            trace_id: trace.map(str::to_owned),
            rating,
            quality_score: q,
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let field = |i: FeedbackInput| check(&i).unwrap_err().field;
        assert_eq!(field(input(None, None, Some(3), None)), "call_id");
        assert_eq!(field(input(Some(" "), None, Some(3), None)), "call_id");
        assert_eq!(
            field(input(Some("c"), Some("t"), Some(3), None)),
            "trace_id"
        );
        assert_eq!(field(input(Some("c"), None, None, None)), "rating");
        assert_eq!(field(input(Some("c"), None, Some(0), None)), "rating");
        assert_eq!(field(input(Some("c"), None, Some(6), None)), "rating");
        assert_eq!(
            field(input(Some("c"), None, None, Some(100.5))),
            "quality_score"
        );
        assert_eq!(
            field(input(Some("c"), None, None, Some(f64::NAN))),
            "quality_score"
        );
        let long = "x".repeat(MAX_ID + 1);
        assert_eq!(field(input(None, Some(&long), Some(1), None)), "trace_id");
    }

    #[test]
    fn a_good_feedback_is_trimmed() {
        let f = check(&input(None, Some(" t-1 "), Some(5), Some(80.0))).unwrap();
        assert_eq!(f.target, Target::Trace("t-1".into()));
        assert_eq!((f.rating, f.quality_score), (Some(5), Some(80.0)));
    }

    #[test]
    fn replacing_moves_sums_and_counts_a_call_once() {
        let f = check(&input(Some("c"), None, Some(4), Some(90.0))).unwrap();
        // First feedback: both counted once.
        let d = delta((None, None), &f);
        assert_eq!((d.rating_sum, d.rating_calls), (4.0, 1));
        assert_eq!((d.quality_sum, d.quality_calls), (90.0, 1));
        // Replacing: the sums move by the difference, the counts stay.
        let d = delta((Some(2), Some(95.0)), &f);
        assert_eq!((d.rating_sum, d.rating_calls), (2.0, 0));
        assert_eq!((d.quality_sum, d.quality_calls), (-5.0, 0));
        // A rating alone leaves the quality score as it was.
        let r = check(&input(Some("c"), None, Some(1), None)).unwrap();
        let d = delta((Some(3), Some(50.0)), &r);
        assert_eq!((d.rating_sum, d.rating_calls), (-2.0, 0));
        assert_eq!((d.quality_sum, d.quality_calls), (0.0, 0));
        assert_eq!(d.calls, 0, "feedback adds no call");
    }
}
