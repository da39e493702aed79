//! `GET /api/v1/analytics/users`: active users, session lengths and the top users, from the
//! user and session rollups (no scan of calls).

use app::types::{SessionFigures, UserFigures, UsersOverview, UsersQuery};
use axum::{extract::State, Json};
use chrono::{Duration, DurationRound, Utc};

use super::{
    error::ApiError,
    params::{ApiQuery, Limit, RangeParams},
    principal::Reader,
};
use crate::{state::AppState, store};

#[utoipa::path(
    get,
    path = "/api/v1/analytics/users",
    operation_id = "users_overview",
    summary = "Active users, session lengths and top users",
    tag = "analytics",
    params(UsersQuery),
    responses((status = 200, description = "Users and sessions", body = UsersOverview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn users(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<UsersQuery>,
) -> Result<Json<UsersOverview>, ApiError> {
    let now = Utc::now();
    let (from, to) = RangeParams::new(q.from, q.to, q.range).resolve(Duration::days(7), now)?;
    let limit = Limit(q.limit).resolve(10, 100)?;
    // Top users read whole hours: from the hour holding `from`.
    let hour_from = from.duration_trunc(Duration::hours(1)).unwrap_or(from);
    let pool = &state.pool;
    let since = [
        now - Duration::hours(1),
        now - Duration::hours(24),
        now - Duration::days(7),
    ];
    let (active, sessions, by_cost, by_tokens) = tokio::try_join!(
        store::people::active_users(pool, &since),
        store::people::session_stats(pool, from, to),
        store::people::top_users(pool, hour_from, to, true, limit),
        store::people::top_users(pool, hour_from, to, false, limit),
    )?;
    let figures = |rows: Vec<(String, i64, i64, i64)>| {
        rows.into_iter()
            .map(|(user_id, calls, tokens, cost_micros)| UserFigures {
                user_id,
                calls,
                tokens,
                cost_micros,
            })
            .collect()
    };
    let (n, avg, p50, p95, calls) = sessions;
    Ok(Json(UsersOverview {
        from,
        to,
        active_1h: active[0],
        active_24h: active[1],
        active_7d: active[2],
        sessions: SessionFigures {
            sessions: n,
            avg_duration_s: avg,
            p50_duration_s: p50,
            p95_duration_s: p95,
            avg_calls: calls,
        },
        top_by_cost: figures(by_cost),
        top_by_tokens: figures(by_tokens),
    }))
}
