//! How a rule judges one label set's value: against its threshold, against the usual band
//! of its own history (anomaly), or by the trend of that history read ahead (forecast).
//! Pure: the cycle computes the values at the times [`history_times`] names.

use chrono::{DateTime, Duration, Utc};

use super::{Kind, Spec};
use crate::domain::{
    drift::{self, Band},
    trend,
};

/// At most this many points of history are read per label set: enough for a median and a
/// line, few enough that every cycle stays cheap at a 24 h baseline.
pub const HISTORY_POINTS: i64 = 60;

/// One label set's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// What the alert shows: the value now, or a forecast's value at the horizon.
    pub value: f64,
    /// What it was compared with: the threshold, or the band's edge.
    pub limit: f64,
    pub holds: bool,
    /// Anomaly rules: the band the value was held against.
    pub band: Option<Band>,
}

/// The spacing of history points: a whole number of minutes (the rollups' width).
fn step(baseline: Duration) -> Duration {
    Duration::minutes((baseline.num_minutes() / HISTORY_POINTS).max(1))
}

/// The instants whose values make the history of a rule evaluated at `now`, oldest first:
/// for an anomaly, the `baseline` before the current window (so a spike does not widen its
/// own band); for a forecast, the `baseline` up to now.
pub fn history_times(spec: &Spec, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let (baseline, end) = match spec.kind {
        Kind::Threshold => return Vec::new(),
        Kind::Anomaly { baseline, .. } => (baseline, now - spec.window),
        Kind::Forecast { baseline, .. } => (baseline, now),
    };
    let step = step(baseline);
    let n = (baseline.num_minutes() / step.num_minutes()).max(1);
    (0..n).rev().map(|i| end - step * i as i32).collect()
}

/// The fewest history points to judge from: half of what the baseline should hold, so a
/// series that just appeared is not judged against three points.
fn min_points(spec: &Spec, now: DateTime<Utc>) -> usize {
    (history_times(spec, now).len() / 2).max(3)
}

/// Judges `current` (the value now) given `history` (time, value) for the same label set.
/// None when there is nothing to judge: no value now, or too little history.
pub fn judge(
    spec: &Spec,
    current: f64,
    history: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
) -> Option<Verdict> {
    match spec.kind {
        Kind::Threshold => Some(Verdict {
            value: current,
            limit: spec.threshold,
            holds: spec.comparator.holds(current, spec.threshold),
            band: None,
        }),
        Kind::Anomaly { min_delta, .. } => {
            let past: Vec<f64> = history.iter().map(|(_, v)| *v).collect();
            let mut band = drift::band(&past, min_points(spec, now), spec.threshold, min_delta)?;
            // A metric that never went below zero (counts, rates, money) has no negative
            // usual values: the lower edge stops at zero.
            if past.iter().all(|v| *v >= 0.0) {
                band.lower = band.lower.max(0.0);
            }
            let limit = match spec.comparator {
                app::types::alert::Comparator::Gt | app::types::alert::Comparator::Ge => band.upper,
                _ => band.lower,
            };
            Some(Verdict {
                value: current,
                limit,
                holds: spec.comparator.holds(current, limit),
                band: Some(band),
            })
        }
        Kind::Forecast { horizon, .. } => {
            // Seconds from now, so the intercept is the fitted value now.
            let pts: Vec<(f64, f64)> = history
                .iter()
                .map(|(t, v)| ((*t - now).num_milliseconds() as f64 / 1000.0, *v))
                .collect();
            let line = trend::fit(&pts, min_points(spec, now))?;
            let ahead = line.at(horizon.num_seconds() as f64);
            Some(Verdict {
                value: ahead,
                limit: spec.threshold,
                holds: spec.comparator.holds(ahead, spec.threshold),
                band: None,
            })
        }
    }
}

