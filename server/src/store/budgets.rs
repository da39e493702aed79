//! Budgets: their definitions, the spend counters the ingest writer keeps for them, the
//! reservations of calls in flight, and the events they raised.
//!
//! Counters are exact because they move in the transaction that stores the calls, and a
//! budget's creation or change rebuilds them from `llm_calls` while holding an advisory lock
//! that every such transaction shares: no call is counted twice or missed in between.

use std::collections::HashMap;

use app::types::{BudgetEventKind, BudgetMode, BudgetPeriod, BudgetScope, Call, LimitKind};
use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use sqlx::{PgPool, Postgres, Transaction};

use crate::domain::budget::{self, Amounts, Facts, Spec, Window};
use crate::domain::call::NewCall;
use crate::domain::pricing::pattern_matches;

/// The advisory lock between counting calls (shared) and rebuilding counters (exclusive).
const COUNTERS_LOCK: i64 = 0x534c_4255_4447_4554;

/// Call ids that settle a reservation start with this; other calls skip the lookup.
pub const RESERVATION_PREFIX: &str = "rsv-";

/// How far back the hourly counters are rebuilt and kept: the burn rate looks at most a
/// few hours back.
const HOURS_KEPT: i64 = 48;

/// A stored budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub spec: Spec,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    scope_provider: Option<String>,
    scope_model: Option<String>,
    scope_feature: Option<String>,
    scope_user: Option<String>,
    scope_api_key_id: Option<i64>,
    period: String,
    timezone: String,
    reset_day: i16,
    limit_kind: String,
    limit_value: i64,
    thresholds: Vec<i16>,
    mode: String,
    enabled: bool,
    created_at: DateTime<Utc>,
}

impl From<Row> for Stored {
    fn from(r: Row) -> Self {
        Stored {
            id: r.id,
            spec: Spec {
                name: r.name,
                scope: BudgetScope {
                    provider: r.scope_provider,
                    model: r.scope_model,
                    feature: r.scope_feature,
                    user: r.scope_user,
                    api_key_id: r.scope_api_key_id,
                },
                // The columns are checked on the way in; the defaults are never reached.
                period: BudgetPeriod::parse(&r.period).unwrap_or_default(),
                tz: r.timezone.parse().unwrap_or(Tz::UTC),
                reset_day: u32::try_from(r.reset_day).unwrap_or(1),
                limit_kind: LimitKind::parse(&r.limit_kind).unwrap_or_default(),
                limit: r.limit_value,
                thresholds: r
                    .thresholds
                    .into_iter()
                    .filter_map(|t| u16::try_from(t).ok())
                    .collect(),
                mode: BudgetMode::parse(&r.mode).unwrap_or_default(),
                enabled: r.enabled,
            },
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, name, scope_provider, scope_model, scope_feature, scope_user, \
    scope_api_key_id, period, timezone, reset_day, limit_kind, limit_value, thresholds, mode, \
    enabled, created_at";

pub async fn list<'e>(db: impl sqlx::PgExecutor<'e>) -> sqlx::Result<Vec<Stored>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM budgets ORDER BY id"))
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Stored::from).collect())
}

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<Stored>> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM budgets WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(Stored::from))
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("a budget with this name exists")]
    DuplicateName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn write_error(e: sqlx::Error) -> WriteError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            WriteError::DuplicateName
        }
        _ => WriteError::Db(e),
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds a definition as $1 to $14, in the column order of `insert`.
fn bind_spec<'q>(q: PgQuery<'q>, spec: &'q Spec) -> PgQuery<'q> {
    q.bind(&spec.name)
        .bind(&spec.scope.provider)
        .bind(&spec.scope.model)
        .bind(&spec.scope.feature)
        .bind(&spec.scope.user)
        .bind(spec.scope.api_key_id)
        .bind(spec.period.as_str())
        .bind(spec.tz.name())
        .bind(spec.reset_day as i16)
        .bind(spec.limit_kind.as_str())
        .bind(spec.limit)
        .bind(
            spec.thresholds
                .iter()
                .map(|t| *t as i16)
                .collect::<Vec<_>>(),
        )
        .bind(spec.mode.as_str())
        .bind(spec.enabled)
}

