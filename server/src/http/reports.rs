//! `GET /api/v1/reports/export`: a range's figures per group and bucket, or every call in
//! it, as a CSV or JSON download. Calls are streamed page by page (keyset, newest first, as
//! the calls API lists them), so an export of any size holds one page in memory and the
//! first bytes leave at once.

use app::types::{
    BucketSize, Budget, Call, ExportFormat, ExportKind, ExportQuery, LimitKind, Overview,
};
use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures_util::stream;

use super::{
    analytics::{aggregation, overview_figures},
    error::ApiError,
    params::{ApiQuery, RangeParams},
    principal::Reader,
};
use crate::{
    budgets::evaluator::all_with_status,
    domain::{
        report,
        report_pdf::{self, BudgetLine, PdfReport},
    },
    state::AppState,
    store::{self, calls::CallFilter},
};

/// Calls read per page of a calls export: large enough that the per-query cost (planning
/// over the day partitions) is small beside encoding, small enough to hold (~10 MB).
const PAGE: i64 = 10_000;

/// `GET /api/v1/reports/export?kind=aggregates|calls&format=csv|json&range=30d&group_by=model`
#[utoipa::path(
    get,
    path = "/api/v1/reports/export",
    operation_id = "export_report",
    summary = "Export figures or calls as CSV, JSON or PDF",
    tag = "reports",
    params(ExportQuery),
    responses((
        status = 200,
        description = "A download. CSV: aggregates (group, bucket_start, figures; a `total` \
            row per group before its buckets) or calls (one row each, newest first). JSON: the \
            analytics aggregation, or an array of calls. PDF (aggregates): a two-page summary \
            with charts and tables by model, provider and budget.",
        content(
            (String = "text/csv"),
            (serde_json::Value = "application/json"),
            (String = "application/pdf")
        )
    )),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn export(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.unwrap_or_default();
    match q.kind.unwrap_or_default() {
        ExportKind::Aggregates if format == ExportFormat::Pdf => pdf_report(&state, &q).await,
        ExportKind::Aggregates => {
            let a = aggregation(&state, &q.analytics()).await?;
            let body = match format {
                ExportFormat::Json => serde_json::to_vec(&a).map_err(|_| ApiError::internal())?,
                _ => report::aggregates_csv(&a),
            };
            Ok(download(
                format,
                "aggregates",
                a.from,
                a.to,
                Body::from(body),
            ))
        }
        ExportKind::Calls => {
            if format == ExportFormat::Pdf {
                return Err(ApiError::bad_param(
                    "format",
                    "a PDF report summarises figures; export calls as csv or json",
                ));
            }
            if q.group_by.is_some() || q.bucket.is_some() || q.tz.is_some() {
                let field = match (q.group_by, q.bucket) {
                    (Some(_), _) => "group_by",
                    (None, Some(_)) => "bucket",
                    (None, None) => "tz",
                };
                return Err(ApiError::bad_param(
                    field,
                    format!("{field} applies to aggregates; a calls export lists every call"),
                ));
            }
            let (from, to) = RangeParams::new(q.from, q.to, q.range.clone())
                .resolve(Duration::hours(24), Utc::now())?;
            let filter = CallFilter {
                model: q.model,
                provider: q.provider,
                feature: q.feature,
                from: Some(from),
                to: Some(to),
                ..Default::default()
            };
            let body = Body::from_stream(calls_stream(state, filter, format));
            Ok(download(format, "calls", from, to, body))
        }
    }
}