/// When a forecast's line reaches the threshold, for the message ("in 14 h").
pub fn crossing_in(
    spec: &Spec,
    history: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
) -> Option<Duration> {
    let pts: Vec<(f64, f64)> = history
        .iter()
        .map(|(t, v)| ((*t - now).num_milliseconds() as f64 / 1000.0, *v))
        .collect();
    let line = trend::fit(&pts, min_points(spec, now))?;
    let secs = line.crossing(spec.threshold, 0.0)?;
    Some(Duration::seconds(secs.min(1e12) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::validate_rule;
    use chrono::TimeZone;

    fn spec(json: serde_json::Value) -> Spec {
        validate_rule(&serde_json::from_value(json).unwrap()).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn anomaly_history_ends_where_the_current_window_starts() {
        let s = spec(
            serde_json::json!({"name": "x", "metric": "llm.cost", "kind": "anomaly",
            "window": "5m", "baseline": "2h", "comparator": ">", "threshold": 4,
            "severity": "warning"}),
        );
        let t = history_times(&s, now());
        assert_eq!(t.len(), 60);
        assert_eq!(*t.last().unwrap(), now() - Duration::minutes(5));
        assert_eq!(
            t[0],
            now() - Duration::minutes(5) - Duration::minutes(2 * 59)
        );
        let f = spec(
            serde_json::json!({"name": "x", "metric": "system.filesystem.utilization",
            "kind": "forecast", "baseline": "30m", "comparator": ">", "threshold": 90,
            "severity": "warning"}),
        );
        let t = history_times(&f, now());
        assert_eq!(t.len(), 30, "one a minute below an hour of baseline");
        assert_eq!(*t.last().unwrap(), now());
    }

    fn cost_rule() -> Spec {
        spec(
            serde_json::json!({"name": "x", "metric": "llm.cost", "kind": "anomaly",
            "baseline": "2h", "comparator": ">", "threshold": 4, "min_delta": 0.01,
            "severity": "warning"}),
        )
    }

    fn history(s: &Spec, f: impl Fn(usize) -> f64) -> Vec<(DateTime<Utc>, f64)> {
        history_times(s, now())
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, f(i)))
            .collect()
    }

    #[test]
    fn a_cost_spike_is_an_anomaly_and_a_usual_value_is_not() {
        let s = cost_rule();
        // $1.00 ± 0.05 per window.
        let h = history(&s, |i| 1.0 + 0.05 * ((i * 7 % 11) as f64 - 5.0) / 5.0);
        let spike = judge(&s, 3.0, &h, now()).unwrap();
        assert!(spike.holds, "{spike:?}");
        assert!(spike.limit > 1.05 && spike.limit < 1.5, "{spike:?}");
        let usual = judge(&s, 1.04, &h, now()).unwrap();
        assert!(!usual.holds, "{usual:?}");
        // A drop is not what `>` watches; `<` sees it.
        assert!(!judge(&s, 0.1, &h, now()).unwrap().holds);
        let mut low = s.clone();
        low.comparator = app::types::alert::Comparator::Lt;
        let drop = judge(&low, 0.1, &h, now()).unwrap();
        assert!(drop.holds && drop.limit < 1.0, "{drop:?}");
    }

    #[test]
    fn a_flat_history_is_held_to_the_least_departure() {
        let s = cost_rule();
        let h = history(&s, |_| 0.0);
        assert!(
            !judge(&s, 0.005, &h, now()).unwrap().holds,
            "under min_delta"
        );
        assert!(judge(&s, 0.02, &h, now()).unwrap().holds);
    }

    #[test]
    fn too_little_history_is_no_verdict() {
        let s = cost_rule();
        let h: Vec<_> = history(&s, |_| 1.0).into_iter().take(20).collect();
        assert_eq!(judge(&s, 5.0, &h, now()), None, "20 of 60 points");
    }

    #[test]
    fn a_filling_disk_is_predicted_to_cross_and_a_steady_one_is_not() {
        let s = spec(
            serde_json::json!({"name": "disk", "metric": "system.filesystem.utilization",
            "kind": "forecast", "baseline": "6h", "horizon": "24h", "comparator": ">",
            "threshold": 90, "severity": "warning"}),
        );
        // 70 % now, +1 % an hour: 94 % in a day.
        let times = history_times(&s, now());
        let h: Vec<_> = times
            .iter()
            .map(|t| (*t, 70.0 + (*t - now()).num_seconds() as f64 / 3600.0))
            .collect();
        let v = judge(&s, 70.0, &h, now()).unwrap();
        assert!(v.holds && (v.value - 94.0).abs() < 0.01, "{v:?}");
        let eta = crossing_in(&s, &h, now()).unwrap();
        assert_eq!(eta.num_hours(), 20);
        let steady: Vec<_> = times.iter().map(|t| (*t, 70.0)).collect();
        let v = judge(&s, 70.0, &steady, now()).unwrap();
        assert!(!v.holds && v.value == 70.0);
        assert_eq!(crossing_in(&s, &steady, now()), None);
    }
}
