//! Property tests over every parser at the edge: any input gives `Ok` or a field error,
//! never a panic, and what is accepted keeps its invariants (costs and durations
//! non-negative and finite, times ordered and bounded, no NUL in stored text).
//!
//! CI runs `PROPTEST_CASES` cases per property (default 512, about 4,000 in all);
//! `scripts/fuzz.sh` runs a million per parser. Inputs that once broke something are pinned
//! in `known_bad_inputs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::types::{
    system::{CpuSample, FsSample, HostInfo, ProcessSample, SampleBatch, SystemSample},
    CallInput, EndEvent, ProviderKind, StartedEvent,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use prost::Message;
use serde_json::{json, Map, Value};
use server::{
    domain::{call::NewCall, pricing::bundled_prices},
    http::{
        params::{parse_look_back, parse_since, Limit, RangeParams},
        system::validate_batch,
    },
    ingest::{
        call::{validate, IdPolicy},
        events,
        otlp::map_request,
        otlp_census::{census, Limits},
    },
    proxy::{
        sse::{parse, EventSplitter},
        usage::{openai_usage, summarize_body},
    },
};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

/// Strings that bite: control characters, NUL, long runs, odd Unicode, and plain words.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._/-]{0,12}",
        "\\PC{0,40}",
        any::<String>(),
        "[\\x00-\\x1f]{1,4}[a-z]{0,4}",
        (1usize..600).prop_map(|n| "é".repeat(n)),
        Just(" ".into()),
        Just("..".into()),
    ]
}

/// Times around now and far away, as RFC 3339 text.
fn time_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (-90_000i64..90_000).prop_map(|s| (now() + Duration::seconds(s)).to_rfc3339()),
        (-200_000_000_000i64..200_000_000_000).prop_map(|s| {
            DateTime::from_timestamp(s, 0).map_or_else(|| "0000-00-00".into(), |t| t.to_rfc3339())
        }),
        nasty_string(),
    ]
}

/// One JSON leaf of any kind, numbers at their extremes included.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..5_000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| f.is_finite().then(|| Value::from(f))),
        (-10.0f64..100_000.0).prop_map(Value::from),
        nasty_string().prop_map(Value::from),
        time_text().prop_map(Value::from),
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(nasty_string(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON field: its name and the strategy of its usual values.
type Field = (&'static str, fn() -> BoxedStrategy<Value>);

/// An object with some of `keys`, each holding an arbitrary value; the usual value for a
/// key is given often enough that many objects parse.
fn object(keys: &'static [Field]) -> impl Strategy<Value = Value> {
    let fields: Vec<BoxedStrategy<Option<Value>>> = keys
        .iter()
        .map(|(_, usual)| {
            // Mostly absent or usual, so that a good share of objects parse and reach the
            // validation; now and then anything at all.
            prop_oneof![
                4 => Just(None),
                35 => usual().prop_map(Some),
                1 => any_json().prop_map(Some),
            ]
            .boxed()
        })
        .collect();
    fields.prop_map(move |values| {
        let mut m = Map::new();
        for ((k, _), v) in keys.iter().zip(values) {
            if let Some(v) = v {
                m.insert((*k).to_owned(), v);
            }
        }
        Value::Object(m)
    })
}

fn s() -> BoxedStrategy<Value> {
    nasty_string().prop_map(Value::from).boxed()
}
fn model() -> BoxedStrategy<Value> {
    prop_oneof![Just(json!("gpt-4o")), Just(json!("claude-3-5-sonnet")), s()].boxed()
}
fn provider() -> BoxedStrategy<Value> {
    prop_oneof![Just(json!("openai")), Just(json!("anthropic")), s()].boxed()
}
fn t() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => (-90_000i64..90_000).prop_map(|s| json!((now() + Duration::seconds(s)).to_rfc3339())),
        2 => time_text().prop_map(Value::from),
    ]
    .boxed()
}
fn ms() -> BoxedStrategy<Value> {
    prop_oneof![19 => (-10.0f64..1e7).prop_map(Value::from), 1 => leaf()].boxed()
}
fn tokens() -> BoxedStrategy<Value> {
    prop_oneof![19 => (0u64..200_000_000).prop_map(Value::from), 1 => leaf()].boxed()
}
fn small() -> BoxedStrategy<Value> {
    prop_oneof![19 => (0u64..300).prop_map(Value::from), 1 => leaf()].boxed()
}
fn status() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => Just(json!("ok")),
        3 => Just(json!("error")),
        3 => Just(json!("timeout")),
        1 => s()
    ]
    .boxed()
}
fn meta() -> BoxedStrategy<Value> {
    any_json().boxed()
}
fn cost() -> BoxedStrategy<Value> {
    object(&[("input_usd", ms), ("output_usd", ms), ("total_usd", ms)]).boxed()
}

