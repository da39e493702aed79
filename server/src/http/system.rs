//! `/api/v1/system`: hosts, their info and latest sample, metrics over a range from the
//! right tier, top processes, GPUs, and the agents' ingest endpoint.

use std::collections::HashMap;

use app::types::{
    system::{
        series_matches, GpuList, HostDetail, HostSummary, MetricsResponse, ProcessList,
        SampleBatch, SampleBatchAccepted, SystemTier,
    },
    MetricsQuery, ProcessQuery, ProcessSort,
};
use axum::{
    extract::{Path, State},
    Json,
};
use chrono::Utc;

use super::{
    error::{ApiError, ApiJson},
    params::{ApiQuery, Limit, RangeParams},
    principal::{Ingester, Reader},
};
use crate::{
    domain::system::Agg,
    state::AppState,
    store,
    system::{rollup::downsample, tier, writer::MAX_BATCH},
};

/// Largest agent batch body (a 10-minute replay at 1 s is about 600 samples).
pub const MAX_BATCH_BODY_BYTES: usize = 8 * 1024 * 1024;
/// How far in the future a sample may be stamped (clock skew between hosts).
const MAX_FUTURE_S: i64 = 300;
/// Default chart width in points, and the most a query may ask for.
const DEFAULT_POINTS: i64 = 300;
const MAX_POINTS: i64 = 5000;
/// Series a query may name at most.
const MAX_PATTERNS: usize = 64;

