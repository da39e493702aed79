//! Folding live calls into an [`Overview`] the page already shows, so cards and charts move
//! without asking the server again. Counts, sums, averages and rates are exact; percentiles
//! stay as last fetched until the next reload (they need the histograms).

use crate::types::{Call, CallStatus, Figures, GroupFigures, Overview};

fn add(f: &mut Figures, c: &Call, seconds: f64) {
    let n = f.requests as f64;
    f.avg_latency_ms = Some(match f.avg_latency_ms {
        Some(avg) => (avg * n + c.duration_ms) / (n + 1.0),
        None => c.duration_ms,
    });
    if let Some(t) = c.ttft_ms {
        f.avg_ttft_ms = Some(f.avg_ttft_ms.map_or(t, |a| (a * n + t) / (n + 1.0)));
    }
    f.requests += 1;
    match c.status {
        CallStatus::Ok => f.successes += 1,
        CallStatus::Cancelled => f.cancelled += 1,
        CallStatus::Timeout => f.errors.timeout += 1,
        CallStatus::Error => match c.http_status {
            Some(400..=499) => f.errors.client_4xx += 1,
            Some(500..=599) => f.errors.server_5xx += 1,
            _ => f.errors.other += 1,
        },
    }
    f.error_rate = f.errors.total() as f64 / f.requests as f64;
    f.input_tokens += c.input_tokens;
    f.output_tokens += c.output_tokens;
    f.total_tokens += c.input_tokens + c.output_tokens;
    f.cached_tokens += c.cached_tokens;
    if let Some(cost) = c.cost_total_micros {
        f.cost_micros += cost;
        f.priced_requests += 1;
    }
    f.tool_calls += i64::from(c.tool_calls);
    if seconds > 0.0 {
        f.requests_per_second = f.requests as f64 / seconds;
    }
}

fn add_to_group(groups: &mut Vec<GroupFigures>, key: &str, c: &Call, seconds: f64) {
    match groups.iter_mut().find(|g| g.key == key) {
        Some(g) => add(&mut g.totals, c, seconds),
        None => {
            let mut g = GroupFigures {
                key: key.to_owned(),
                totals: Figures::default(),
                previous: Figures::default(),
                buckets: Vec::new(),
            };
            add(&mut g.totals, c, seconds);
            groups.push(g);
        }
    }
}

/// For a range that ends now: moves the end past `t`, opening new minute or hour buckets
/// as time goes on (longer buckets just keep filling the last one).
pub fn follow_now(ov: &mut Overview, t: chrono::DateTime<chrono::Utc>) {
    if t < ov.to {
        return;
    }
    ov.to = t + chrono::Duration::seconds(1);
    let step = match ov.bucket {
        crate::types::BucketSize::Minute => chrono::Duration::minutes(1),
        crate::types::BucketSize::Hour => chrono::Duration::hours(1),
        _ => return,
    };
    while let Some(last) = ov.series.last().map(|b| b.start) {
        if t < last + step {
            break;
        }
        ov.series.push(crate::types::BucketFigures {
            start: last + step,
            figures: Figures::default(),
        });
    }
}

/// Adds `c` when it falls inside the overview's range; returns whether it did.
pub fn apply_call(ov: &mut Overview, c: &Call) -> bool {
    if c.time < ov.from || c.time >= ov.to {
        return false;
    }
    let seconds = (ov.to - ov.from).num_milliseconds() as f64 / 1000.0;
    add(&mut ov.totals, c, seconds);
    if let Some(i) = ov.series.iter().rposition(|b| b.start <= c.time) {
        let end = ov.series.get(i + 1).map_or(ov.to, |n| n.start);
        let bucket_secs = (end - ov.series[i].start).num_milliseconds() as f64 / 1000.0;
        add(&mut ov.series[i].figures, c, bucket_secs);
    }
    add_to_group(&mut ov.by_model, &c.model, c, seconds);
    add_to_group(&mut ov.by_provider, &c.provider, c, seconds);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BucketFigures;
    use chrono::{DateTime, Duration, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn overview() -> Overview {
        let from = t("2026-05-01T10:00:00Z");
        Overview {
            from,
            to: from + Duration::hours(2),
            previous_from: from - Duration::hours(2),
            tz: "UTC".into(),
            bucket: crate::types::BucketSize::Hour,
            relative_error: 0.02,
            totals: Figures {
                requests: 1,
                successes: 1,
                avg_latency_ms: Some(100.0),
                total_tokens: 10,
                ..Default::default()
            },
            previous: Figures::default(),
            series: vec![
                BucketFigures {
                    start: from,
                    figures: Figures::default(),
                },
                BucketFigures {
                    start: from + Duration::hours(1),
                    figures: Figures::default(),
                },
            ],
            by_model: vec![],
            by_provider: vec![],
            bands: vec![],
        }
    }

    fn call(time: &str, status: CallStatus, http: Option<u16>) -> Call {
        Call {
            id: "x".into(),
            time: t(time),
            provider: "openai".into(),
            model: "gpt-4o".into(),
            status,
            http_status: http,
            duration_ms: 300.0,
            input_tokens: 5,
            output_tokens: 7,
            cost_total_micros: Some(42),
            ..Default::default()
        }
    }

    #[test]
    fn a_live_call_moves_totals_bucket_and_groups() {
        let mut ov = overview();
        assert!(apply_call(
            &mut ov,
            &call("2026-05-01T11:30:00Z", CallStatus::Error, Some(503))
        ));
        assert_eq!(ov.totals.requests, 2);
        assert_eq!(ov.totals.avg_latency_ms, Some(200.0));
        assert_eq!(ov.totals.total_tokens, 22);
        assert_eq!(ov.totals.cost_micros, 42);
        assert_eq!(ov.totals.errors.server_5xx, 1);
        assert_eq!(ov.totals.error_rate, 0.5);
        assert_eq!(ov.series[0].figures.requests, 0);
        assert_eq!(ov.series[1].figures.requests, 1);
        assert_eq!(ov.by_model[0].key, "gpt-4o");
        assert_eq!(ov.by_provider[0].totals.cost_micros, 42);
    }

    #[test]
    fn a_range_that_ends_now_follows_the_clock() {
        let mut ov = overview();
        let late = call("2026-05-01T12:10:00Z", CallStatus::Ok, None);
        follow_now(&mut ov, late.time);
        assert!(apply_call(&mut ov, &late));
        assert_eq!(ov.series.len(), 3);
        assert_eq!(ov.series[2].start, t("2026-05-01T12:00:00Z"));
        assert_eq!(ov.series[2].figures.requests, 1);
    }

    #[test]
    fn calls_outside_the_range_are_left_out() {
        let mut ov = overview();
        assert!(!apply_call(
            &mut ov,
            &call("2026-05-01T12:00:00Z", CallStatus::Ok, None)
        ));
        assert!(!apply_call(
            &mut ov,
            &call("2026-05-01T09:59:59Z", CallStatus::Ok, None)
        ));
        assert_eq!(ov.totals.requests, 1);
    }
}