const CALL_KEYS: &[Field] = &[
    ("id", s),
    ("time", t),
    ("trace_id", s),
    ("session_id", s),
    ("user_id", s),
    ("feature", s),
    ("provider", provider),
    ("model", model),
    ("response_model", s),
    ("status", status),
    ("error_type", s),
    ("error_message", s),
    ("http_status", small),
    ("ttft_ms", ms),
    ("streaming_ms", ms),
    ("duration_ms", ms),
    ("input_tokens", tokens),
    ("output_tokens", tokens),
    ("cached_tokens", tokens),
    ("reasoning_tokens", tokens),
    ("cost", cost),
    ("tool_calls", small),
    ("quality_score", ms),
    ("user_rating", small),
    ("metadata", meta),
];

const START_KEYS: &[Field] = &[
    ("id", s),
    ("time", t),
    ("provider", provider),
    ("model", model),
    ("session_id", s),
    ("user_id", s),
    ("metadata", meta),
];

const END_KEYS: &[Field] = &[
    ("id", s),
    ("time", t),
    ("provider", provider),
    ("model", model),
    ("status", status),
    ("error_message", s),
    ("http_status", small),
    ("ttft_ms", ms),
    ("duration_ms", ms),
    ("input_tokens", tokens),
    ("output_tokens", tokens),
    ("cached_tokens", tokens),
    ("reasoning_tokens", tokens),
];

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// What every stored call must be.
fn assert_storable(c: &NewCall, received: DateTime<Utc>) {
    let call = &c.call;
    assert!(call.duration_ms.is_finite() && call.duration_ms >= 0.0);
    for v in [
        call.ttft_ms,
        call.streaming_ms,
        call.tokens_per_second,
        call.quality_score,
    ]
    .into_iter()
    .flatten()
    {
        assert!(v.is_finite() && v >= 0.0, "{v}");
    }
    for v in [
        call.cost_input_micros,
        call.cost_output_micros,
        call.cost_total_micros,
    ]
    .into_iter()
    .flatten()
    {
        assert!(v >= 0, "negative cost {v}");
    }
    for v in [
        call.input_tokens,
        call.output_tokens,
        call.cached_tokens,
        call.reasoning_tokens,
    ] {
        assert!(v >= 0);
    }
    assert!(call.time <= received + Duration::minutes(10));
    assert!(call.time >= received - Duration::days(400));
    assert!(!call.id.is_empty() && !call.model.trim().is_empty());
    let texts = [
        Some(&call.id),
        Some(&call.model),
        Some(&call.provider),
        call.session_id.as_ref(),
        call.user_id.as_ref(),
        call.feature.as_ref(),
        call.error_message.as_ref(),
        call.error_type.as_ref(),
        call.trace_id.as_ref(),
    ];
    for text in texts.into_iter().flatten() {
        assert!(!text.contains('\0'), "NUL in {text:?}");
    }
    if let Some(m) = &call.metadata {
        assert!(!has_nul(m), "NUL in metadata");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn call_validation_accepts_or_names_a_field(v in object(CALL_KEYS)) {
        let Ok(input) = serde_json::from_value::<CallInput>(v) else { return Ok(()) };
        let prices = bundled_prices();
        match validate(input, now(), &prices, Some(1), IdPolicy::Generate) {
            Ok(c) => assert_storable(&c, now()),
            Err(e) => prop_assert!(!e.field.is_empty() && !e.message.is_empty()),
        }
    }

    #[test]
    fn events_merge_into_valid_calls_or_field_errors(
        start in object(START_KEYS),
        end in object(END_KEYS),
        gap_ms in -5_000i64..10_000_000,
        failed in any::<bool>(),
    ) {
        let (Ok(start), Ok(end)) = (
            serde_json::from_value::<StartedEvent>(start),
            serde_json::from_value::<EndEvent>(end),
        ) else { return Ok(()) };
        let t0 = start.time.unwrap_or(now());
        let t1 = t0 + Duration::milliseconds(gap_ms);
        let merged = events::merge(start.clone(), t0, end.clone(), t1, failed);
        if let Ok(c) = validate(merged, now(), &bundled_prices(), None, IdPolicy::Required) {
            assert_storable(&c, now());
        }
        if let Ok(input) = events::standalone(end, t1, failed) {
            if let Ok(c) = validate(input, now(), &[], None, IdPolicy::Required) {
                assert_storable(&c, now());
            }
        }
        let timed_out = events::timed_out(start, t0, std::time::Duration::from_secs(600));
        if let Ok(c) = validate(timed_out, now(), &[], None, IdPolicy::Required) {
            assert_storable(&c, now());
        }
    }

    #[test]
    fn otlp_bytes_are_counted_or_refused_and_decoded_spans_map(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let limits = Limits { spans: 10_000, messages: 1_000_000, depth: 32 };
        let counted = census(&bytes, &limits);
        if let Ok(req) = ExportTraceServiceRequest::decode(bytes.as_slice()) {
            prop_assert!(counted.is_ok(), "the census refused what prost decodes");
            let mapped = map_request(&req);
            let prices = bundled_prices();
            for (_, input) in mapped.calls {
                if let Ok(c) = validate(input, Utc::now(), &prices, None, IdPolicy::Generate) {
                    assert_storable(&c, Utc::now());
                }
            }
        }
    }

    #[test]
    fn the_sse_splitter_loses_and_invents_nothing(
        chunks in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b':'), Just(b'd'), any::<u8>()],
                0..64,
            ),
            0..16,
        ),
    ) {
        let mut splitter = EventSplitter::default();
        let mut out = Vec::new();
        for c in &chunks {
            out.extend(splitter.push(c));
        }
        out.extend(splitter.finish());
        let total: usize = chunks.iter().map(Vec::len).sum();
        let kept: usize = out.iter().map(Vec::len).sum();
        prop_assert!(kept <= total);
        for e in &out {
            let _ = parse(e);
        }
    }

    #[test]
    fn usage_parsing_never_panics_in_any_dialect(body in any_json(), raw in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = openai_usage(&body);
        let text = serde_json::to_vec(&body).unwrap();
        for kind in [ProviderKind::OpenAi, ProviderKind::Anthropic] {
            let _ = summarize_body(kind, &text);
            let _ = summarize_body(kind, &raw);
        }
    }

    #[test]
    fn range_time_and_limit_parameters_are_bounded(
        from in proptest::option::of(-20_000_000_000i64..20_000_000_000),
        to in proptest::option::of(-20_000_000_000i64..20_000_000_000),
        range in proptest::option::of(prop_oneof![nasty_string(), "[0-9]{1,20}[smhdw]", Just("99999999999999999d".to_owned())]),
        since in prop_oneof![nasty_string(), "[0-9]{1,20}[smhd]", Just("1%C3%A9".to_owned())],
        limit in proptest::option::of(any::<u32>()),
    ) {
        let at = |s: i64| DateTime::from_timestamp(s, 0);
        let params = RangeParams::new(from.and_then(at), to.and_then(at), range);
        if let Ok((f, t)) = params.resolve(Duration::days(1), now()) {
            prop_assert!(f <= t);
            prop_assert!(t - f <= Duration::days(400));
        }
        if let Some(d) = parse_since(&since) {
            prop_assert!(d >= Duration::zero());
        }
        let _ = parse_look_back("since", &since);
        if let Ok(n) = Limit(limit).resolve(50, 500) {
            prop_assert!((1..=500).contains(&n));
        }
    }

    #[test]
    fn agent_samples_are_validated_without_panics(
        hostname in nasty_string(),
        os in nasty_string(),
        time in time_text(),
        cores in 0usize..5000,
        processes in proptest::collection::vec(nasty_string(), 0..260),
        mounts in proptest::collection::vec(nasty_string(), 0..8),
        tcp in proptest::collection::btree_map(nasty_string(), 0u32..100, 0..40),
    ) {
        let time = DateTime::parse_from_rfc3339(&time).map_or(now(), |t| t.with_timezone(&Utc));
        let batch = SampleBatch {
            host: HostInfo { hostname, os, ..Default::default() },
            samples: vec![SystemSample {
                time,
                cpu: CpuSample { total: 1.0, cores: vec![1.0; cores], ..Default::default() },
                processes: processes
                    .into_iter()
                    .map(|name| ProcessSample { pid: 1, name, cpu: 1.0, memory: 1 })
                    .collect(),
                filesystems: mounts
                    .into_iter()
                    .map(|m| FsSample { mount: m.clone(), device: m, fs_type: "ext4".into(), total: 1, used: 1 })
                    .collect(),
                tcp: tcp.into_iter().collect(),
                ..Default::default()
            }],
        };
        if validate_batch(&batch, Duration::days(7)).is_ok() {
            let s = &batch.samples[0];
            prop_assert!(s.cpu.cores.len() <= 4096 && s.processes.len() <= 200);
            prop_assert!(!batch.host.hostname.trim().is_empty());
        }
    }
}

