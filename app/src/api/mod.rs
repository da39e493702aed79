//! The typed client of Sightline's REST API, one function per query or command. In the
//! browser it calls `/api/v1` with gloo-net; these functions are only called from the
//! browser (through `LocalResource` and event handlers), so the server build has stubs.

use crate::types::{
    ApiKey, CallPage, CreateApiKey, CreatedApiKey, ErrorBody, ProviderInfo, ProviderUpsert,
    Readiness,
};

pub mod live;

/// A failed call: the HTTP status (0 when the request never got an answer) and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401
    }
    pub fn message(&self) -> &str {
        &self.body.message
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub async fn list_api_keys() -> ApiResult<Vec<ApiKey>> {
    client::get("/api/v1/keys").await
}

pub async fn create_api_key(req: CreateApiKey) -> ApiResult<CreatedApiKey> {
    client::post("/api/v1/keys", &req).await
}

pub async fn revoke_api_key(id: i64) -> ApiResult<ApiKey> {
    client::delete(&format!("/api/v1/keys/{id}")).await
}

/// Filters of the calls list, as query parameters (empty values are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallQuery {
    pub model: String,
    pub provider: String,
    pub status: String,
    pub session_id: String,
    pub user_id: String,
    pub feature: String,
    /// How far back: `15m`, `1h`, `24h`, `7d`, `30d`, or empty for all time.
    pub since: String,
    pub cursor: Option<String>,
}

impl CallQuery {
    /// The filters that are set, as (name, value) pairs: the API's and the page URL's.
    pub fn filters(&self) -> Vec<(&'static str, String)> {
        [
            ("model", &self.model),
            ("provider", &self.provider),
            ("status", &self.status),
            ("session_id", &self.session_id),
            ("user_id", &self.user_id),
            ("feature", &self.feature),
            ("since", &self.since),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect()
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut out = self.filters();
        if let Some(c) = &self.cursor {
            out.push(("cursor", c.clone()));
        }
        out.push(("limit", "50".to_owned()));
        out
    }

    /// Reads the filters from a page URL's query.
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let v = |k: &str| get(k).unwrap_or("").to_owned();
        CallQuery {
            model: v("model"),
            provider: v("provider"),
            status: v("status"),
            session_id: v("session_id"),
            user_id: v("user_id"),
            feature: v("feature"),
            since: v("since"),
            cursor: None,
        }
    }