/// The response headers of a download named after its kind and range.
fn download(
    format: ExportFormat,
    kind: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    body: Body,
) -> Response {
    let (content_type, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Pdf => ("application/pdf", "pdf"),
    };
    let name = format!(
        "sightline-{kind}-{}-{}.{ext}",
        from.format("%Y%m%dT%H%M"),
        to.format("%Y%m%dT%H%M")
    );
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A PDF report of the range as a download.
async fn pdf_report(state: &AppState, q: &ExportQuery) -> Result<Response, ApiError> {
    if q.group_by.is_some() {
        return Err(ApiError::bad_param(
            "group_by",
            "a PDF report breaks its figures down by model and by provider itself",
        ));
    }
    let (pdf, o) = pdf_of(state, q).await?;
    Ok(download(
        ExportFormat::Pdf,
        "report",
        o.from,
        o.to,
        Body::from(pdf),
    ))
}

/// The PDF report of a range: the Overview's figures (one read of the rollups: totals,
/// series, by model, by provider) and the budgets as they stand; with the figures, for
/// scheduled reports to quote.
pub async fn pdf_of(state: &AppState, q: &ExportQuery) -> Result<(Vec<u8>, Overview), ApiError> {
    let o = overview_figures(state, &q.analytics()).await?;
    // The zone parsed already when the figures were read.
    let tz: Tz = o.tz.parse().unwrap_or(chrono_tz::UTC);
    let local = |t: DateTime<Utc>, f: &str| t.with_timezone(&tz).format(f).to_string();
    let label = match o.bucket {
        BucketSize::Minute | BucketSize::Hour => "%b %d %H:%M",
        _ => "%b %d",
    };
    state.budgets.reload(&state.pool).await?;
    let budgets = all_with_status(&state.pool, &state.budgets, Utc::now()).await?;
    let report = PdfReport {
        title: "Sightline report".into(),
        subtitle: format!(
            "{} to {} ({}), by {}",
            local(o.from, "%Y-%m-%d %H:%M"),
            local(o.to, "%Y-%m-%d %H:%M"),
            o.tz,
            o.bucket.as_str()
        ),
        totals: o.totals.clone(),
        series: o
            .series
            .iter()
            .map(|b| (local(b.start, label), b.clone()))
            .collect(),
        by_model: o.by_model.clone(),
        by_provider: o.by_provider.clone(),
        budgets: budgets
            .iter()
            .filter(|b| b.enabled)
            .map(budget_line)
            .collect(),
    };
    Ok((report_pdf::render(&report), o))
}

fn budget_line(b: &Budget) -> BudgetLine {
    let amount = |v: f64| match b.limit_kind {
        LimitKind::Usd => format!("${v:.2}"),
        _ => report_pdf::count(v.round() as i64),
    };
    BudgetLine {
        name: b.name.clone(),
        period: b.period.as_str().to_owned(),
        spent: amount(b.status.spent),
        limit: amount(b.status.limit),
        percent: b.status.percent,
    }
}

/// Where a calls export stands between pages.
struct Cursor {
    filter: CallFilter,
    /// Nothing written yet: the CSV header or the JSON `[` goes first.
    first: bool,
    done: bool,
}

/// Every call of `filter`, page by page, encoded as `format`. A database failure part-way
/// ends the body early (the status is already sent); it is logged.
fn calls_stream(
    state: AppState,
    filter: CallFilter,
    format: ExportFormat,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let start = Cursor {
        filter,
        first: true,
        done: false,
    };
    stream::try_unfold(start, move |mut cur| {
        let pool = state.pool.clone();
        async move {
            if cur.done {
                return Ok(None);
            }
            let mut out = Vec::new();
            if cur.first {
                out = match format {
                    ExportFormat::Json => b"[".to_vec(),
                    _ => report::calls_csv_header(),
                };
            }
            let with_metadata = format == ExportFormat::Json;
            let calls = store::calls::list_with(&pool, &cur.filter, PAGE, with_metadata)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "a calls export stopped: the database failed");
                    std::io::Error::other("the database failed")
                })?;
            cur.done = calls.len() < PAGE as usize;
            encode(&calls, format, cur.first, &mut out);
            if cur.done && format == ExportFormat::Json {
                out.push(b']');
            }
            cur.first = false;
            if let Some(last) = calls.last() {
                cur.filter.before = Some((last.time, last.id.clone()));
            }
            Ok(Some((Bytes::from(out), cur)))
        }
    })
}

/// Calls as CSV or JSON (a PDF of calls is refused before the stream starts).
fn encode(calls: &[Call], format: ExportFormat, first: bool, out: &mut Vec<u8>) {
    match format {
        ExportFormat::Csv | ExportFormat::Pdf => out.extend(report::calls_csv(calls)),
        ExportFormat::Json => {
            for (i, call) in calls.iter().enumerate() {
                if !(first && i == 0) {
                    out.push(b',');
                }
                // A Call is plain data: serialising it cannot fail.
                let _ = serde_json::to_writer(&mut *out, call);
            }
        }
    }
}