/// `GET /api/v1/system/hosts`
#[utoipa::path(
    get,
    path = "/api/v1/system/hosts",
    operation_id = "list_hosts",
    summary = "List hosts",
    tag = "system",
    responses((status = 200, description = "Every host that reported", body = Vec<HostSummary>)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn hosts(
    _p: Reader,
    State(state): State<AppState>,
) -> Result<Json<Vec<HostSummary>>, ApiError> {
    Ok(Json(store::system::hosts(&state.pool).await?))
}

async fn find_host(state: &AppState, host: &str) -> Result<HostDetail, ApiError> {
    match store::system::host(&state.pool, host).await? {
        Some((summary, latest)) => Ok(HostDetail { summary, latest }),
        None => Err(ApiError::not_found(format!("no host named '{host}'"))),
    }
}

/// `GET /api/v1/system/hosts/{host}`
#[utoipa::path(
    get,
    path = "/api/v1/system/hosts/{host}",
    operation_id = "get_host",
    summary = "A host and its latest sample",
    tag = "system",
    params(("host" = String, Path, description = "The host's name")),
    responses((status = 200, description = "The host and its latest sample", body = HostDetail)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn host(
    _p: Reader,
    State(state): State<AppState>,
    Path(host): Path<String>,
) -> Result<Json<HostDetail>, ApiError> {
    Ok(Json(find_host(&state, &host).await?))
}

/// `GET /api/v1/system/hosts/{host}/processes?sort=cpu|memory&limit=`
#[utoipa::path(
    get,
    path = "/api/v1/system/hosts/{host}/processes",
    operation_id = "host_processes",
    summary = "A host's top processes",
    tag = "system",
    params(("host" = String, Path, description = "The host's name"), ProcessQuery),
    responses((status = 200, description = "The top processes", body = ProcessList)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn processes(
    _p: Reader,
    State(state): State<AppState>,
    Path(host): Path<String>,
    ApiQuery(q): ApiQuery<ProcessQuery>,
) -> Result<Json<ProcessList>, ApiError> {
    let limit = Limit(q.limit).resolve(20, 100)? as usize;
    let by_memory = q.sort.unwrap_or_default() == ProcessSort::Memory;
    let detail = find_host(&state, &host).await?;
    let (time, mut processes) = detail
        .latest
        .map(|s| (Some(s.time), s.processes))
        .unwrap_or_default();
    if by_memory {
        processes.sort_by_key(|p| std::cmp::Reverse(p.memory));
    } else {
        processes.sort_by(|a, b| b.cpu.total_cmp(&a.cpu));
    }
    processes.truncate(limit);
    Ok(Json(ProcessList { time, processes }))
}

/// `GET /api/v1/system/hosts/{host}/gpus`
#[utoipa::path(
    get,
    path = "/api/v1/system/hosts/{host}/gpus",
    operation_id = "host_gpus",
    summary = "A host's GPUs",
    tag = "system",
    params(("host" = String, Path, description = "The host's name")),
    responses((status = 200, description = "The host's GPUs", body = GpuList)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn gpus(
    _p: Reader,
    State(state): State<AppState>,
    Path(host): Path<String>,
) -> Result<Json<GpuList>, ApiError> {
    let gpus = find_host(&state, &host)
        .await?
        .latest
        .map(|s| s.gpus)
        .unwrap_or_default();
    let message = gpus.is_empty().then(|| "No GPU detected".to_owned());
    Ok(Json(GpuList { gpus, message }))
}

/// `*` in a series pattern, as a LIKE pattern with LIKE's own wildcards escaped.
fn like_pattern(p: &str) -> String {
    let escaped = p
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match escaped.strip_suffix('*') {
        Some(prefix) => format!("{prefix}%"),
        None => escaped,
    }
}

/// `GET /api/v1/system/hosts/{host}/metrics?range=1h|from=&to=&series=cpu.total,net.*&points=300`
#[utoipa::path(
    get,
    path = "/api/v1/system/hosts/{host}/metrics",
    operation_id = "host_metrics",
    summary = "A host's metric series",
    tag = "system",
    params(("host" = String, Path, description = "The host's name"), MetricsQuery),
    responses((status = 200, description = "Series over the range", body = MetricsResponse)),
    security(("api_key" = ["read"]), ("session" = []))
)]
pub async fn metrics(
    _p: Reader,
    State(state): State<AppState>,
    Path(host): Path<String>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<MetricsResponse>, ApiError> {
    let (from, to) =
        RangeParams::new(q.from, q.to, q.range).resolve(chrono::Duration::days(1), Utc::now())?;
    let points = match q.points.map(i64::from) {
        Some(n) if (1..=MAX_POINTS).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_param(
                "points",
                format!("points must be 1 to {MAX_POINTS}"),
            ))
        }
        None => DEFAULT_POINTS,
    };
    let patterns: Vec<String> = q
        .series
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if patterns.is_empty() || patterns.len() > MAX_PATTERNS {
        return Err(ApiError::bad_param(
            "series",
            format!("name 1 to {MAX_PATTERNS} series, e.g. series=cpu.total,cpu.core:*"),
        ));
    }
    find_host(&state, &host).await?;
    let min_step = state.config.system.interval.as_secs().max(1) as i64;
    let (tier, step_s) = tier::plan(
        from,
        to,
        Utc::now(),
        points,
        min_step,
        &state.config.system.retention,
    );
    let series = match tier {
        SystemTier::Raw => {
            let rows = store::system::raw(&state.pool, &host, from, to, tier::MAX_RAW_ROWS).await?;
            let mut names: HashMap<i32, Vec<(usize, String)>> = HashMap::new();
            let mut pts = Vec::new();
            for (t, set_id, vals) in rows {
                if let std::collections::hash_map::Entry::Vacant(e) = names.entry(set_id) {
                    let all = store::system::set_names(&state.pool, set_id).await?;
                    e.insert(
                        all.into_iter()
                            .enumerate()
                            .filter(|(_, n)| patterns.iter().any(|p| series_matches(p, n)))
                            .collect(),
                    );
                }
                for (i, n) in &names[&set_id] {
                    if let Some(v) = vals.get(*i) {
                        pts.push((t, n.clone(), Agg::of(*v, t)));
                    }
                }
            }
            downsample(pts, step_s)
        }
        SystemTier::Minute | SystemTier::Hour => {
            let like: Vec<String> = patterns.iter().map(|p| like_pattern(p)).collect();
            let rows = store::system::rollups(&state.pool, tier, &host, from, to, &like).await?;
            downsample(rows, step_s)
        }
    };
    Ok(Json(MetricsResponse {
        host,
        from,
        to,
        tier,
        step_s,
        series,
    }))
}

pub fn validate_batch(
    batch: &SampleBatch,
    raw_retention: chrono::Duration,
) -> Result<(), ApiError> {
    let h = &batch.host.hostname;
    if h.trim().is_empty() || h.len() > 253 || h.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "host.hostname",
            "hostname must be 1 to 253 printable characters",
        ));
    }
    if batch.samples.is_empty() || batch.samples.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "samples",
            format!("send 1 to {MAX_BATCH} samples per batch"),
        ));
    }
    let now = Utc::now();
    for (i, s) in batch.samples.iter().enumerate() {
        if s.time > now + chrono::Duration::seconds(MAX_FUTURE_S) {
            return Err(ApiError::invalid(
                &format!("samples[{i}].time"),
                "time is more than 5 minutes in the future (check the host's clock)",
            ));
        }
        if s.time < now - raw_retention {
            return Err(ApiError::invalid(
                &format!("samples[{i}].time"),
                "time is older than the raw-sample retention",
            ));
        }
        if s.cpu.cores.len() > 4096
            || s.processes.len() > 200
            || s.gpus.len() > 64
            || s.filesystems.len() > MAX_ITEMS
            || s.disks.len() > MAX_ITEMS
            || s.networks.len() > MAX_ITEMS
            || s.tcp.len() > 32
        {
            return Err(ApiError::invalid(
                &format!("samples[{i}]"),
                "too many cores, processes, GPUs, filesystems, disks, interfaces or TCP states in one sample",
            ));
        }
        if let Some(field) = bad_sample_name(s) {
            return Err(ApiError::invalid(
                &format!("samples[{i}].{field}"),
                format!("{field} names must be at most {MAX_NAME} printable characters"),
            ));
        }
    }
    let host = &batch.host;
    for (field, v) in [
        ("os", &host.os),
        ("os_version", &host.os_version),
        ("kernel", &host.kernel),
        ("arch", &host.arch),
        ("cpu_model", &host.cpu_model),
    ] {
        if !fair_name(v) {
            return Err(ApiError::invalid(
                &format!("host.{field}"),
                format!("{field} must be at most {MAX_NAME} printable characters"),
            ));
        }
    }
    Ok(())
}

