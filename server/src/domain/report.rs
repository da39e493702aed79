//! Report exports as CSV (pure): aggregates per group and bucket, and calls row by row.
//! Money is written in USD with six decimals, exactly as the stored micro-USD; absent
//! figures (no price, no TTFT) are empty cells, never 0.

use app::types::{Aggregation, Call, Figures};
use chrono::SecondsFormat;

/// The columns of an aggregates export.
pub const AGGREGATE_COLUMNS: [&str; 19] = [
    "group",
    "bucket_start",
    "requests",
    "successes",
    "errors",
    "cancelled",
    "error_rate",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "total_tokens",
    "cost_usd",
    "priced_requests",
    "avg_latency_ms",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "p95_ttft_ms",
    "tokens_per_second",
];

/// The columns of a calls export.
pub const CALL_COLUMNS: [&str; 20] = [
    "time",
    "id",
    "provider",
    "model",
    "status",
    "http_status",
    "error_type",
    "duration_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "feature",
    "trace_id",
    "tool_calls",
    "quality_score",
];

/// Micro-USD as exact decimal USD: `1234567` → `1.234567`.
pub fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn figure_cells(group: &str, bucket: &str, f: &Figures) -> Vec<String> {
    vec![
        group.to_owned(),
        bucket.to_owned(),
        f.requests.to_string(),
        f.successes.to_string(),
        f.errors.total().to_string(),
        f.cancelled.to_string(),
        format!("{:.6}", f.error_rate),
        f.input_tokens.to_string(),
        f.output_tokens.to_string(),
        f.cached_tokens.to_string(),
        f.total_tokens.to_string(),
        usd(f.cost_micros),
        f.priced_requests.to_string(),
        opt(f.avg_latency_ms.map(round3)),
        opt(f.p50_latency_ms.map(round3)),
        opt(f.p95_latency_ms.map(round3)),
        opt(f.p99_latency_ms.map(round3)),
        opt(f.p95_ttft_ms.map(round3)),
        opt(f.tokens_per_second.map(round3)),
    ]
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Writes `rows` as CSV records (RFC 4180 quoting).
fn write_rows<I, R>(rows: I) -> Vec<u8>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(row);
    }
    w.into_inner().unwrap_or_default()
}

/// An aggregation as CSV: per group a `total` row, then one row per bucket. An ungrouped
/// export has one group with an empty name.
pub fn aggregates_csv(a: &Aggregation) -> Vec<u8> {
    let mut rows = vec![AGGREGATE_COLUMNS.iter().map(|c| c.to_string()).collect()];
    for g in &a.groups {
        rows.push(figure_cells(&g.key, "total", &g.totals));
        for b in &g.buckets {
            let start = b.start.to_rfc3339_opts(SecondsFormat::Secs, true);
            rows.push(figure_cells(&g.key, &start, &b.figures));
        }
    }
    write_rows(rows)
}

/// The header line of a calls export.
pub fn calls_csv_header() -> Vec<u8> {
    write_rows([CALL_COLUMNS])
}

