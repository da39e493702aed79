//! `/api/v1/analytics`: figures over a range, grouped and bucketed, with the previous period
//! of equal length; `/api/v1/analytics/overview`: what the Overview page draws, in one answer.
//! Both read the rollups, closed days merged and kept in memory; by user they read the user
//! hours (whole hours, no dimension filter), and sessions and API keys the raw calls.

use std::sync::Arc;

use app::types::{Aggregation, AnalyticsQuery, AnalyticsSource, GroupBy, Overview};
use axum::{extract::State, Json};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::{
    error::ApiError,
    params::{ApiQuery, RangeParams},
    principal::Reader,
};
use crate::{
    analytics::{
        aggregate::{Aggregate, Window},
        bands, bucket,
        closed::{self, CacheKey, ClosedCache},
        histogram::RELATIVE_ERROR,
        rollup::RollupKey,
    },
    state::AppState,
    store::rollups::{self, DimFilter, RollupRow},
};

/// Buckets in one series at most.
const MAX_BUCKETS: usize = 2000;

/// The part of a rollup row a grouping keys on ("" for groupings rollups do not keep).
fn rollup_key(group_by: GroupBy, r: &RollupRow) -> &str {
    match group_by {
        GroupBy::Model => &r.key.model,
        GroupBy::Provider => &r.key.provider,
        GroupBy::Feature => &r.key.feature,
        GroupBy::None | GroupBy::Session | GroupBy::User | GroupBy::ApiKey => "",
    }
}

/// The parsed common parameters.
struct Params {
    window: Window,
    starts: Vec<DateTime<Utc>>,
    filter: DimFilter,
    tz_name: String,
}

/// The range (default the last 24 h), widened to whole minutes, in the time zone `tz`
/// (default UTC), cut into buckets (by default sized for the range's length).
fn params(q: &AnalyticsQuery) -> Result<Params, ApiError> {
    let tz_name = q.tz.clone().unwrap_or_else(|| "UTC".to_owned());
    let tz: Tz = tz_name.parse().map_err(|_| {
        ApiError::bad_param("tz", "tz must be an IANA time zone such as Europe/Berlin")
    })?;
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range.clone()).resolve(Duration::hours(24), Utc::now())?;
    let (from, to) = bucket::widen_to_minutes(from, to);
    let size = q.bucket.unwrap_or_else(|| bucket::auto_size(to - from));
    let starts = bucket::series(from, to, size, tz, MAX_BUCKETS).ok_or_else(|| {
        ApiError::bad_param(
            "bucket",
            format!("more than {MAX_BUCKETS} buckets: choose a larger bucket or a shorter range"),
        )
    })?;
    Ok(Params {
        window: Window::new(from, to, size, tz),
        starts,
        filter: DimFilter {
            provider: q.provider.clone(),
            model: q.model.clone(),
            feature: q.feature.clone(),
        },
        tz_name,
    })
}

/// The rollup rows of [from, to), by the tiers that serve it.
async fn fetch_range(
    state: &AppState,
    p: &Params,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RollupRow>, ApiError> {
    let mut rows = Vec::new();
    for (tier, a, b) in bucket::plan(from, to, p.window.size, p.window.tz) {
        rows.extend(rollups::fetch(&state.pool, tier, a, b, &p.filter).await?);
    }
    Ok(rows)
}

/// The rollup rows covering the window and its previous period, in parts: closed whole
/// buckets come merged from the cache (read and merged once when missing), the open edges
/// from the database.
async fn rollup_rows(state: &AppState, p: &Params) -> Result<Vec<Arc<Vec<RollupRow>>>, ApiError> {
    let w = p.window;
    let mut kept = Kept::new(state, &state.closed, p);
    let mut parts = Vec::new();
    // Each period is split on its own so no bucket straddles their border.
    for (from, to) in [(w.previous_from, w.from), (w.from, w.to)] {
        parts.extend(
            kept.rows(from, to, |a, b| fetch_range(state, p, a, b))
                .await?,
        );
    }
    Ok(parts)
}

/// Rows of closed buckets from a cache, merged once per bucket; the rest read each time.
struct Kept<'a> {
    state: &'a AppState,
    cache: &'a ClosedCache,
    p: &'a Params,
    horizon: DateTime<Utc>,
    generation: Option<i64>,
}

impl<'a> Kept<'a> {
    fn new(state: &'a AppState, cache: &'a ClosedCache, p: &'a Params) -> Self {
        Self {
            state,
            cache,
            p,
            horizon: closed::horizon(Utc::now()),
            generation: None,
        }
    }