/// Creates a budget and counts the calls already in its recent periods.
pub async fn insert(pool: &PgPool, spec: &Spec, now: DateTime<Utc>) -> Result<i64, WriteError> {
    let mut tx = pool.begin().await?;
    lock_counters_exclusive(&mut tx).await?;
    let row = bind_spec(
        sqlx::query(
            "INSERT INTO budgets (name, scope_provider, scope_model, scope_feature, scope_user,
                scope_api_key_id, period, timezone, reset_day, limit_kind, limit_value,
                thresholds, mode, enabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             RETURNING id",
        ),
        spec,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(write_error)?;
    let id: i64 = sqlx::Row::try_get(&row, "id")?;
    rebuild_counters(&mut tx, id, spec, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces a budget's definition; its counters are rebuilt (the scope or the calendar may
/// have changed). False when there is no such budget.
pub async fn update(
    pool: &PgPool,
    id: i64,
    spec: &Spec,
    now: DateTime<Utc>,
) -> Result<bool, WriteError> {
    let mut tx = pool.begin().await?;
    lock_counters_exclusive(&mut tx).await?;
    let done = bind_spec(
        sqlx::query(
            "UPDATE budgets SET name = $1, scope_provider = $2, scope_model = $3,
                scope_feature = $4, scope_user = $5, scope_api_key_id = $6, period = $7,
                timezone = $8, reset_day = $9, limit_kind = $10, limit_value = $11,
                thresholds = $12, mode = $13, enabled = $14, updated_at = now()
             WHERE id = $15",
        ),
        spec,
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(write_error)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    for table in ["budget_spend_period", "budget_spend_hour"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE budget_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    rebuild_counters(&mut tx, id, spec, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes a budget with its counters, reservations and events.
pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM budgets WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

async fn lock_counters_exclusive(tx: &mut Transaction<'_, Postgres>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(COUNTERS_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A model pattern (`*` = anything, case-insensitive) as a LIKE pattern on `lower(model)`.
fn like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.to_ascii_lowercase().chars() {
        match c {
            '\\' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push('%'),
            c => out.push(c),
        }
    }
    out
}

/// The scope as SQL conditions on `llm_calls c`, binding $1 to $5.
const SCOPE_SQL: &str = "($1::text IS NULL OR c.provider = $1)
    AND ($2::text IS NULL OR lower(c.model) LIKE $2 ESCAPE '\\')
    AND ($3::text IS NULL OR c.feature = $3)
    AND ($4::text IS NULL OR c.user_id = $4)
    AND ($5::bigint IS NULL OR c.api_key_id = $5)";

type SumRow = (DateTime<Utc>, i64, i64, i64);

/// Counts the calls of the budget's last 13 periods and last hours from `llm_calls`.
async fn rebuild_counters(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    spec: &Spec,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let windows = budget::recent_windows(now, spec.calendar(), spec.tz, 12);
    let starts: Vec<DateTime<Utc>> = windows.iter().map(|w| w.start).collect();
    let ends: Vec<DateTime<Utc>> = windows.iter().map(|w| w.end).collect();
    let model = spec.scope.model.as_deref().map(like_pattern);
    let sums = |select: &str, tail: &str| {
        format!(
            "{select}, coalesce(sum(coalesce(c.cost_total_micros, 0)), 0)::bigint,
                coalesce(sum(c.input_tokens + c.output_tokens), 0)::bigint, count(*)
             {tail}"
        )
    };
    let periods: Vec<SumRow> = sqlx::query_as(&sums(
        "SELECT w.s",
        &format!(
            "FROM unnest($6::timestamptz[], $7::timestamptz[]) AS w (s, e)
             JOIN llm_calls c ON c.time >= w.s AND c.time < w.e
             WHERE {SCOPE_SQL} GROUP BY w.s"
        ),
    ))
    .bind(&spec.scope.provider)
    .bind(&model)
    .bind(&spec.scope.feature)
    .bind(&spec.scope.user)
    .bind(spec.scope.api_key_id)
    .bind(&starts)
    .bind(&ends)
    .fetch_all(&mut **tx)
    .await?;
    let since = hour_of(now) - Duration::hours(HOURS_KEPT);
    let hours: Vec<SumRow> = sqlx::query_as(&sums(
        "SELECT date_trunc('hour', c.time)",
        &format!("FROM llm_calls c WHERE c.time >= $6 AND {SCOPE_SQL} GROUP BY 1"),
    ))
    .bind(&spec.scope.provider)
    .bind(&model)
    .bind(&spec.scope.feature)
    .bind(&spec.scope.user)
    .bind(spec.scope.api_key_id)
    .bind(since)
    .fetch_all(&mut **tx)
    .await?;
    let rows = |sums: Vec<SumRow>| {
        sums.into_iter()
            .map(|(at, cost_micros, tokens, requests)| {
                (
                    (id, at),
                    Amounts {
                        cost_micros,
                        tokens,
                        requests,
                    },
                )
            })
            .collect::<HashMap<_, _>>()
    };
    add_counters(tx, "budget_spend_period", "period_start", 0, &rows(periods)).await?;
    add_counters(tx, "budget_spend_hour", "hour", 0, &rows(hours)).await
}

fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// Adds amounts to counter rows of `shard`, creating them as needed. A budget's spend is the
/// sum over its shards: each group commit in flight adds to its own (migration 0030), so
/// commits do not queue on each other's row locks through their WAL flushes.
async fn add_counters(
    tx: &mut Transaction<'_, Postgres>,
    table: &str,
    at_column: &str,
    shard: i16,
    deltas: &HashMap<(i64, DateTime<Utc>), Amounts>,
) -> sqlx::Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    // Sorted, so concurrent group commits lock the counter rows in the same order.
    let mut sorted: Vec<_> = deltas.iter().collect();
    sorted.sort_unstable_by_key(|(k, _)| **k);
    let (mut ids, mut ats, mut costs, mut tokens, mut requests) =
        (vec![], vec![], vec![], vec![], vec![]);
    for ((id, at), a) in sorted {
        ids.push(*id);
        ats.push(*at);
        costs.push(a.cost_micros);
        tokens.push(a.tokens);
        requests.push(a.requests);
    }
    sqlx::query(&format!(
        "INSERT INTO {table} AS s (budget_id, {at_column}, shard, cost_micros, tokens, requests)
         SELECT u.id, u.at, $6, u.cost, u.tokens, u.requests
         FROM UNNEST($1::int8[], $2::timestamptz[], $3::int8[], $4::int8[], $5::int8[])
            AS u (id, at, cost, tokens, requests)
         ON CONFLICT (budget_id, {at_column}, shard) DO UPDATE SET
            cost_micros = s.cost_micros + excluded.cost_micros,
            tokens = s.tokens + excluded.tokens,
            requests = s.requests + excluded.requests"
    ))
    .bind(ids)
    .bind(ats)
    .bind(costs)
    .bind(tokens)
    .bind(requests)
    .bind(shard)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// In the ingest transaction: adds newly stored calls to the counters (in `shard`) of every
/// budget whose scope they match, and settles the reservations they carry (their ids).
pub async fn count_calls(
    tx: &mut Transaction<'_, Postgres>,
    calls: &[&NewCall],
    shard: i16,
) -> sqlx::Result<()> {
    if calls.is_empty() {
        return Ok(());
    }
    let settled: Vec<&str> = calls
        .iter()
        .map(|n| n.call.id.as_str())
        .filter(|id| id.starts_with(RESERVATION_PREFIX))
        .collect();
    if !settled.is_empty() {
        // -infinity: expired reservations are the sweeper's, not this transaction's.
        sqlx::query("SELECT sl_budget_release($1, '-infinity')")
            .bind(&settled)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(COUNTERS_LOCK)
        .execute(&mut **tx)
        .await?;
    let budgets = list(&mut **tx).await?;
    if budgets.is_empty() {
        return Ok(());
    }
    let mut periods: HashMap<(i64, DateTime<Utc>), Amounts> = HashMap::new();
    let mut hours: HashMap<(i64, DateTime<Utc>), Amounts> = HashMap::new();
    // Many calls against many budgets: each (budget, model) pattern test and each (budget,
    // quarter hour) period is worked out once per batch. Every UTC offset is a multiple of
    // 15 minutes, so calls in one quarter hour share their period.
    let mut model_ok: HashMap<(usize, &str), bool> = HashMap::new();
    let mut period_of: HashMap<(usize, i64), DateTime<Utc>> = HashMap::new();
    // Hourly counters only feed the burn rate: older calls (a back-fill) skip them.
    let hours_from = hour_of(Utc::now()) - Duration::hours(HOURS_KEPT);
    for n in calls {
        let c: &Call = &n.call;
        let facts = Facts {
            provider: &c.provider,
            model: &c.model,
            feature: c.feature.as_deref(),
            user: c.user_id.as_deref(),
            api_key_id: n.api_key_id,
        };
        let amounts = Amounts::call(c.cost_total_micros, c.input_tokens, c.output_tokens);
        let quarter = c.time.timestamp().div_euclid(900);
        let hour = hour_of(c.time);
        for (i, b) in budgets.iter().enumerate() {
            if !budget::matches_except_model(&b.spec.scope, &facts) {
                continue;
            }
            if let Some(pattern) = b.spec.scope.model.as_deref() {
                let ok = *model_ok
                    .entry((i, c.model.as_str()))
                    .or_insert_with(|| pattern_matches(pattern, &c.model));
                if !ok {
                    continue;
                }
            }
            let start = *period_of
                .entry((i, quarter))
                .or_insert_with(|| budget::window(c.time, b.spec.calendar(), b.spec.tz).start);
            periods.entry((b.id, start)).or_default().add(amounts);
            if hour >= hours_from {
                hours.entry((b.id, hour)).or_default().add(amounts);
            }
        }
    }
    add_counters(tx, "budget_spend_period", "period_start", shard, &periods).await?;
    add_counters(tx, "budget_spend_hour", "hour", shard, &hours).await
}

/// Spend of a budget's scope in `w`, per hour or per local day, from the calls themselves
/// (one budget's chart; the counters keep no finer history).
pub async fn series(
    pool: &PgPool,
    spec: &Spec,
    w: Window,
    daily: bool,
) -> sqlx::Result<Vec<(DateTime<Utc>, Amounts)>> {
    let model = spec.scope.model.as_deref().map(like_pattern);
    let rows: Vec<(chrono::NaiveDateTime, i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT date_trunc($8, c.time AT TIME ZONE $9),
            coalesce(sum(coalesce(c.cost_total_micros, 0)), 0)::bigint,
            coalesce(sum(c.input_tokens + c.output_tokens), 0)::bigint, count(*)
         FROM llm_calls c WHERE c.time >= $6 AND c.time < $7 AND {SCOPE_SQL}
         GROUP BY 1 ORDER BY 1"
    ))
    .bind(&spec.scope.provider)
    .bind(&model)
    .bind(&spec.scope.feature)
    .bind(&spec.scope.user)
    .bind(spec.scope.api_key_id)
    .bind(w.start)
    .bind(w.end)
    .bind(if daily { "day" } else { "hour" })
    .bind(spec.tz.name())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(local, cost_micros, tokens, requests)| {
            let at = local.and_local_timezone(spec.tz).earliest()?;
            Some((
                at.with_timezone(&Utc),
                Amounts {
                    cost_micros,
                    tokens,
                    requests,
                },
            ))
        })
        .collect())
}

/// What the status of every budget is built from.
#[derive(Debug, Default)]
pub struct Usage {
    /// Spend per budget and period start.
    pub periods: HashMap<(i64, DateTime<Utc>), Amounts>,
    /// Spend per budget and hour, for the last hours.
    pub hours: HashMap<i64, Vec<(DateTime<Utc>, Amounts)>>,
    /// Held by reservations per budget, in its unit (expired ones until they are swept).
    pub held: HashMap<i64, i64>,
}

/// Reads the counters of `ids` from `oldest` on (three queries, whatever the count).
pub async fn usage(
    pool: &PgPool,
    ids: &[i64],
    oldest: DateTime<Utc>,
    since_hour: DateTime<Utc>,
) -> sqlx::Result<Usage> {
    let mut out = Usage::default();
    let periods: Vec<(i64, DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT budget_id, period_start, sum(cost_micros)::int8, sum(tokens)::int8,
            sum(requests)::int8
         FROM budget_spend_period WHERE budget_id = ANY($1) AND period_start >= $2
         GROUP BY 1, 2",
    )
    .bind(ids)
    .bind(oldest)
    .fetch_all(pool)
    .await?;
    for (id, start, cost_micros, tokens, requests) in periods {
        out.periods.insert(
            (id, start),
            Amounts {
                cost_micros,
                tokens,
                requests,
            },
        );
    }
    let hours: Vec<(i64, DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT budget_id, hour, sum(cost_micros)::int8, sum(tokens)::int8, sum(requests)::int8
         FROM budget_spend_hour WHERE budget_id = ANY($1) AND hour >= $2 GROUP BY 1, 2",
    )
    .bind(ids)
    .bind(since_hour)
    .fetch_all(pool)
    .await?;
    for (id, hour, cost_micros, tokens, requests) in hours {
        out.hours.entry(id).or_default().push((
            hour,
            Amounts {
                cost_micros,
                tokens,
                requests,
            },
        ));
    }
    let held: Vec<(i64, i64)> =
        sqlx::query_as("SELECT budget_id, held FROM budget_held WHERE budget_id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    out.held = held.into_iter().collect();
    Ok(out)
}

/// One budget's share of a reservation: its id, current period and the amount in its unit.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub budget_id: i64,
    pub period: Window,
    pub amount: i64,
}

/// A budget's limit and use (spent + held) before a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub budget_id: i64,
    pub limit: i64,
    pub used: i64,
    pub need: i64,
}

/// Reserves all of `needs` under `reservation_id`, or nothing: see `sl_budget_reserve`.
/// Returns whether it was granted, and each budget's standing before it.
pub async fn reserve(
    pool: &PgPool,
    reservation_id: &str,
    needs: &[Need],
    ttl: Duration,
) -> sqlx::Result<(bool, Vec<Standing>)> {
    let rows: Vec<(i64, i64, i64, i64)> =
        sqlx::query_as("SELECT * FROM sl_budget_reserve($1, $2, $3, $4, $5)")
            .bind(reservation_id)
            .bind(needs.iter().map(|n| n.budget_id).collect::<Vec<_>>())
            .bind(needs.iter().map(|n| n.period.start).collect::<Vec<_>>())
            .bind(needs.iter().map(|n| n.amount).collect::<Vec<_>>())
            .bind(ttl)
            .fetch_all(pool)
            .await?;
    let standing: Vec<Standing> = rows
        .into_iter()
        .map(|(budget_id, limit, used, need)| Standing {
            budget_id,
            limit,
            used,
            need,
        })
        .collect();
    let granted = standing
        .iter()
        .all(|s| budget::fits(s.used, s.need, s.limit));
    Ok((granted, standing))
}

/// Releases expired reservations and forgets hourly counters older than the burn rate
/// needs.
pub async fn sweep(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("SELECT sl_budget_release('{}', $1)")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM budget_spend_hour WHERE hour < $1")
        .bind(hour_of(now) - Duration::hours(HOURS_KEPT))
        .execute(pool)
        .await?;
    Ok(())
}

/// Records an event unless this budget already has it for the period; true when new.
#[allow(clippy::too_many_arguments)]
pub async fn record_event(
    pool: &PgPool,
    budget_id: i64,
    period_start: DateTime<Utc>,
    kind: BudgetEventKind,
    threshold: u16,
    percent: f64,
    spent: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO budget_events (budget_id, period_start, kind, threshold, percent, spent, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING",
    )
    .bind(budget_id)
    .bind(period_start)
    .bind(match kind {
        BudgetEventKind::Threshold => "threshold",
        BudgetEventKind::Projection => "projection",
    })
    .bind(threshold as i16)
    .bind(percent)
    .bind(spent)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A stored event, with the budget's name and unit.
pub struct EventRow {
    pub id: i64,
    pub budget_id: i64,
    pub budget_name: String,
    pub limit_kind: LimitKind,
    pub period_start: DateTime<Utc>,
    pub kind: BudgetEventKind,
    pub threshold: u16,
    pub percent: f64,
    pub spent: i64,
    pub at: DateTime<Utc>,
}

/// The newest events, of one budget or all.
pub async fn events(
    pool: &PgPool,
    budget_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    type Raw = (
        i64,
        i64,
        String,
        String,
        DateTime<Utc>,
        String,
        i16,
        f64,
        i64,
        DateTime<Utc>,
    );
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT e.id, e.budget_id, b.name, b.limit_kind, e.period_start, e.kind, e.threshold,
            e.percent, e.spent, e.at
         FROM budget_events e JOIN budgets b ON b.id = e.budget_id
         WHERE ($1::bigint IS NULL OR e.budget_id = $1)
         ORDER BY e.at DESC, e.id DESC LIMIT $2",
    )
    .bind(budget_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                budget_id,
                budget_name,
                kind_of_limit,
                period_start,
                kind,
                threshold,
                percent,
                spent,
                at,
            )| {
                EventRow {
                    id,
                    budget_id,
                    budget_name,
                    limit_kind: LimitKind::parse(&kind_of_limit).unwrap_or_default(),
                    period_start,
                    kind: if kind == "projection" {
                        BudgetEventKind::Projection
                    } else {
                        BudgetEventKind::Threshold
                    },
                    threshold: u16::try_from(threshold).unwrap_or(0),
                    percent,
                    spent,
                    at,
                }
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_patterns_become_escaped_like_patterns() {
        assert_eq!(like_pattern("GPT-4o*"), "gpt-4o%");
        assert_eq!(like_pattern("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
