//! The browser layer (pure): Web Vitals and their thresholds, checking a page's report,
//! normalising pages and stack frames so errors group, and folding reports into hourly
//! rollups.

use std::collections::BTreeMap;

use app::types::frontend::{BrowserEvent, BrowserReport, Rating};
use chrono::{DateTime, Duration, Utc};

use super::app_request::{bucket_of, Invalid};
use crate::analytics::histogram::Histogram;

/// Events in one report at most (a page view sends a handful).
pub const MAX_EVENTS: usize = 100;
pub const MAX_SITE: usize = 100;
/// A page as reported may be a full URL; stored pages are paths of at most this.
pub const MAX_RAW_PAGE: usize = 4096;
pub const MAX_PAGE: usize = 200;
pub const MAX_MESSAGE: usize = 500;
pub const MAX_STACK_TOP: usize = 300;
pub const MAX_STACK: usize = 8192;
/// Rollups are hourly: vitals are read over days, not minutes.
pub const STEP: i64 = 3600;

/// The five vitals, Core Web Vitals first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vital {
    Lcp,
    Inp,
    Cls,
    Fcp,
    Ttfb,
}

impl Vital {
    pub const ALL: [Vital; 5] = [Vital::Lcp, Vital::Inp, Vital::Cls, Vital::Fcp, Vital::Ttfb];

    pub fn name(self) -> &'static str {
        match self {
            Vital::Lcp => "LCP",
            Vital::Inp => "INP",
            Vital::Cls => "CLS",
            Vital::Fcp => "FCP",
            Vital::Ttfb => "TTFB",
        }
    }

    pub fn parse(s: &str) -> Option<Vital> {
        Vital::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s.trim()))
    }

    pub fn unit(self) -> &'static str {
        match self {
            Vital::Cls => "",
            _ => "ms",
        }
    }

    /// web.dev's thresholds: good up to the first, poor above the second.
    pub fn thresholds(self) -> (f64, f64) {
        match self {
            Vital::Lcp => (2500.0, 4000.0),
            Vital::Inp => (200.0, 500.0),
            Vital::Cls => (0.1, 0.25),
            Vital::Fcp => (1800.0, 3000.0),
            Vital::Ttfb => (800.0, 1800.0),
        }
    }

    pub fn rate(self, value: f64) -> Rating {
        let (good, poor) = self.thresholds();
        if value <= good {
            Rating::Good
        } else if value <= poor {
            Rating::NeedsImprovement
        } else {
            Rating::Poor
        }
    }

    /// Larger values are measurement errors (a tab left in the background for hours).
    fn max_value(self) -> f64 {
        match self {
            Vital::Cls => 100.0,
            Vital::Inp => 60_000.0,
            _ => 600_000.0,
        }
    }

    /// The histogram counts milliseconds from 0.001 up; CLS is unitless and small, so it
    /// is kept in thousandths.
    pub fn hist_scale(self) -> f64 {
        match self {
            Vital::Cls => 1000.0,
            _ => 1.0,
        }
    }

    /// Distribution bars: their width and how many before the open-ended last one. Every
    /// threshold falls on a bar's edge.
    pub fn bins(self) -> (f64, usize) {
        match self {
            Vital::Lcp => (500.0, 16),
            Vital::Inp => (50.0, 20),
            Vital::Cls => (0.025, 20),
            Vital::Fcp => (300.0, 20),
            Vital::Ttfb => (200.0, 20),
        }
    }
}

/// Where an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// An uncaught error or an unhandled rejection.
    Script,
    /// A failed API call.
    Api,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Script => "error",
            ErrorKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorKind> {
        [ErrorKind::Script, ErrorKind::Api]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VitalRow {
    pub time: DateTime<Utc>,
    pub site: String,
    pub page: String,
    pub vital: Vital,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    pub time: DateTime<Utc>,
    pub site: String,
    pub page: String,
    pub kind: ErrorKind,
    pub message: String,
    pub stack_top: String,
    pub stack: Option<String>,
}

/// A checked report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    pub vitals: Vec<VitalRow>,
    pub errors: Vec<ErrorRow>,
}

