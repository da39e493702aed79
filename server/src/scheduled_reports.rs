//! Scheduled reports: when a schedule's period closes (a day, a week or a month in its time
//! zone), the PDF report of that period goes out through its alert channels. A loop checks
//! at the alert evaluation interval; claiming the period in the database makes one server
//! send it.

use app::types::{
    schedule::{ReportCadence, ReportDelivery, ReportSchedule, ReportSent},
    ExportQuery, Overview,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use crate::{
    alerts::send::{send_report, Attachment, ReportMessage},
    domain::{
        report::usd,
        report_pdf::{count, money},
        report_schedule::{due, next_send},
    },
    http::{error::ApiError, reports::pdf_of},
    state::AppState,
    store::{self, report_schedules::ScheduleRow},
};

pub fn cadence(row: &ScheduleRow) -> ReportCadence {
    ReportCadence::parse(&row.cadence).unwrap_or_default()
}

pub fn zone(row: &ScheduleRow) -> Tz {
    row.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// A schedule as listed, with when it next sends.
pub fn to_api(row: ScheduleRow, now: DateTime<Utc>) -> ReportSchedule {
    let next_at = next_send(cadence(&row), zone(&row), now);
    ReportSchedule {
        id: row.id,
        cadence: cadence(&row),
        name: row.name,
        timezone: row.timezone,
        channel_ids: row.channel_ids,
        created_at: row.created_at,
        last_period_start: row.last_period_start,
        last_sent_at: row.last_sent_at,
        last_error: row.last_error,
        next_at,
    }
}

/// The message for a period's figures: a title, a few lines people read, and the JSON a
/// webhook gets (the figures, the top models by cost, and the PDF in base64).
fn message(row: &ScheduleRow, o: &Overview, pdf: Vec<u8>) -> ReportMessage {
    let tz = zone(row);
    let day = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d").to_string();
    // The period ends at a midnight: its last day is the one before.
    let last_day = day(o.to - chrono::Duration::seconds(1));
    let span = if day(o.from) == last_day {
        day(o.from)
    } else {
        format!("{} to {last_day}", day(o.from))
    };
    let t = &o.totals;
    let p95 = t
        .p95_latency_ms
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ms"));
    let mut text = format!(
        "{span} ({}): {} requests, {} tokens, {} ({} priced), p95 latency {p95}, error rate {:.2} %.",
        row.timezone,
        count(t.requests as i64),
        count(t.total_tokens),
        money(t.cost_micros),
        count(t.priced_requests as i64),
        t.error_rate * 100.0
    );
    let mut top: Vec<_> = o.by_model.iter().collect();
    top.sort_by_key(|g| std::cmp::Reverse(g.totals.cost_micros));
    for g in top.iter().take(3) {
        text.push_str(&format!(
            "\n- {}: {} requests, {}",
            g.key,
            count(g.totals.requests as i64),
            money(g.totals.cost_micros)
        ));
    }
    let filename = format!(
        "sightline-report-{}-{}.pdf",
        day(o.from).replace('-', ""),
        last_day.replace('-', "")
    );
    let json = json!({
        "kind": "report",
        "schedule": {"id": row.id, "name": row.name, "cadence": row.cadence, "timezone": row.timezone},
        "from": o.from,
        "to": o.to,
        "totals": {
            "requests": t.requests,
            "error_rate": t.error_rate,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "total_tokens": t.total_tokens,
            "cost_usd": usd(t.cost_micros),
            "p95_latency_ms": t.p95_latency_ms,
        },
        "by_model": o.by_model.iter().map(|g| json!({
            "model": g.key, "requests": g.totals.requests, "cost_usd": usd(g.totals.cost_micros),
        })).collect::<Vec<_>>(),
        "pdf_filename": filename,
        "pdf_base64": STANDARD.encode(&pdf),
    });
    ReportMessage {
        title: format!("Sightline report: {} ({span})", row.name),
        text,
        json,
        attachment: Attachment { filename, pdf },
    }
}

/// Builds the report of [from, to) and sends it through every channel of the schedule;
/// notes the result on the schedule.
pub async fn send(
    state: &AppState,
    row: &ScheduleRow,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ReportSent, ApiError> {
    // The report reads the rollups: count every call stored so far.
    state.ingest.settled().await;
    let q = ExportQuery {
        from: Some(from),
        to: Some(to),
        tz: Some(row.timezone.clone()),
        ..ExportQuery::default()
    };
    let (pdf, o) = pdf_of(state, &q).await?;
    let m = message(row, &o, pdf);
    let mut deliveries = Vec::new();
    for &id in &row.channel_ids {
        let (channel, outcome) = match store::alerts::channel(&state.pool, id).await? {
            Some(ch) => {
                let o = send_report(state, &ch, &m).await;
                (ch.name.clone(), (o.ok, o.error))
            }
            None => (
                format!("#{id}"),
                (false, Some("the channel was deleted".to_owned())),
            ),
        };
        deliveries.push(ReportDelivery {
            channel_id: id,
            channel,
            ok: outcome.0,
            error: outcome.1,
        });
    }
    let failed: Vec<String> = deliveries
        .iter()
        .filter(|d| !d.ok)
        .map(|d| format!("{}: {}", d.channel, d.error.as_deref().unwrap_or("failed")))
        .collect();
    let error = (!failed.is_empty()).then(|| failed.join("; "));
    store::report_schedules::sent(&state.pool, row.id, error.as_deref()).await?;
    Ok(ReportSent {
        from,
        to,
        deliveries,
    })
}

/// Sends what is due, at the alert evaluation interval, until the server stops.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.config.alerts.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopping = state.stopping();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stopping => return,
        }
        if let Err(e) = send_due(&state, Utc::now()).await {
            tracing::warn!(error = %e.message, "scheduled reports not checked");
        }
    }
}

async fn send_due(state: &AppState, now: DateTime<Utc>) -> Result<(), ApiError> {
    for row in store::report_schedules::list(&state.pool).await? {
        let Some((from, to)) = due(cadence(&row), zone(&row), row.last_period_start, now) else {
            continue;
        };
        if !store::report_schedules::claim(&state.pool, row.id, from).await? {
            continue;
        }
        match send(state, &row, from, to).await {
            Ok(sent) => tracing::info!(
                schedule = %row.name,
                channels = sent.deliveries.len(),
                failed = sent.deliveries.iter().filter(|d| !d.ok).count(),
                "scheduled report sent"
            ),
            Err(e) => {
                tracing::warn!(schedule = %row.name, error = %e.message, "scheduled report not built");
                // The period stays claimed, so the failure must show on the schedule itself.
                let why = format!("report not built: {}", e.message);
                store::report_schedules::sent(&state.pool, row.id, Some(&why)).await?;
            }
        }
    }
    Ok(())
}