    /// The query string of the page URL that shows these filters.
    pub fn url_query(&self) -> String {
        let mut s = url_encode_pairs(&self.filters());
        if !s.is_empty() {
            s.insert(0, '?');
        }
        s
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986); a segment that is
/// only dots is encoded too, or the browser would resolve `..` before sending it.
pub fn url_encode_component(s: &str) -> String {
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn url_encode_pairs(pairs: &[(&str, String)]) -> String {
    let enc = url_encode_component;
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn list_calls(query: CallQuery) -> ApiResult<CallPage> {
    client::get_with("/api/v1/llm/calls", query.params()).await
}

pub async fn list_budgets() -> ApiResult<Vec<crate::types::Budget>> {
    client::get("/api/v1/budgets").await
}

pub async fn budget_series(id: i64) -> ApiResult<crate::types::BudgetSeries> {
    client::get(&format!("/api/v1/budgets/{id}/series")).await
}

pub async fn create_budget(req: crate::types::BudgetInput) -> ApiResult<crate::types::Budget> {
    client::post("/api/v1/budgets", &req).await
}

pub async fn update_budget(
    id: i64,
    req: crate::types::BudgetInput,
) -> ApiResult<crate::types::Budget> {
    client::put(&format!("/api/v1/budgets/{id}"), &req).await
}

pub async fn delete_budget(id: i64) -> ApiResult<crate::types::Budget> {
    client::delete(&format!("/api/v1/budgets/{id}")).await
}

pub async fn budget_events(budget_id: Option<i64>) -> ApiResult<Vec<crate::types::BudgetEvent>> {
    let params = budget_id
        .map(|id| vec![("budget_id", id.to_string())])
        .unwrap_or_default();
    client::get_with("/api/v1/budgets/events", params).await
}

pub async fn rate_limits() -> ApiResult<crate::types::RateLimits> {
    client::get("/api/v1/rate-limits").await
}

pub async fn save_rate_limits(
    limits: crate::types::RateLimits,
) -> ApiResult<crate::types::RateLimits> {
    client::put("/api/v1/rate-limits", &limits).await
}

pub async fn list_providers() -> ApiResult<Vec<ProviderInfo>> {
    client::get("/api/v1/providers").await
}

pub async fn save_provider(name: String, body: ProviderUpsert) -> ApiResult<ProviderInfo> {
    client::put(&format!("/api/v1/providers/{name}"), &body).await
}

pub async fn delete_provider(name: String) -> ApiResult<ProviderInfo> {
    client::delete(&format!("/api/v1/providers/{name}")).await
}

/// Sessions in a range (see [`crate::components::range::Range::api_params`]), newest first.
pub async fn list_sessions(
    mut params: Vec<(&'static str, String)>,
    user_id: String,
    cursor: Option<String>,
) -> ApiResult<crate::types::SessionPage> {
    if !user_id.trim().is_empty() {
        params.push(("user_id", user_id.trim().to_owned()));
    }
    if let Some(c) = cursor {
        params.push(("cursor", c));
    }
    params.push(("limit", "50".to_owned()));
    client::get_with("/api/v1/sessions", params).await
}

pub async fn session(id: String) -> ApiResult<crate::types::SessionDetail> {
    client::get(&format!("/api/v1/sessions/{}", url_encode_component(&id))).await
}

pub async fn delete_session(id: String) -> ApiResult<crate::types::SessionDeleted> {
    client::delete(&format!("/api/v1/sessions/{}", url_encode_component(&id))).await
}

/// The newest `limit` calls.
pub async fn recent_calls(limit: u32) -> ApiResult<CallPage> {
    client::get_with("/api/v1/llm/calls", vec![("limit", limit.to_string())]).await
}

/// `/api/v1/analytics` (figures per group and bucket) for a range given as page-URL
/// parameters.
pub async fn aggregation(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::Aggregation> {
    client::get_with("/api/v1/analytics", params).await
}

/// Where a report downloads from: a plain link, fetched by the browser with the session.
pub fn export_url(params: &[(&str, String)]) -> String {
    format!("/api/v1/reports/export?{}", url_encode_pairs(params))
}

/// `/api/v1/analytics/overview` for a range given as page-URL parameters.
pub async fn overview(params: Vec<(&'static str, String)>) -> ApiResult<crate::types::Overview> {
    client::get_with("/api/v1/analytics/overview", params).await
}

pub async fn system_hosts() -> ApiResult<Vec<crate::types::system::HostSummary>> {
    client::get("/api/v1/system/hosts").await
}

pub async fn system_host(host: String) -> ApiResult<crate::types::system::HostDetail> {
    client::get(&format!(
        "/api/v1/system/hosts/{}",
        url_encode_component(&host)
    ))
    .await
}

/// A host's metrics over a range given as page-URL parameters.
pub async fn system_metrics(
    host: String,
    mut params: Vec<(&'static str, String)>,
    series: &[&str],
) -> ApiResult<crate::types::system::MetricsResponse> {
    params.push(("series", series.join(",")));
    client::get_with(
        &format!(
            "/api/v1/system/hosts/{}/metrics",
            url_encode_component(&host)
        ),
        params,
    )
    .await
}

/// One service's request figures (`/api/v1/apps`) over a range given as page-URL
/// parameters, optionally narrowed to a route.
pub async fn apps_overview(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::apps::AppsOverview> {
    client::get_with("/api/v1/apps", params).await
}

/// AI workers (`/api/v1/workers`): the list and the counts by state.
pub async fn workers_overview(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::workers::WorkersOverview> {
    client::get_with("/api/v1/workers", params).await
}

/// Model health (`/api/v1/models/health`) over a range, with drift against a baseline.
pub async fn model_health(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::models::ModelHealthOverview> {
    client::get_with("/api/v1/models/health", params).await
}

/// Active users, session lengths and top users (`/api/v1/analytics/users`).
pub async fn users_overview(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::UsersOverview> {
    client::get_with("/api/v1/analytics/users", params).await
}

/// Forgets a worker.
pub async fn delete_worker(name: &str) -> ApiResult<crate::types::workers::Worker> {
    client::delete(&format!("/api/v1/workers/{}", url_encode_component(name))).await
}

/// Sightline's own database figures (`/api/v1/database`) over a preset range.
pub async fn database_overview(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::database::DatabaseOverview> {
    client::get_with("/api/v1/database", params).await
}

pub async fn frontend_overview(
    params: Vec<(&'static str, String)>,
) -> ApiResult<crate::types::frontend::FrontendOverview> {
    client::get_with("/api/v1/frontend", params).await
}

pub mod bench {
    //! `/api/v1/benchmarks/...`
    use super::{client, ApiResult};
    use crate::types::bench::{BenchModels, BenchRunDetail, BenchRunInput, BenchRunSummary};

    pub async fn models() -> ApiResult<BenchModels> {
        client::get("/api/v1/benchmarks/models").await
    }
    pub async fn runs() -> ApiResult<Vec<BenchRunSummary>> {
        client::get("/api/v1/benchmarks").await
    }
    pub async fn run(id: i64) -> ApiResult<BenchRunDetail> {
        client::get(&format!("/api/v1/benchmarks/{id}")).await
    }
    pub async fn start(input: BenchRunInput) -> ApiResult<BenchRunSummary> {
        client::post("/api/v1/benchmarks", &input).await
    }
    pub async fn cancel(id: i64) -> ApiResult<BenchRunSummary> {
        client::post(&format!("/api/v1/benchmarks/{id}/cancel"), &()).await
    }
}

pub mod gpu {
    //! `/api/v1/gpu/...`
    use super::{client, url_encode_component, ApiResult};
    use crate::types::gpu::{GpuAttribution, GpuBinding, GpuBindingInput};

    pub async fn attribution(params: Vec<(&'static str, String)>) -> ApiResult<GpuAttribution> {
        client::get_with("/api/v1/gpu/attribution", params).await
    }
    pub async fn put_binding(provider: &str, input: &GpuBindingInput) -> ApiResult<GpuBinding> {
        let url = format!("/api/v1/gpu/bindings/{}", url_encode_component(provider));
        client::put(&url, input).await
    }
    pub async fn delete_binding(provider: &str) -> ApiResult<GpuBinding> {
        let url = format!("/api/v1/gpu/bindings/{}", url_encode_component(provider));
        client::delete(&url).await
    }
}

pub mod schedules {
    //! `/api/v1/reports/schedules/...`
    use super::{client, ApiResult};
    use crate::types::schedule::{ReportSchedule, ReportScheduleInput, ReportSent};

    pub async fn list() -> ApiResult<Vec<ReportSchedule>> {
        client::get("/api/v1/reports/schedules").await
    }
    pub async fn create(input: ReportScheduleInput) -> ApiResult<ReportSchedule> {
        client::post("/api/v1/reports/schedules", &input).await
    }
    pub async fn delete(id: i64) -> ApiResult<ReportSchedule> {
        client::delete(&format!("/api/v1/reports/schedules/{id}")).await
    }
    pub async fn send(id: i64) -> ApiResult<ReportSent> {
        client::post(&format!("/api/v1/reports/schedules/{id}/send"), &()).await
    }
}

pub mod alerts {
    //! `/api/v1/alerts/...`
    use super::{client, ApiResult};
    use crate::types::alert::{
        AlertEvent, AlertRule, AlertRuleInput, Channel, ChannelInput, Delivery, Inbox, MetricInfo,
        RuleSeries, Silence, SilenceInput,
    };

    pub async fn rules() -> ApiResult<Vec<AlertRule>> {
        client::get("/api/v1/alerts/rules").await
    }
    pub async fn rule(id: i64) -> ApiResult<AlertRule> {
        client::get(&format!("/api/v1/alerts/rules/{id}")).await
    }
    pub async fn create_rule(r: AlertRuleInput) -> ApiResult<AlertRule> {
        client::post("/api/v1/alerts/rules", &r).await
    }
    pub async fn update_rule(id: i64, r: AlertRuleInput) -> ApiResult<AlertRule> {
        client::put(&format!("/api/v1/alerts/rules/{id}"), &r).await
    }
    pub async fn delete_rule(id: i64) -> ApiResult<AlertRule> {
        client::delete(&format!("/api/v1/alerts/rules/{id}")).await
    }
    pub async fn rule_series(id: i64) -> ApiResult<RuleSeries> {
        client::get(&format!("/api/v1/alerts/rules/{id}/series")).await
    }
    pub async fn metrics() -> ApiResult<Vec<MetricInfo>> {
        client::get("/api/v1/alerts/metrics").await
    }
    /// Transitions, newest first; `params` are the history filters.
    pub async fn history(params: Vec<(&'static str, String)>) -> ApiResult<Vec<AlertEvent>> {
        client::get_with("/api/v1/alerts/history", params).await
    }
    pub async fn silences() -> ApiResult<Vec<Silence>> {
        client::get("/api/v1/alerts/silences").await
    }
    pub async fn create_silence(s: SilenceInput) -> ApiResult<Silence> {
        client::post("/api/v1/alerts/silences", &s).await
    }
    pub async fn end_silence(id: i64) -> ApiResult<serde_json::Value> {
        client::delete(&format!("/api/v1/alerts/silences/{id}")).await
    }
    pub async fn channels() -> ApiResult<Vec<Channel>> {
        client::get("/api/v1/alerts/channels").await
    }
    pub async fn create_channel(c: ChannelInput) -> ApiResult<Channel> {
        client::post("/api/v1/alerts/channels", &c).await
    }
    pub async fn delete_channel(id: i64) -> ApiResult<serde_json::Value> {
        client::delete(&format!("/api/v1/alerts/channels/{id}")).await
    }
    pub async fn test_channel(id: i64) -> ApiResult<Delivery> {
        client::post(
            &format!("/api/v1/alerts/channels/{id}/test"),
            &serde_json::json!({}),
        )
        .await
    }
    pub async fn deliveries(channel_id: i64) -> ApiResult<Vec<Delivery>> {
        client::get_with(
            "/api/v1/alerts/deliveries",
            vec![
                ("channel_id", channel_id.to_string()),
                ("limit", "10".into()),
            ],
        )
        .await
    }
    pub async fn notices() -> ApiResult<Inbox> {
        client::get("/api/v1/alerts/notices").await
    }
    pub async fn mark_read() -> ApiResult<Inbox> {
        client::post("/api/v1/alerts/notices/read", &serde_json::json!({})).await
    }
}

pub async fn readiness() -> ApiResult<Readiness> {
    client::get("/readyz").await
}

#[cfg(feature = "hydrate")]
mod client {
    use super::{ApiError, ApiResult};
    use crate::types::ErrorBody;
    use gloo_net::http::{Request, Response};
    use serde::{de::DeserializeOwned, Serialize};

    fn network(e: gloo_net::Error) -> ApiError {
        ApiError {
            status: 0,
            body: ErrorBody {
                error: "network".into(),
                message: format!("cannot reach Sightline: {e}"),
                field: None,
            },
        }
    }

    async fn decode<T: DeserializeOwned>(resp: Response) -> ApiResult<T> {
        let status = resp.status();
        if resp.ok() {
            return resp.json::<T>().await.map_err(network);
        }
        // Readiness answers 503 with a regular body; everything else with ErrorBody.
        let text = resp.text().await.unwrap_or_default();
        if let Ok(body) = serde_json::from_str::<T>(&text) {
            return Ok(body);
        }
        let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
            error: "http".into(),
            message: format!("the server answered {status}"),
            field: None,
        });
        Err(ApiError { status, body })
    }

    pub async fn get<T: DeserializeOwned>(url: &str) -> ApiResult<T> {
        decode(Request::get(url).send().await.map_err(network)?).await
    }

    pub async fn get_with<T: DeserializeOwned>(
        url: &str,
        params: Vec<(&'static str, String)>,
    ) -> ApiResult<T> {
        let req = Request::get(url).query(params.iter().map(|(k, v)| (*k, v.as_str())));
        decode(req.send().await.map_err(network)?).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> ApiResult<T> {
        let req = Request::post(url).json(body).map_err(network)?;
        decode(req.send().await.map_err(network)?).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> ApiResult<T> {
        let req = Request::put(url).json(body).map_err(network)?;
        decode(req.send().await.map_err(network)?).await
    }

    pub async fn delete<T: DeserializeOwned>(url: &str) -> ApiResult<T> {
        decode(Request::delete(url).send().await.map_err(network)?).await
    }
}

#[cfg(not(feature = "hydrate"))]
mod client {
    use super::{ApiError, ApiResult};
    use crate::types::ErrorBody;

    fn unavailable<T>() -> ApiResult<T> {
        Err(ApiError {
            status: 0,
            body: ErrorBody {
                error: "unavailable".into(),
                message: "the API client runs in the browser only".into(),
                field: None,
            },
        })
    }

    pub async fn get<T>(_url: &str) -> ApiResult<T> {
        unavailable()
    }
    pub async fn get_with<T>(_url: &str, _params: Vec<(&'static str, String)>) -> ApiResult<T> {
        unavailable()
    }
    pub async fn post<B, T>(_url: &str, _body: &B) -> ApiResult<T> {
        unavailable()
    }
    pub async fn put<B, T>(_url: &str, _body: &B) -> ApiResult<T> {
        unavailable()
    }
    pub async fn delete<T>(_url: &str) -> ApiResult<T> {
        unavailable()
    }
}

#[cfg(test)]
mod tests {
    use super::{url_encode_component, CallQuery};

    #[test]
    fn dot_segments_are_encoded() {
        let cases = [
            ("..", "%2E%2E"),
            (".", "%2E"),
            ("a.b", "a.b"),
            ("a/b", "a%2Fb"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(url_encode_component(raw), encoded);
        }
    }

    #[test]
    fn call_query_leaves_out_empty_filters() {
        let q = CallQuery {
            model: " gpt-4o ".into(),
            status: "error".into(),
            cursor: Some("abc".into()),
            ..Default::default()
        };
        let p = q.params();
        assert_eq!(
            p,
            vec![
                ("model", "gpt-4o".to_owned()),
                ("status", "error".to_owned()),
                ("cursor", "abc".to_owned()),
                ("limit", "50".to_owned()),
            ]
        );
    }

    #[test]
    fn filters_round_trip_through_the_page_url() {
        let q = CallQuery {
            model: "gpt-4o".into(),
            user_id: "a b&c".into(),
            since: "24h".into(),
            ..Default::default()
        };
        assert_eq!(q.url_query(), "?model=gpt-4o&user_id=a%20b%26c&since=24h");
        let pairs = [("model", "gpt-4o"), ("user_id", "a b&c"), ("since", "24h")];
        let back = CallQuery::from_pairs(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v));
        assert_eq!(back, q);
        assert_eq!(CallQuery::default().url_query(), "");
    }
}