    /// The rows of [from, to) in parts, `fetch` reading rows of a range from the database.
    async fn rows<F, Fut>(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        fetch: F,
    ) -> Result<Vec<Arc<Vec<RollupRow>>>, ApiError>
    where
        F: Fn(DateTime<Utc>, DateTime<Utc>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<RollupRow>, ApiError>>,
    {
        let w = self.p.window;
        let split = closed::split(from, to, w.size, w.tz, self.horizon);
        let mut parts = Vec::new();
        for (a, b) in split.open {
            parts.push(Arc::new(fetch(a, b).await?));
        }
        if split.closed.is_empty() {
            return Ok(parts);
        }
        let g = match self.generation {
            Some(g) => g,
            None => *self
                .generation
                .insert(rollups::generation(&self.state.pool).await?),
        };
        let f = &self.p.filter;
        let key = |(start, end)| CacheKey {
            tz: w.tz.name(),
            size: w.size,
            start,
            end,
            filter: [f.provider.clone(), f.model.clone(), f.feature.clone()],
        };
        let mut missing = Vec::new();
        for bucket in split.closed {
            match self.cache.get(g, &key(bucket)) {
                Some(rows) => parts.push(rows),
                None => missing.push(bucket),
            }
        }
        // The missing buckets in one read, from the first to the last.
        if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
            let rows = fetch(first.0, last.1).await?;
            let mut merged = closed::merge_by_bucket(&rows, w.size, w.tz);
            for bucket in missing {
                let rows = merged.remove(&bucket.0).unwrap_or_default();
                parts.push(self.cache.put(g, key(bucket), rows));
            }
        }
        Ok(parts)
    }
}

