//! The request layer: counts, latencies and in-flight requests by route template (axum's
//! matched path, never the raw path, so labels stay bounded), method and status class.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Registry, Unit},
};

use super::{latency_histogram, Metrics};

/// The route label of requests no route matched (static files, not-found pages).
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<str>,
    method: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    seconds: Family<RequestLabels, Histogram, fn() -> Histogram>,
    in_flight: Family<RouteLabels, Gauge>,
}

impl HttpMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status class",
            requests.clone(),
        );
        let seconds: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival until its response headers, by route template, \
             method and status class",
            Unit::Seconds,
            seconds.clone(),
        );
        let in_flight = Family::<RouteLabels, Gauge>::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being handled now, by route template",
            in_flight.clone(),
        );
        Self {
            requests,
            seconds,
            in_flight,
        }
    }
}

/// Takes a place among the requests in flight and gives it back when dropped, so a
/// request whose client went away is not counted for ever.
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Methods by name; anything else is `other`, so a client cannot make new series.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Middleware for `Router::layer`, where the matched path is already known.
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let arrived = chrono::Utc::now();
    let route: Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| Arc::from(UNMATCHED), |p| Arc::from(p.as_str()));
    let method = method_label(req.method());
    let http = &metrics.http;
    let gauge = http
        .in_flight
        .get_or_create(&RouteLabels {
            route: Arc::clone(&route),
        })
        .clone();
    gauge.inc();
    let _in_flight = InFlight(gauge);
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    metrics
        .own_requests
        .note(arrived, &route, method, status, elapsed * 1000.0);
    let labels = RequestLabels {
        route,
        method,
        status: status_class(status),
    };
    http.requests.get_or_create(&labels).inc();
    http.seconds.get_or_create(&labels).observe(elapsed);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(599), "5xx");
        assert_eq!(status_class(1000), "5xx");
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