impl Checked {
    pub fn len(&self) -> usize {
        self.vitals.len() + self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> BadField {
    BadField {
        field: field.into(),
        message: message.into(),
    }
}

/// A refused report: the field (`events[3].value`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadField {
    pub field: String,
    pub message: String,
}

impl From<(usize, Invalid)> for BadField {
    fn from((i, e): (usize, Invalid)) -> Self {
        invalid(format!("events[{i}].{}", e.field), e.message)
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// One line, no control characters, whitespace runs collapsed.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A path segment that names one record rather than a page: numbers, UUIDs, long hex or
/// long tokens with digits.
fn is_id(segment: &str) -> bool {
    let digits = segment.chars().filter(char::is_ascii_digit).count();
    let hex = segment.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (!segment.is_empty() && digits == segment.len())
        || (hex && segment.len() >= 16 && digits > 0)
        || (segment.len() >= 20 && digits >= 4)
}

/// A reported page as stored: its path only (no origin, query or fragment), ids collapsed
/// to `:id` so `/orders/1` and `/orders/2` are one page.
pub fn normalize_page(raw: &str) -> String {
    let raw = raw.trim();
    let no_origin = match raw.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => raw,
    };
    let path = no_origin
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .trim_end_matches('/');
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if is_id(s) {
                ":id".to_owned()
            } else {
                one_line(s)
            }
        })
        .collect();
    truncate(&format!("/{}", segments.join("/")), MAX_PAGE)
}

/// A URL in a stack frame without its origin and query, so one script served from two
/// hosts or with a cache-busting query groups as one.
fn strip_url(frame: &str) -> String {
    let mut out = String::with_capacity(frame.len());
    let mut rest = frame;
    while let Some(i) = rest.find("://") {
        let scheme_start = rest[..i]
            .char_indices()
            .rfind(|(_, c)| !c.is_ascii_alphanumeric())
            .map_or(0, |(j, c)| j + c.len_utf8());
        out.push_str(&rest[..scheme_start]);
        let after = &rest[i + 3..];
        let host_end = after
            .find(|c: char| c == '/' || c == ')' || c.is_whitespace())
            .unwrap_or(after.len());
        let tail = &after[host_end..];
        // Drop `?query` up to the `:line:col` or the end of the URL.
        let url_end = tail
            .find(|c: char| c == ')' || c.is_whitespace())
            .unwrap_or(tail.len());
        let url = &tail[..url_end];
        match url.find('?') {
            Some(q) => {
                out.push_str(&url[..q]);
                let after_q = &url[q..];
                if let Some(pos) = after_q.find(':') {
                    out.push_str(&after_q[pos..]);
                }
            }
            None => out.push_str(url),
        }
        rest = &tail[url_end..];
    }
    out.push_str(rest);
    out
}

/// The first frame of a stack (V8's `at fn (url:1:2)`, Firefox's and Safari's
/// `fn@url:1:2`), or the `source` the browser gave; empty when neither.
pub fn stack_top(stack: Option<&str>, source: Option<&str>) -> String {
    let frame = stack.and_then(|s| {
        s.lines().map(str::trim).find_map(|l| {
            if let Some(f) = l.strip_prefix("at ") {
                Some(f)
            } else if l.contains('@') && l.contains(':') {
                Some(l)
            } else {
                None
            }
        })
    });
    let frame = frame.or(source.map(str::trim).filter(|s| !s.is_empty()));
    frame.map_or_else(String::new, |f| {
        truncate(&one_line(&strip_url(f)), MAX_STACK_TOP)
    })
}

/// An error message as grouped: one line, without the `Uncaught ` some browsers prefix.
pub fn normalize_message(raw: &str) -> String {
    let line = one_line(raw);
    let line = line.strip_prefix("Uncaught ").unwrap_or(&line);
    truncate(line, MAX_MESSAGE)
}

