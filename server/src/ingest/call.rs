//! Validation of a reported call, free of IO: from the wire [`CallInput`] to a [`NewCall`]
//! ready to store, with its cost computed from the price table in force at the call's time.

use app::types::{Call, CallInput};
use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::text;
use crate::domain::{
    call::{CostSource, NewCall},
    pricing::{self, Price, Usage},
};

/// What to do with a call that comes without an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPolicy {
    /// Give it a fresh UUIDv7 (native calls, OTLP spans, the proxy).
    Generate,
    /// Refuse it: the id is the correlation id that ties events together.
    Required,
}

/// Why a call was refused: the field (relative to the call) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

const MAX_LABEL: usize = 256;
const MAX_ERROR_TEXT: usize = 8 * 1024;
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Anything longer than a day is a clock or unit mistake, not a call.
const MAX_DURATION_MS: f64 = 86_400_000.0;
/// Calls may be back-filled for a year, and clocks may run a little ahead.
const MAX_AGE_DAYS: i64 = 366;
const MAX_FUTURE_MINUTES: i64 = 10;

fn label(field: &'static str, v: Option<String>) -> Result<Option<String>, FieldError> {
    match v.map(|s| s.trim().to_owned()) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if s.chars().count() > MAX_LABEL => Err(err(
            field,
            format!("must be at most {MAX_LABEL} characters"),
        )),
        Some(s) if s.chars().any(char::is_control) => {
            Err(err(field, "must not contain control characters"))
        }
        Some(s) => Ok(Some(s)),
    }
}

fn required(field: &'static str, v: String) -> Result<String, FieldError> {
    label(field, Some(v))?.ok_or_else(|| err(field, "is required"))
}

fn millis(field: &'static str, v: Option<f64>) -> Result<Option<f64>, FieldError> {
    match v {
        Some(ms) if !ms.is_finite() || ms < 0.0 => {
            Err(err(field, "must be a non-negative number of milliseconds"))
        }
        Some(ms) if ms > MAX_DURATION_MS => Err(err(field, "must be at most 86400000 (one day)")),
        other => Ok(other),
    }
}

/// Tokens in one call at most: far above any context window, and low enough that sums over
/// years of calls stay far inside `bigint`.
const MAX_TOKENS: i64 = 100_000_000;

fn tokens(field: &'static str, v: u64) -> Result<i64, FieldError> {
    i64::try_from(v)
        .ok()
        .filter(|n| *n <= MAX_TOKENS)
        .ok_or_else(|| err(field, format!("must be at most {MAX_TOKENS}")))
}

fn usd(field: &'static str, v: Option<f64>) -> Result<Option<i64>, FieldError> {
    match v {
        Some(x) if !x.is_finite() || x < 0.0 => {
            Err(err(field, "must be a non-negative amount in USD"))
        }
        Some(x) if x > 1_000_000.0 => Err(err(field, "is implausibly large")),
        Some(x) => Ok(Some(pricing::usd_to_micros(x))),
        None => Ok(None),
    }
}

/// Output tokens per second of generation: after the first token when that is known.
pub fn tokens_per_second(
    output_tokens: i64,
    duration_ms: f64,
    ttft_ms: Option<f64>,
    streaming_ms: Option<f64>,
) -> Option<f64> {
    let gen_ms = streaming_ms
        .or_else(|| ttft_ms.map(|t| duration_ms - t))
        .unwrap_or(duration_ms);
    (output_tokens > 0 && gen_ms > 0.0).then(|| output_tokens as f64 * 1000.0 / gen_ms)
}