/// Filesystems, disks or interfaces in one sample at most.
const MAX_ITEMS: usize = 256;
/// Characters in any name a sample carries (a mount, a device, a process).
const MAX_NAME: usize = 256;

fn fair_name(s: &str) -> bool {
    s.chars().count() <= MAX_NAME && !s.chars().any(char::is_control)
}

/// The first list in a sample with a name that is too long or holds control characters.
fn bad_sample_name(s: &app::types::system::SystemSample) -> Option<&'static str> {
    let fs = s.filesystems.iter().flat_map(|f| [&f.mount, &f.device]);
    if !fs.into_iter().all(|n| fair_name(n)) {
        return Some("filesystems");
    }
    if !s.disks.iter().all(|d| fair_name(&d.device)) {
        return Some("disks");
    }
    if !s.networks.iter().all(|n| fair_name(&n.iface)) {
        return Some("networks");
    }
    if !s.processes.iter().all(|p| fair_name(&p.name)) {
        return Some("processes");
    }
    if !s.gpus.iter().all(|g| fair_name(&g.name)) {
        return Some("gpus");
    }
    if !s.tcp.keys().all(|k| fair_name(k)) {
        return Some("tcp");
    }
    None
}

/// `POST /api/v1/system/samples`: a batch from an agent (API key or logged-in user).
#[utoipa::path(
    post,
    path = "/api/v1/system/samples",
    operation_id = "ingest_system_samples",
    summary = "Report system samples",
    tag = "system",
    request_body = SampleBatch,
    responses((status = 200, description = "Every sample stored", body = SampleBatchAccepted)),
    security(("api_key" = ["ingest"]), ("session" = []))
)]
pub async fn ingest(
    Ingester(principal): Ingester,
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<SampleBatch>,
) -> Result<Json<SampleBatchAccepted>, ApiError> {
    validate_batch(&batch, state.config.system.retention.raw)?;
    if !principal.may_report_for(&batch.host.hostname) {
        return Err(ApiError::forbidden(
            "host_not_allowed",
            "this API key is bound to another host",
        )
        .with_field("host.hostname"));
    }
    let accepted = state
        .system
        .write(&batch.host, &batch.samples, false)
        .await?;
    Ok(Json(SampleBatchAccepted { accepted }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_patterns_become_escaped_like_patterns() {
        assert_eq!(like_pattern("cpu.core:*"), "cpu.core:%");
        assert_eq!(like_pattern("fs.used:/data_1"), "fs.used:/data\\_1");
        assert_eq!(like_pattern("a%b*"), "a\\%b%");
    }
}