fn check_site(raw: Option<&str>, fallback: Option<&str>) -> Result<String, BadField> {
    let site = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(fallback)
        .unwrap_or("unknown");
    if site.chars().count() > MAX_SITE || site.chars().any(char::is_control) {
        return Err(invalid(
            "site",
            format!("site must be at most {MAX_SITE} printable characters"),
        ));
    }
    Ok(site.to_owned())
}

fn bad(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn check_page(raw: &str) -> Result<String, Invalid> {
    if raw.len() > MAX_RAW_PAGE {
        return Err(bad(
            "page",
            format!("page must be at most {MAX_RAW_PAGE} bytes"),
        ));
    }
    Ok(normalize_page(raw))
}

/// Checks a report, stamping every event with `now` (browser clocks cannot be trusted).
/// `fallback_site` names the site when the report does not (the page's host). The first bad
/// event refuses the whole report.
pub fn check(
    report: &BrowserReport,
    fallback_site: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Checked, BadField> {
    if report.events.is_empty() || report.events.len() > MAX_EVENTS {
        return Err(invalid(
            "events",
            format!("send 1 to {MAX_EVENTS} events per report"),
        ));
    }
    let site = check_site(report.site.as_deref(), fallback_site)?;
    let mut out = Checked::default();
    for (i, event) in report.events.iter().enumerate() {
        match event {
            BrowserEvent::Vital { name, value, page } => {
                let vital = Vital::parse(name).ok_or_else(|| {
                    BadField::from((
                        i,
                        bad("name", "name must be one of LCP, INP, CLS, FCP, TTFB"),
                    ))
                })?;
                if !value.is_finite() || *value < 0.0 || *value > vital.max_value() {
                    return Err((
                        i,
                        bad(
                            "value",
                            format!(
                                "value must be a number from 0 to {} for {}",
                                vital.max_value(),
                                vital.name()
                            ),
                        ),
                    )
                        .into());
                }
                out.vitals.push(VitalRow {
                    time: now,
                    site: site.clone(),
                    page: check_page(page).map_err(|e| BadField::from((i, e)))?,
                    vital,
                    value: *value,
                });
            }
            BrowserEvent::Error {
                message,
                stack,
                source,
                page,
            } => {
                let message = normalize_message(message);
                if message.is_empty() {
                    return Err((i, bad("message", "message is required")).into());
                }
                out.errors.push(ErrorRow {
                    time: now,
                    site: site.clone(),
                    page: check_page(page).map_err(|e| BadField::from((i, e)))?,
                    kind: ErrorKind::Script,
                    message,
                    stack_top: stack_top(stack.as_deref(), source.as_deref()),
                    stack: stack
                        .as_deref()
                        .map(|s| truncate(s.trim(), MAX_STACK))
                        .filter(|s| !s.is_empty()),
                });
            }
            BrowserEvent::Api {
                method,
                url,
                status,
                duration_ms,
                page,
            } => {
                let method = method.trim().to_ascii_uppercase();
                if method.is_empty()
                    || method.len() > 16
                    || !method.chars().all(|c| c.is_ascii_alphabetic())
                {
                    return Err((i, bad("method", "method must be an HTTP method")).into());
                }
                if !(*status == 0 || (400..=599).contains(status)) {
                    return Err((
                        i,
                        bad(
                            "status",
                            "status must be 400 to 599, or 0 when no answer came",
                        ),
                    )
                        .into());
                }
                if !duration_ms.is_finite() || *duration_ms < 0.0 {
                    return Err((i, bad("duration_ms", "duration_ms must be 0 or more")).into());
                }
                let endpoint =
                    check_page(url).map_err(|e| BadField::from((i, bad("url", e.message))))?;
                let outcome = if *status == 0 {
                    "no answer".to_owned()
                } else {
                    status.to_string()
                };
                out.errors.push(ErrorRow {
                    time: now,
                    site: site.clone(),
                    page: check_page(page).map_err(|e| BadField::from((i, e)))?,
                    kind: ErrorKind::Api,
                    message: truncate(&format!("{method} {endpoint} → {outcome}"), MAX_MESSAGE),
                    stack_top: String::new(),
                    stack: None,
                });
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VitalKey {
    pub site: String,
    pub bucket: DateTime<Utc>,
    pub page: String,
    pub vital: Vital,
}

/// One vital of one page in one hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VitalAgg {
    pub samples: u64,
    pub good: u64,
    pub needs_improvement: u64,
    pub poor: u64,
    pub sum: f64,
    /// Values times [`Vital::hist_scale`].
    pub hist: Histogram,
    pub last_seen: Option<DateTime<Utc>>,
}

impl VitalAgg {
    pub fn add(&mut self, vital: Vital, value: f64, time: DateTime<Utc>) {
        self.samples += 1;
        match vital.rate(value) {
            Rating::Good => self.good += 1,
            Rating::NeedsImprovement => self.needs_improvement += 1,
            Rating::Poor => self.poor += 1,
        }
        self.sum += value;
        self.hist.record(value * vital.hist_scale());
        self.last_seen = self.last_seen.max(Some(time));
    }

    pub fn merge(&mut self, other: &VitalAgg) {
        self.samples += other.samples;
        self.good += other.good;
        self.needs_improvement += other.needs_improvement;
        self.poor += other.poor;
        self.sum += other.sum;
        self.hist.merge(&other.hist);
        self.last_seen = self.last_seen.max(other.last_seen);
    }

    /// The `q` quantile in the vital's own unit.
    pub fn quantile(&self, vital: Vital, q: f64) -> Option<f64> {
        self.hist.quantile(q).map(|v| v / vital.hist_scale())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ErrorKey {
    pub site: String,
    pub bucket: DateTime<Utc>,
    pub page: String,
    pub kind: ErrorKind,
    pub message: String,
    pub stack_top: String,
}

/// Occurrences of one error on one page in one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorAgg {
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub sample_stack: Option<String>,
}

fn hour() -> Duration {
    Duration::seconds(STEP)
}

/// Vitals folded per site, hour, page and vital, in key order (one upsert per row, locked
/// in the same order by concurrent writers).
pub fn fold_vitals(rows: &[VitalRow]) -> BTreeMap<VitalKey, VitalAgg> {
    let mut out: BTreeMap<VitalKey, VitalAgg> = BTreeMap::new();
    for r in rows {
        let key = VitalKey {
            site: r.site.clone(),
            bucket: bucket_of(r.time, hour()),
            page: r.page.clone(),
            vital: r.vital,
        };
        out.entry(key).or_default().add(r.vital, r.value, r.time);
    }
    out
}

/// Errors folded per site, hour, page, kind, message and stack top, in key order.
pub fn fold_errors(rows: &[ErrorRow]) -> BTreeMap<ErrorKey, ErrorAgg> {
    let mut out: BTreeMap<ErrorKey, ErrorAgg> = BTreeMap::new();
    for r in rows {
        let key = ErrorKey {
            site: r.site.clone(),
            bucket: bucket_of(r.time, hour()),
            page: r.page.clone(),
            kind: r.kind,
            message: r.message.clone(),
            stack_top: r.stack_top.clone(),
        };
        out.entry(key)
            .and_modify(|a| {
                a.count += 1;
                a.first_seen = a.first_seen.min(r.time);
                if r.time >= a.last_seen {
                    a.last_seen = r.time;
                    if r.stack.is_some() {
                        a.sample_stack.clone_from(&r.stack);
                    }
                }
            })
            .or_insert_with(|| ErrorAgg {
                count: 1,
                first_seen: r.time,
                last_seen: r.time,
                sample_stack: r.stack.clone(),
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vital(name: &str, value: f64, page: &str) -> BrowserEvent {
        BrowserEvent::Vital {
            name: name.into(),
            value,
            page: page.into(),
        }
    }

    fn report(events: Vec<BrowserEvent>) -> BrowserReport {
        BrowserReport {
            key: None,
            site: Some("shop".into()),
            events,
        }
    }

    #[test]
    fn ratings_follow_the_standard_thresholds() {
        assert_eq!(Vital::Lcp.rate(2500.0), Rating::Good);
        assert_eq!(Vital::Lcp.rate(2501.0), Rating::NeedsImprovement);
        assert_eq!(Vital::Lcp.rate(4000.0), Rating::NeedsImprovement);
        assert_eq!(Vital::Lcp.rate(4001.0), Rating::Poor);
        assert_eq!(Vital::Cls.rate(0.1), Rating::Good);
        assert_eq!(Vital::Cls.rate(0.26), Rating::Poor);
        assert_eq!(Vital::Inp.rate(350.0), Rating::NeedsImprovement);
        assert_eq!(Vital::Ttfb.rate(1900.0), Rating::Poor);
        assert_eq!(Vital::Fcp.rate(1000.0), Rating::Good);
        // Every threshold is a bar edge of the distribution.
        for v in Vital::ALL {
            let (w, _) = v.bins();
            let (g, p) = v.thresholds();
            for t in [g, p] {
                let n = t / w;
                assert!((n - n.round()).abs() < 1e-9, "{v:?} {t}");
            }
        }
        assert_eq!(Vital::parse("lcp"), Some(Vital::Lcp));
        assert_eq!(Vital::parse("FID"), None);
    }

    #[test]
    fn pages_lose_origin_query_and_ids() {
        assert_eq!(
            normalize_page("https://shop.example.com/cart?x=1#top"),
            "/cart"
        );
        assert_eq!(normalize_page("/orders/12345/items/"), "/orders/:id/items");
        assert_eq!(
            normalize_page("/u/3f2a9c1e-8b7d-4c6a-9e0f-1a2b3c4d5e6f"),
            "/u/:id"
        );
        assert_eq!(normalize_page("/blog/hello-world"), "/blog/hello-world");
        assert_eq!(normalize_page(""), "/");
        assert_eq!(normalize_page("https://x.example"), "/");
        assert_eq!(normalize_page("/a/b\nc"), "/a/b c");
        assert!(
            normalize_page(&format!("/{}", "a".repeat(500)))
                .chars()
                .count()
                <= MAX_PAGE
        );
    }

    #[test]
    fn stack_tops_group_across_hosts_and_cache_busters() {
        let v8 = "TypeError: x is undefined\n    at render (https://a.example/app.js?v=3:10:5)\n    at main (https://a.example/app.js:1:1)";
        assert_eq!(stack_top(Some(v8), None), "render (/app.js:10:5)");
        let v8_other_host = v8
            .replace("a.example", "cdn.example")
            .replace("?v=3", "?v=4");
        assert_eq!(
            stack_top(Some(&v8_other_host), None),
            "render (/app.js:10:5)"
        );
        let firefox = "render@https://a.example/app.js:10:5\nmain@https://a.example/app.js:1:1";
        assert_eq!(stack_top(Some(firefox), None), "render@/app.js:10:5");
        assert_eq!(
            stack_top(None, Some("https://a.example/x.js:3:4")),
            "/x.js:3:4"
        );
        assert_eq!(stack_top(Some("no frames here"), None), "");
        assert_eq!(
            normalize_message("Uncaught TypeError:  a\n b"),
            "TypeError: a b"
        );
    }

    #[test]
    fn reports_are_checked_field_by_field() {
        let now = Utc::now();
        let ok = check(
            &report(vec![
                vital("LCP", 1800.0, "/"),
                BrowserEvent::Error {
                    message: "Boom".into(),
                    stack: Some("Error: Boom\n at f (https://s/app.js:1:2)".into()),
                    source: None,
                    page: "/cart?id=1".into(),
                },
                BrowserEvent::Api {
                    method: "post".into(),
                    url: "https://api.example/orders/991?x=1".into(),
                    status: 503,
                    duration_ms: 12.0,
                    page: "/cart".into(),
                },
            ]),
            None,
            now,
        )
        .unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok.vitals[0].site, "shop");
        assert_eq!(ok.errors[0].stack_top, "f (/app.js:1:2)");
        assert_eq!(ok.errors[0].page, "/cart");
        assert_eq!(ok.errors[1].message, "POST /orders/:id → 503");
        assert_eq!(ok.errors[1].kind, ErrorKind::Api);

        let field =
            |events: Vec<BrowserEvent>| check(&report(events), None, now).unwrap_err().field;
        assert_eq!(field(vec![]), "events");
        assert_eq!(field(vec![vital("FID", 1.0, "/")]), "events[0].name");
        assert_eq!(
            field(vec![vital("LCP", 1.0, "/"), vital("CLS", -0.1, "/")]),
            "events[1].value"
        );
        assert_eq!(field(vec![vital("LCP", f64::NAN, "/")]), "events[0].value");
        assert_eq!(
            field(vec![vital("LCP", 1.0, &"a".repeat(MAX_RAW_PAGE + 1))]),
            "events[0].page"
        );
        let api = |status| BrowserEvent::Api {
            method: "GET".into(),
            url: "/x".into(),
            status,
            duration_ms: 1.0,
            page: "/".into(),
        };
        assert_eq!(field(vec![api(200)]), "events[0].status");
        assert!(check(&report(vec![api(0)]), None, now).is_ok());
        let blank = BrowserEvent::Error {
            message: "  ".into(),
            stack: None,
            source: None,
            page: "/".into(),
        };
        assert_eq!(field(vec![blank]), "events[0].message");
        assert_eq!(
            field(vec![vital("LCP", 1.0, "/"); MAX_EVENTS + 1]),
            "events"
        );
        // No site: the page's host names it.
        let mut r = report(vec![vital("TTFB", 100.0, "/")]);
        r.site = None;
        assert_eq!(
            check(&r, Some("shop.example.com"), now).unwrap().vitals[0].site,
            "shop.example.com"
        );
        r.site = Some("x".repeat(MAX_SITE + 1));
        assert_eq!(check(&r, None, now).unwrap_err().field, "site");
    }

    #[test]
    fn folding_counts_ratings_and_keeps_the_latest_stack() {
        let t0 = "2026-12-01T10:05:00Z".parse::<DateTime<Utc>>().unwrap();
        let row = |value, minutes| VitalRow {
            time: t0 + Duration::minutes(minutes),
            site: "shop".into(),
            page: "/".into(),
            vital: Vital::Lcp,
            value,
        };
        let folded = fold_vitals(&[
            row(1000.0, 0),
            row(3000.0, 10),
            row(5000.0, 20),
            row(900.0, 60),
        ]);
        assert_eq!(folded.len(), 2, "two hours");
        let first = folded.values().next().unwrap();
        assert_eq!(
            (
                first.samples,
                first.good,
                first.needs_improvement,
                first.poor
            ),
            (3, 1, 1, 1)
        );
        let p75 = first.quantile(Vital::Lcp, 0.75).unwrap();
        assert!((p75 - 5000.0).abs() / 5000.0 < 0.02, "{p75}");
        let cls = fold_vitals(&[VitalRow {
            vital: Vital::Cls,
            value: 0.12,
            ..row(0.0, 0)
        }]);
        let q = cls
            .values()
            .next()
            .unwrap()
            .quantile(Vital::Cls, 0.75)
            .unwrap();
        assert!((q - 0.12).abs() < 0.003, "{q}");

        let err = |minutes, stack: Option<&str>| ErrorRow {
            time: t0 + Duration::minutes(minutes),
            site: "shop".into(),
            page: "/".into(),
            kind: ErrorKind::Script,
            message: "Boom".into(),
            stack_top: "f (/a.js:1:1)".into(),
            stack: stack.map(Into::into),
        };
        let errors = fold_errors(&[err(5, Some("old")), err(1, None), err(9, Some("new"))]);
        let e = errors.values().next().unwrap();
        assert_eq!(e.count, 3);
        assert_eq!(e.first_seen, t0 + Duration::minutes(1));
        assert_eq!(e.last_seen, t0 + Duration::minutes(9));
        assert_eq!(e.sample_stack.as_deref(), Some("new"));
    }
}