/// The generators must reach the validation, not only serde's type errors: a fair share of
/// the generated objects parse.
#[test]
fn generated_objects_mostly_parse() {
    use proptest::{strategy::ValueTree, test_runner::TestRunner};
    let mut runner = TestRunner::deterministic();
    let mut parsed = |keys: &'static [Field], ok: fn(Value) -> bool| {
        let strategy = object(keys);
        (0..500)
            .filter(|_| ok(strategy.new_tree(&mut runner).unwrap().current()))
            .count()
    };
    let calls = parsed(CALL_KEYS, |v| {
        let r = serde_json::from_value::<CallInput>(v);
        if let (Err(e), Ok(_)) = (&r, std::env::var("SHOW_PARSE_ERRORS")) {
            eprintln!("{e}");
        }
        r.is_ok()
    });
    let starts = parsed(START_KEYS, |v| {
        serde_json::from_value::<StartedEvent>(v).is_ok()
    });
    let ends = parsed(END_KEYS, |v| serde_json::from_value::<EndEvent>(v).is_ok());
    assert!(
        calls >= 50 && starts >= 50 && ends >= 50,
        "{calls} {starts} {ends} of 500"
    );
}

/// Inputs that broke a parser once, kept as regressions.
#[test]
fn known_bad_inputs() {
    // A character split by `since`, and a range that overflowed chrono.
    assert!(parse_since("1%C3%A9").is_none());
    let huge = RangeParams::new(None, None, Some("99999999999999999d".into()));
    assert!(huge.resolve(Duration::days(1), now()).is_err());
    // NUL in an error message and deep in metadata is stripped, not a database error.
    let input: CallInput = serde_json::from_value(json!({
        "provider": "openai", "model": "gpt-4o", "duration_ms": 1.0,
        "error_message": "bad\u{0}byte", "metadata": { "a": ["x\u{0}y", { "k\u{0}": 1 }] }
    }))
    .unwrap();
    let c = validate(input, now(), &[], None, IdPolicy::Generate).unwrap();
    assert_storable(&c, now());
    // A 30-byte OTLP body claiming a billion nested messages is refused by the census.
    let mut bomb = Vec::new();
    for _ in 0..40 {
        bomb.extend([0x0a, 0x80, 0x80, 0x80, 0x80, 0x04]);
    }
    let limits = Limits {
        spans: 10_000,
        messages: 1_000_000,
        depth: 32,
    };
    assert!(census(&bomb, &limits).is_err());
    // Token counts past the per-call cap are refused, not summed into an overflow.
    let input: CallInput = serde_json::from_value(json!({
        "provider": "openai", "model": "gpt-4o", "duration_ms": 1.0,
        "input_tokens": u64::MAX
    }))
    .unwrap();
    let e = validate(input, now(), &bundled_prices(), None, IdPolicy::Generate).unwrap_err();
    assert_eq!(e.field, "input_tokens");
}
