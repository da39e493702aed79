//! `/api/v1/analytics`: figures over a range, grouped and bucketed, with the previous period
//! of equal length; `/api/v1/analytics/overview`: what the Overview page draws, in one answer.
//! Both read the rollups (sessions and users, which rollups do not keep, read raw calls).

use std::collections::HashMap;

use app::types::{Aggregation, Overview};
use axum::{
    extract::{Query, State},
    Json,
};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::{
    calls::{parse_since, parse_time},
    error::ApiError,
    principal::Principal,
};
use crate::{
    analytics::{
        aggregate::{Aggregate, Window},
        bucket::{self, BucketSize},
        histogram::RELATIVE_ERROR,
    },
    state::AppState,
    store::rollups::{self, DimFilter, RollupRow},
};

/// Buckets in one series at most.
const MAX_BUCKETS: usize = 2000;
/// The longest range one query may cover.
const MAX_RANGE_DAYS: i64 = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupBy {
    None,
    Model,
    Provider,
    Feature,
    Session,
    User,
}

impl GroupBy {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "model" => Self::Model,
            "provider" => Self::Provider,
            "feature" => Self::Feature,
            "session" => Self::Session,
            "user" => Self::User,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Model => "model",
            Self::Provider => "provider",
            Self::Feature => "feature",
            Self::Session => "session",
            Self::User => "user",
        }
    }

    fn of_rollup(self, r: &RollupRow) -> &str {
        match self {
            Self::Model => &r.key.model,
            Self::Provider => &r.key.provider,
            Self::Feature => &r.key.feature,
            _ => "",
        }
    }
}

/// The parsed common parameters.
struct Params {
    window: Window,
    starts: Vec<DateTime<Utc>>,
    filter: DimFilter,
    tz_name: String,
}

fn text(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `from`/`to` (RFC 3339) or `range` (`15m`, `24h`, `7d`, …; default `24h`), `tz` (IANA,
/// default UTC), `bucket` (minute … month, default by range length), and the filters
/// `model`, `provider`, `feature`.
fn params(q: &HashMap<String, String>) -> Result<Params, ApiError> {
    let tz_name = text(q, "tz").unwrap_or_else(|| "UTC".to_owned());
    let tz: Tz = tz_name.parse().map_err(|_| {
        ApiError::bad_param("tz", "tz must be an IANA time zone such as Europe/Berlin")
    })?;
    let now = Utc::now();
    let (from, to) = match (text(q, "from"), text(q, "to"), text(q, "range")) {
        (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_param(
                "range",
                "give either range or from/to, not both",
            ))
        }
        (from, to, range) => {
            let to = to.map(|t| parse_time("to", &t)).transpose()?.unwrap_or(now);
            let from = match (from, range) {
                (Some(f), _) => parse_time("from", &f)?,
                (None, r) => {
                    let r = r.unwrap_or_else(|| "24h".to_owned());
                    to - parse_since(&r).ok_or_else(|| {
                        ApiError::bad_param(
                            "range",
                            "range must be a number and a unit: 15m, 24h, 7d",
                        )
                    })?
                }
            };
            (from, to)
        }
    };
    if from >= to {
        return Err(ApiError::bad_param("from", "from must be before to"));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::bad_param(
            "from",
            format!("a range covers at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let (from, to) = bucket::widen_to_minutes(from, to);
    let size = match text(q, "bucket").as_deref() {
        None | Some("auto") => BucketSize::auto(to - from),
        Some(b) => BucketSize::parse(b).ok_or_else(|| {
            ApiError::bad_param(
                "bucket",
                "bucket must be auto, minute, hour, day, week or month",
            )
        })?,
    };
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
            provider: text(q, "provider"),
            model: text(q, "model"),
            feature: text(q, "feature"),
        },
        tz_name,
    })
}

/// The rollup rows covering the window and its previous period.
async fn rollup_rows(state: &AppState, p: &Params) -> Result<Vec<RollupRow>, ApiError> {
    let w = p.window;
    let mut rows = Vec::new();
    // Each period is planned on its own so no hour row straddles their border.
    let parts = bucket::plan(w.previous_from, w.from, w.size, w.tz)
        .into_iter()
        .chain(bucket::plan(w.from, w.to, w.size, w.tz));
    for (tier, from, to) in parts {
        rows.extend(rollups::fetch(&state.pool, tier, from, to, &p.filter).await?);
    }
    Ok(rows)
}

/// `GET /api/v1/analytics?group_by=none|model|provider|feature|session|user&…`
pub async fn aggregate(
    _p: Principal,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Aggregation>, ApiError> {
    let p = params(&q)?;
    let group_by = match text(&q, "group_by") {
        None => GroupBy::None,
        Some(g) => GroupBy::parse(&g).ok_or_else(|| {
            ApiError::bad_param(
                "group_by",
                "group_by must be none, model, provider, feature, session or user",
            )
        })?,
    };
    let w = p.window;
    let mut agg = Aggregate::new(w);
    let source = match group_by {
        GroupBy::Session | GroupBy::User => {
            rollups::scan_raw(&state.pool, w.previous_from, w.to, &p.filter, |r| {
                let key = match group_by {
                    GroupBy::Session => r.session_id.as_deref(),
                    _ => r.user_id.as_deref(),
                };
                agg.add_call(r.time, key.unwrap_or_default(), &r.facts);
            })
            .await?;
            "raw"
        }
        _ => {
            for r in rollup_rows(&state, &p).await? {
                agg.add_rollup(
                    r.key.bucket,
                    group_by.of_rollup(&r),
                    &r.stats,
                    &r.latency_packed,
                    &r.ttft_packed,
                );
            }
            "rollups"
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
    Ok(Json(Aggregation {
        from: w.from,
        to: w.to,
        previous_from: w.previous_from,
        tz: p.tz_name,
        bucket: w.size.as_str().to_owned(),
        group_by: group_by.as_str().to_owned(),
        source: source.to_owned(),
        relative_error: RELATIVE_ERROR,
        totals: agg.totals(),
        previous: agg.previous(),
        groups,
    }))
}

/// `GET /api/v1/analytics/overview?range=24h&tz=…`: totals against the previous period, one
/// series, and the figures per model and per provider, from a single read of the rollups.
pub async fn overview(
    _p: Principal,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Overview>, ApiError> {
    let p = params(&q)?;
    let w = p.window;
    let rows = rollup_rows(&state, &p).await?;
    let (mut all, mut by_model, mut by_provider) = (
        Aggregate::new(w),
        Aggregate::totals_only(w),
        Aggregate::totals_only(w),
    );
    for r in &rows {
        let (s, l, t) = (&r.stats, &r.latency_packed[..], &r.ttft_packed[..]);
        all.add_rollup(r.key.bucket, "", s, l, t);
        by_model.add_rollup(r.key.bucket, &r.key.model, s, l, t);
        by_provider.add_rollup(r.key.bucket, &r.key.provider, s, l, t);
    }
    Ok(Json(Overview {
        from: w.from,
        to: w.to,
        previous_from: w.previous_from,
        tz: p.tz_name,
        bucket: w.size.as_str().to_owned(),
        relative_error: RELATIVE_ERROR,
        totals: all.totals(),
        previous: all.previous(),
        series: all.series(&p.starts),
        by_model: by_model.groups(None),
        by_provider: by_provider.groups(None),
    }))
}