/// Validates one call received at `now`. `fresh_id` supplies an id when the client gave
/// none.
pub fn validate(
    input: CallInput,
    now: DateTime<Utc>,
    prices: &[Price],
    api_key_id: Option<i64>,
    ids: IdPolicy,
) -> Result<NewCall, FieldError> {
    let id = match (label("id", input.id)?, ids) {
        (Some(id), _) if id.len() > 128 => return Err(err("id", "must be at most 128 characters")),
        (Some(id), _) => id,
        (None, IdPolicy::Generate) => uuid::Uuid::now_v7().to_string(),
        (None, IdPolicy::Required) => return Err(err("id", "is required")),
    };
    // PostgreSQL keeps microseconds: the call in memory (its key, what is published live)
    // must be the stored one, or a retried batch could not tell its new calls apart.
    let time = input.time.unwrap_or(now).trunc_subsecs(6);
    if time < now - Duration::days(MAX_AGE_DAYS) {
        return Err(err("time", "is more than a year in the past"));
    }
    if time > now + Duration::minutes(MAX_FUTURE_MINUTES) {
        return Err(err("time", "is in the future (check the client's clock)"));
    }
    let provider = required("provider", input.provider)?;
    let model = required("model", input.model)?;
    let duration_ms = millis("duration_ms", Some(input.duration_ms))?.unwrap_or(0.0);
    let ttft_ms = millis("ttft_ms", input.ttft_ms)?;
    if ttft_ms.is_some_and(|t| t > duration_ms) {
        return Err(err("ttft_ms", "must not exceed duration_ms"));
    }
    let streaming_ms = millis("streaming_ms", input.streaming_ms)?;
    if streaming_ms.is_some_and(|s| s > duration_ms) {
        return Err(err("streaming_ms", "must not exceed duration_ms"));
    }
    let input_tokens = tokens("input_tokens", input.input_tokens)?;
    let output_tokens = tokens("output_tokens", input.output_tokens)?;
    let cached_tokens = tokens("cached_tokens", input.cached_tokens)?;
    let reasoning_tokens = tokens("reasoning_tokens", input.reasoning_tokens)?;
    if cached_tokens > input_tokens {
        return Err(err(
            "cached_tokens",
            "is part of input_tokens and cannot exceed it",
        ));
    }
    if reasoning_tokens > output_tokens {
        return Err(err(
            "reasoning_tokens",
            "is part of output_tokens and cannot exceed it",
        ));
    }
    if let Some(q) = input.quality_score {
        if !(0.0..=100.0).contains(&q) {
            return Err(err("quality_score", "must be between 0 and 100"));
        }
    }
    if let Some(r) = input.user_rating {
        if !(1..=5).contains(&r) {
            return Err(err("user_rating", "must be between 1 and 5"));
        }
    }
    let http_status = match input.http_status {
        Some(s) if !(100..=599).contains(&s) => {
            return Err(err("http_status", "must be between 100 and 599"))
        }
        other => other,
    };
    let metadata = match input.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(mut v @ serde_json::Value::Object(_)) => {
            text::clean_json(&mut v);
            if v.to_string().len() > MAX_METADATA_BYTES {
                return Err(err("metadata", "must be at most 16 KiB of JSON"));
            }
            Some(v)
        }
        Some(_) => return Err(err("metadata", "must be a JSON object")),
    };
    let error_message = match input
        .error_message
        .map(|s| text::clean_text(s.trim()).into_owned())
        .filter(|s| !s.is_empty())
    {
        Some(s) if s.len() > MAX_ERROR_TEXT => Some(s.chars().take(MAX_ERROR_TEXT).collect()),
        other => other,
    };

    // Cost: what the client says wins; otherwise the price table at the call's time; a
    // model without a price stays unpriced (NULL), never 0.
    let given = input.cost.unwrap_or_default();
    let given_in = usd("cost.input_usd", given.input_usd)?;
    let given_out = usd("cost.output_usd", given.output_usd)?;
    let given_total = usd("cost.total_usd", given.total_usd)?;
    let client_cost = given_in.is_some() || given_out.is_some() || given_total.is_some();
    let (cost_input_micros, cost_output_micros, cost_total_micros) = if client_cost {
        let total = given_total.or_else(|| Some(given_in.unwrap_or(0) + given_out.unwrap_or(0)));
        (given_in, given_out, total)
    } else {
        match pricing::price_call(
            prices,
            &provider,
            &model,
            input.response_model.as_deref(),
            time,
            Usage::priced(
                input_tokens as u64,
                output_tokens as u64,
                cached_tokens as u64,
            ),
        ) {
            Some(c) => (
                Some(c.input_micros),
                Some(c.output_micros),
                Some(c.total_micros),
            ),
            None => (None, None, None),
        }
    };

    let call = Call {
        id,
        time,
        trace_id: label("trace_id", input.trace_id)?,
        session_id: label("session_id", input.session_id)?,
        user_id: label("user_id", input.user_id)?,
        feature: label("feature", input.feature)?,
        provider,
        model,
        response_model: label("response_model", input.response_model)?,
        status: input.status,
        error_type: label("error_type", input.error_type)?,
        error_message,
        http_status,
        ttft_ms,
        streaming_ms,
        duration_ms,
        input_tokens,
        output_tokens,
        cached_tokens,
        reasoning_tokens,
        tokens_per_second: tokens_per_second(output_tokens, duration_ms, ttft_ms, streaming_ms),
        cost_input_micros,
        cost_output_micros,
        cost_total_micros,
        tool_calls: i32::try_from(input.tool_calls).unwrap_or(i32::MAX),
        quality_score: input.quality_score,
        user_rating: input.user_rating.map(i16::from),
        metadata,
    };
    let cost_source = match (client_cost, call.cost_total_micros) {
        (true, _) => Some(CostSource::Client),
        (false, Some(_)) => Some(CostSource::Table),
        (false, None) => None,
    };
    Ok(NewCall {
        call,
        api_key_id,
        cost_source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::types::{CallStatus, CostInput};

    #[test]
    fn times_keep_the_microseconds_postgres_stores() {
        let now = Utc::now();
        let sent = now - Duration::nanoseconds(1_234_567_891);
        let c = validate(
            CallInput {
                time: Some(sent),
                ..base()
            },
            now,
            &[],
            None,
            IdPolicy::Generate,
        )
        .unwrap();
        assert_eq!(c.call.time.timestamp_subsec_nanos() % 1000, 0);
        assert_eq!(c.call.time, sent.trunc_subsecs(6));
        let unnamed = validate(base(), now, &[], None, IdPolicy::Generate).unwrap();
        assert_eq!(unnamed.call.time.timestamp_subsec_nanos() % 1000, 0);
    }

    fn base() -> CallInput {
        CallInput {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            duration_ms: 1200.0,
            input_tokens: 1000,
            output_tokens: 200,
            ..Default::default()
        }
    }

    fn check(input: CallInput) -> Result<Call, FieldError> {
        validate(
            input,
            Utc::now(),
            &pricing::bundled_prices(),
            None,
            IdPolicy::Generate,
        )
        .map(|n| n.call)
    }

    #[test]
    fn a_minimal_call_is_priced_from_the_table() {
        let c = check(base()).unwrap();
        assert_eq!(uuid::Uuid::parse_str(&c.id).unwrap().get_version_num(), 7);
        let mut no_id = base();
        no_id.id = None;
        let e = validate(no_id, Utc::now(), &[], None, IdPolicy::Required).unwrap_err();
        assert_eq!(e.field, "id");
        // 1000 * $0.15/M = 150 micro-USD; 200 * $0.60/M = 120.
        assert_eq!(c.cost_input_micros, Some(150));
        assert_eq!(c.cost_output_micros, Some(120));
        assert_eq!(c.cost_total_micros, Some(270));
        assert_eq!(c.status, CallStatus::Ok);
        let tps = c.tokens_per_second.unwrap();
        assert!((tps - 200.0 / 1.2).abs() < 1e-9);
    }

    #[test]
    fn unknown_models_stay_unpriced_and_client_cost_wins() {
        let c = check(CallInput {
            model: "my-own-model".into(),
            ..base()
        })
        .unwrap();
        assert_eq!(c.cost_total_micros, None);
        let c = check(CallInput {
            cost: Some(CostInput {
                input_usd: Some(0.01),
                output_usd: Some(0.02),
                total_usd: None,
            }),
            ..base()
        })
        .unwrap();
        assert_eq!(
            (
                c.cost_input_micros,
                c.cost_output_micros,
                c.cost_total_micros
            ),
            (Some(10_000), Some(20_000), Some(30_000))
        );
    }

    #[test]
    fn nul_bytes_never_reach_storage() {
        let mut input = base();
        input.error_message = Some("upstream\0 said no".into());
        input.metadata = Some(serde_json::json!({"k\u{0}": ["a\u{0}b"]}));
        let c = check(input).unwrap();
        assert_eq!(c.error_message.as_deref(), Some("upstream said no"));
        assert_eq!(c.metadata, Some(serde_json::json!({"k": ["ab"]})));
        let mut input = base();
        input.model = "gpt\0".into();
        assert_eq!(check(input).unwrap_err().field, "model");
    }

    #[test]
    fn errors_name_the_field() {
        let cases: Vec<(CallInput, &str)> = vec![
            (
                CallInput {
                    provider: " ".into(),
                    ..base()
                },
                "provider",
            ),
            (
                CallInput {
                    model: String::new(),
                    ..base()
                },
                "model",
            ),
            (
                CallInput {
                    duration_ms: -1.0,
                    ..base()
                },
                "duration_ms",
            ),
            (
                CallInput {
                    duration_ms: f64::NAN,
                    ..base()
                },
                "duration_ms",
            ),
            (
                CallInput {
                    ttft_ms: Some(5000.0),
                    ..base()
                },
                "ttft_ms",
            ),
            (
                CallInput {
                    cached_tokens: 2000,
                    ..base()
                },
                "cached_tokens",
            ),
            (
                CallInput {
                    reasoning_tokens: 201,
                    ..base()
                },
                "reasoning_tokens",
            ),
            (
                CallInput {
                    quality_score: Some(101.0),
                    ..base()
                },
                "quality_score",
            ),
            (
                CallInput {
                    user_rating: Some(0),
                    ..base()
                },
                "user_rating",
            ),
            (
                CallInput {
                    http_status: Some(700),
                    ..base()
                },
                "http_status",
            ),
            (
                CallInput {
                    metadata: Some(serde_json::json!([1])),
                    ..base()
                },
                "metadata",
            ),
            (
                CallInput {
                    time: Some(Utc::now() + Duration::hours(1)),
                    ..base()
                },
                "time",
            ),
            (
                CallInput {
                    id: Some("x".repeat(200)),
                    ..base()
                },
                "id",
            ),
            (
                CallInput {
                    session_id: Some("a\nb".into()),
                    ..base()
                },
                "session_id",
            ),
            (
                CallInput {
                    cost: Some(CostInput {
                        total_usd: Some(-1.0),
                        ..Default::default()
                    }),
                    ..base()
                },
                "cost.total_usd",
            ),
        ];
        for (input, field) in cases {
            assert_eq!(check(input).unwrap_err().field, field);
        }
    }

    #[test]
    fn tokens_per_second_uses_generation_time() {
        assert_eq!(
            tokens_per_second(100, 2000.0, Some(1000.0), None),
            Some(100.0)
        );
        assert_eq!(
            tokens_per_second(100, 2000.0, Some(1000.0), Some(500.0)),
            Some(200.0)
        );
        assert_eq!(tokens_per_second(0, 2000.0, None, None), None);
        assert_eq!(tokens_per_second(10, 0.0, None, None), None);
    }
}