/// Calls as CSV records, without the header. Fields are written one by one from borrowed
/// text, so a million-call export does not allocate twenty strings per call.
pub fn calls_csv(calls: &[Call]) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut w = csv::Writer::from_writer(Vec::with_capacity(calls.len() * 160));
    let mut cell = String::new();
    // Writing to memory cannot fail.
    let field = |w: &mut csv::Writer<Vec<u8>>, v: &str| {
        let _ = w.write_field(v);
    };
    for c in calls {
        let mut num = |w: &mut csv::Writer<Vec<u8>>, v: Option<&dyn std::fmt::Display>| {
            cell.clear();
            if let Some(v) = v {
                let _ = write!(cell, "{v}");
            }
            let _ = w.write_field(&cell);
        };
        field(&mut w, &c.time.to_rfc3339_opts(SecondsFormat::Millis, true));
        field(&mut w, &c.id);
        field(&mut w, &c.provider);
        field(&mut w, &c.model);
        field(&mut w, c.status.as_str());
        num(&mut w, c.http_status.as_ref().map(|v| v as _));
        field(&mut w, c.error_type.as_deref().unwrap_or(""));
        num(&mut w, Some(&c.duration_ms));
        num(&mut w, c.ttft_ms.as_ref().map(|v| v as _));
        num(&mut w, Some(&c.input_tokens));
        num(&mut w, Some(&c.output_tokens));
        num(&mut w, Some(&c.cached_tokens));
        num(&mut w, Some(&c.reasoning_tokens));
        field(&mut w, &c.cost_total_micros.map(usd).unwrap_or_default());
        field(&mut w, c.session_id.as_deref().unwrap_or(""));
        field(&mut w, c.user_id.as_deref().unwrap_or(""));
        field(&mut w, c.feature.as_deref().unwrap_or(""));
        field(&mut w, c.trace_id.as_deref().unwrap_or(""));
        num(&mut w, Some(&c.tool_calls));
        num(&mut w, c.quality_score.as_ref().map(|v| v as _));
        let _ = w.write_record(None::<&[u8]>);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::types::{CallStatus, GroupFigures};
    use chrono::{TimeZone, Utc};

    fn call(id: &str, cost: Option<i64>) -> Call {
        Call {
            id: id.into(),
            time: Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap(),
            trace_id: None,
            session_id: Some("s-1".into()),
            user_id: None,
            feature: Some("chat, \"beta\"".into()),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            response_model: None,
            status: CallStatus::Ok,
            error_type: None,
            error_message: None,
            http_status: Some(200),
            ttft_ms: None,
            streaming_ms: None,
            duration_ms: 812.5,
            input_tokens: 1000,
            output_tokens: 200,
            cached_tokens: 0,
            reasoning_tokens: 0,
            tokens_per_second: None,
            cost_input_micros: None,
            cost_output_micros: None,
            cost_total_micros: cost,
            tool_calls: 0,
            quality_score: None,
            user_rating: None,
            metadata: None,
        }
    }

    #[test]
    fn usd_is_exact() {
        assert_eq!(usd(0), "0.000000");
        assert_eq!(usd(1_234_567), "1.234567");
        assert_eq!(usd(5), "0.000005");
        assert_eq!(usd(-2_500_000), "-2.500000");
    }

    #[test]
    fn calls_are_quoted_and_unknown_figures_are_empty() {
        let mut out = calls_csv_header();
        out.extend(calls_csv(&[call("a,1", Some(1_500)), call("b", None)]));
        let text = String::from_utf8(out).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap().len(), CALL_COLUMNS.len());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][1], "a,1");
        assert_eq!(&rows[0][0], "2026-12-01T10:00:00.000Z");
        assert_eq!(&rows[0][13], "0.001500");
        assert_eq!(&rows[0][16], "chat, \"beta\"");
        assert_eq!(&rows[1][13], "", "no price is no cost, not 0");
        assert_eq!(&rows[1][8], "", "no TTFT is an empty cell");
    }

    #[test]
    fn aggregates_have_a_total_row_then_buckets_per_group() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let figures = |requests: u64, cost: i64| Figures {
            requests,
            successes: requests,
            cost_micros: cost,
            p95_latency_ms: Some(123.45678),
            ..Default::default()
        };
        let group = |key: &str| GroupFigures {
            key: key.into(),
            totals: figures(3, 3_000_000),
            previous: Figures::default(),
            buckets: vec![app::types::BucketFigures {
                start,
                figures: figures(3, 3_000_000),
            }],
        };
        let a = Aggregation {
            from: start,
            to: start + chrono::Duration::days(1),
            previous_from: start - chrono::Duration::days(1),
            tz: "UTC".into(),
            bucket: app::types::BucketSize::Day,
            group_by: app::types::GroupBy::Model,
            source: app::types::AnalyticsSource::Rollups,
            relative_error: 0.01,
            totals: figures(6, 6_000_000),
            previous: Figures::default(),
            groups: vec![group("gpt-4o"), group("claude")],
        };
        let text = String::from_utf8(aggregates_csv(&a)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("group,bucket_start,requests"));
        assert_eq!(&lines[1][..40], "gpt-4o,total,3,3,0,0,0.000000,0,0,0,0,3.");
        assert!(lines[2].starts_with("gpt-4o,2026-12-01T00:00:00Z,3,"));
        assert!(lines[1].contains(",123.457,"), "{}", lines[1]);
        assert!(lines[3].starts_with("claude,total,"));
    }
}