/// `GET /api/v1/analytics?group_by=none|model|provider|feature|session|user&…`
#[utoipa::path(
    get,
    path = "/api/v1/analytics",
    operation_id = "aggregate",
    summary = "Aggregate calls over time",
    tag = "analytics",
    params(AnalyticsQuery),
    responses((status = 200, description = "Totals and time buckets", body = Aggregation)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn aggregate(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Json<Aggregation>, ApiError> {
    aggregation(&state, &q).await.map(Json)
}

/// The figures `q` asks for: what `GET /api/v1/analytics` answers and reports export.
pub async fn aggregation(state: &AppState, q: &AnalyticsQuery) -> Result<Aggregation, ApiError> {
    let p = params(q)?;
    let group_by = q.group_by.unwrap_or_default();
    let w = p.window;
    let mut agg = Aggregate::new(w);
    let source = match group_by {
        GroupBy::User if p.filter.is_empty() => {
            by_user(state, &p, &mut agg).await?;
            AnalyticsSource::Rollups
        }
        GroupBy::Session | GroupBy::User | GroupBy::ApiKey => {
            rollups::scan_raw(&state.pool, w.previous_from, w.to, &p.filter, |r| {
                let key = match group_by {
                    GroupBy::Session => r.session_id.unwrap_or_default(),
                    GroupBy::User => r.user_id.unwrap_or_default(),
                    _ => r.api_key_id.map(|id| id.to_string()).unwrap_or_default(),
                };
                agg.add_call(r.time, &key, &r.facts);
            })
            .await?;
            AnalyticsSource::Raw
        }
        _ => {
            for r in rollup_rows(state, &p)
                .await?
                .iter()
                .flat_map(|part| part.iter())
            {
                agg.add_rollup(
                    r.key.bucket,
                    rollup_key(group_by, r),
                    &r.stats,
                    &r.latency_packed,
                    &r.ttft_packed,
                );
            }
            AnalyticsSource::Rollups
        }
    };
    let mut groups = agg.groups(Some(&p.starts));
    if group_by == GroupBy::None && groups.is_empty() {
        // An empty range still answers with a (zero) series for the chart axis.
        groups = vec![app::types::GroupFigures {
            key: String::new(),
            totals: agg.totals(),
            previous: agg.previous(),
            buckets: agg.series(&p.starts),
        }];
    }
    if group_by == GroupBy::ApiKey {
        name_api_keys(state, &mut groups).await?;
    }
    Ok(Aggregation {
        from: w.from,
        to: w.to,
        previous_from: w.previous_from,
        tz: p.tz_name,
        bucket: w.size,
        group_by,
        source,
        relative_error: RELATIVE_ERROR,
        totals: agg.totals(),
        previous: agg.previous(),
        groups,
    })
}

/// Figures by user over the window and its previous period: whole hours from the user
/// hours where they hold every figure, the edges (and older hours) from the raw calls.
async fn by_user(state: &AppState, p: &Params, agg: &mut Aggregate) -> Result<(), ApiError> {
    let w = p.window;
    let since = rollups::users_complete_since(&state.pool).await?;
    let mut kept = Kept::new(state, &state.closed_users, p);
    let mut raw = Vec::new();
    // Each period is planned on its own so no hour straddles their border.
    for (from, to) in [(w.previous_from, w.from), (w.from, w.to)] {
        for (tier, a, b) in bucket::plan(from, to, w.size, w.tz) {
            let split = if tier == bucket::RollupTier::Hour {
                since.clamp(a, b)
            } else {
                b
            };
            if a < split {
                raw.push((a, split));
            }
            if split < b {
                let parts = kept.rows(split, b, |x, y| user_rows(state, x, y)).await?;
                for r in parts.iter().flat_map(|part| part.iter()) {
                    agg.add_rollup(
                        r.key.bucket,
                        &r.key.feature,
                        &r.stats,
                        &r.latency_packed,
                        &r.ttft_packed,
                    );
                }
            }
        }
    }
    for (a, b) in raw {
        rollups::scan_raw(&state.pool, a, b, &p.filter, |r| {
            agg.add_call(r.time, &r.user_id.unwrap_or_default(), &r.facts);
        })
        .await?;
    }
    Ok(())
}

/// The user hours of [from, to) as rollup rows keyed by `feature` = the user (provider and
/// model empty), so the closed-bucket cache and its merge serve them unchanged.
async fn user_rows(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RollupRow>, ApiError> {
    Ok(rollups::fetch_users(&state.pool, from, to)
        .await?
        .into_iter()
        .map(|r| RollupRow {
            key: RollupKey {
                bucket: r.bucket,
                provider: String::new(),
                model: String::new(),
                feature: r.user_id,
            },
            stats: r.stats,
            latency_packed: r.latency_packed,
            ttft_packed: r.ttft_packed,
        })
        .collect())
}

/// API-key groups are keyed by id; people read them as `name (sl_1a2b3c4d)`.
async fn name_api_keys(
    state: &AppState,
    groups: &mut [app::types::GroupFigures],
) -> Result<(), ApiError> {
    let keys = crate::store::api_keys::list(&state.pool).await?;
    for g in groups.iter_mut() {
        if let Some(k) = keys.iter().find(|k| k.id.to_string() == g.key) {
            g.key = format!("{} ({})", k.name, k.prefix);
        }
    }
    Ok(())
}

/// `GET /api/v1/analytics/overview?range=24h&tz=…`: totals against the previous period, one
/// series, and the figures per model and per provider, from a single read of the rollups.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/overview",
    operation_id = "overview",
    summary = "The Overview figures",
    tag = "analytics",
    params(AnalyticsQuery),
    responses((status = 200, description = "The Overview page's figures", body = Overview)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn overview(
    _p: Reader,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Json<Overview>, ApiError> {
    overview_figures(&state, &q).await.map(Json)
}

/// The Overview's figures for `q`: what `GET /api/v1/analytics/overview` answers and the PDF
/// report draws.
pub async fn overview_figures(state: &AppState, q: &AnalyticsQuery) -> Result<Overview, ApiError> {
    let p = params(q)?;
    let w = p.window;
    let parts = rollup_rows(state, &p).await?;
    let (mut all, mut by_model, mut by_provider) = (
        Aggregate::new(w),
        Aggregate::totals_only(w),
        Aggregate::totals_only(w),
    );
    for r in parts.iter().flat_map(|part| part.iter()) {
        let (s, l, t) = (&r.stats, &r.latency_packed[..], &r.ttft_packed[..]);
        all.add_rollup(r.key.bucket, "", s, l, t);
        by_model.add_rollup(r.key.bucket, &r.key.model, s, l, t);
        by_provider.add_rollup(r.key.bucket, &r.key.provider, s, l, t);
    }
    let series = all.series(&p.starts);
    // The previous period's buckets are the history of the first buckets' bands.
    let previous_starts =
        bucket::series(w.previous_from, w.from, w.size, w.tz, MAX_BUCKETS).unwrap_or_default();
    let bands = bands::overview_bands(&all.previous_series(&previous_starts), &series);
    Ok(Overview {
        from: w.from,
        to: w.to,
        previous_from: w.previous_from,
        tz: p.tz_name,
        bucket: w.size,
        relative_error: RELATIVE_ERROR,
        totals: all.totals(),
        previous: all.previous(),
        series,
        bands,
        by_model: by_model.groups(None),
        by_provider: by_provider.groups(None),
    })
}
