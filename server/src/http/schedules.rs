//! `/api/v1/reports/schedules`: reports sent through alert channels when a day, a week or
//! a month closes (session only, like the channels they use).

use app::types::schedule::{ReportSchedule, ReportScheduleInput, ReportSent};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use chrono::Utc;
use chrono_tz::Tz;

use super::{
    error::{ApiError, ApiJson},
    principal::SessionUser,
};
use crate::{
    domain::report_schedule::last_closed,
    scheduled_reports::{self, cadence, zone},
    state::AppState,
    store,
};

/// `GET /api/v1/reports/schedules`
#[utoipa::path(
    get,
    path = "/api/v1/reports/schedules",
    operation_id = "list_report_schedules",
    summary = "List scheduled reports",
    tag = "reports",
    responses((status = 200, description = "Every schedule with when it next sends", body = Vec<ReportSchedule>)),
    security(("session" = []))
)]
pub async fn list(
    _u: SessionUser,
    State(state): State<AppState>,
) -> Result<Json<Vec<ReportSchedule>>, ApiError> {
    let now = Utc::now();
    let rows = store::report_schedules::list(&state.pool).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| scheduled_reports::to_api(r, now))
            .collect(),
    ))
}

/// `POST /api/v1/reports/schedules` (201). The first report goes out when the current
/// period closes.
#[utoipa::path(
    post,
    path = "/api/v1/reports/schedules",
    operation_id = "create_report_schedule",
    summary = "Schedule a report",
    tag = "reports",
    request_body = ReportScheduleInput,
    responses((status = 201, description = "The new schedule", body = ReportSchedule)),
    security(("session" = []))
)]
pub async fn create(
    user: SessionUser,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ReportScheduleInput>,
) -> Result<(StatusCode, Json<ReportSchedule>), ApiError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(ApiError::invalid(
            "name",
            "give a name of 1 to 120 characters",
        ));
    }
    let tz: Tz = input.timezone.parse().map_err(|_| {
        ApiError::invalid(
            "timezone",
            format!("'{}' is not an IANA time zone", input.timezone),
        )
    })?;
    if input.channel_ids.is_empty() {
        return Err(ApiError::invalid(
            "channel_ids",
            "pick at least one channel to send the report through",
        ));
    }
    for (i, id) in input.channel_ids.iter().enumerate() {
        if store::alerts::channel(&state.pool, *id).await?.is_none() {
            return Err(ApiError::invalid(
                &format!("channel_ids[{i}]"),
                format!("no alert channel with id {id}"),
            ));
        }
    }
    let now = Utc::now();
    let (current, _) = last_closed(input.cadence, tz, now);
    let row = store::report_schedules::insert(
        &state.pool,
        name,
        input.cadence.as_str(),
        tz.name(),
        &input.channel_ids,
        current,
    )
    .await?;
    tracing::info!(by = %user.username, schedule = %row.name, "report scheduled");
    Ok((
        StatusCode::CREATED,
        Json(scheduled_reports::to_api(row, now)),
    ))
}

/// `DELETE /api/v1/reports/schedules/{id}`: answers with the schedule as it was.
#[utoipa::path(
    delete,
    path = "/api/v1/reports/schedules/{id}",
    operation_id = "delete_report_schedule",
    summary = "Delete a scheduled report",
    tag = "reports",
    params(("id" = i64, Path, description = "The schedule's id")),
    responses((status = 200, description = "The deleted schedule", body = ReportSchedule)),
    security(("session" = []))
)]
pub async fn delete(
    _u: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ReportSchedule>, ApiError> {
    match store::report_schedules::delete(&state.pool, id).await? {
        Some(row) => Ok(Json(scheduled_reports::to_api(row, Utc::now()))),
        None => Err(ApiError::not_found(format!(
            "no report schedule with id {id}"
        ))),
    }
}

/// `POST /api/v1/reports/schedules/{id}/send`: sends the report of the last closed period
/// now (to try a schedule), without moving the schedule on.
#[utoipa::path(
    post,
    path = "/api/v1/reports/schedules/{id}/send",
    operation_id = "send_report_schedule",
    summary = "Send a scheduled report now",
    tag = "reports",
    params(("id" = i64, Path, description = "The schedule's id")),
    responses((status = 200, description = "The period sent and how each channel took it", body = ReportSent)),
    security(("session" = []))
)]
pub async fn send_now(
    _u: SessionUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ReportSent>, ApiError> {
    let Some(row) = store::report_schedules::get(&state.pool, id).await? else {
        return Err(ApiError::not_found(format!(
            "no report schedule with id {id}"
        )));
    };
    let (from, to) = last_closed(cadence(&row), zone(&row), Utc::now());
    Ok(Json(scheduled_reports::send(&state, &row, from, to).await?))
}
