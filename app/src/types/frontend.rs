//! The browser layer: what `/sdk/vitals.js` (and the dashboard itself) reports about page
//! loads (Web Vitals), JavaScript errors and failed API calls, and what the Frontend page
//! reads back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/vitals`: one page view's reports. Browsers send it with `sendBeacon`, which
/// cannot set headers, so the public key may come in the body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BrowserReport {
    /// A key with the `browser` scope (public: it sits in the page's source).
    #[serde(default)]
    pub key: Option<String>,
    /// The site the page belongs to, e.g. `shop`; the page's host name when absent.
    #[serde(default)]
    pub site: Option<String>,
    pub events: Vec<BrowserEvent>,
}

/// One thing a page reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BrowserEvent {
    /// A Web Vital of the page load: `LCP`, `CLS`, `INP`, `FCP` or `TTFB`; milliseconds, CLS
    /// unitless.
    Vital {
        name: String,
        value: f64,
        page: String,
    },
    /// An uncaught error or unhandled promise rejection.
    Error {
        message: String,
        #[serde(default)]
        stack: Option<String>,
        /// `file:line:col` when the browser gave no stack.
        #[serde(default)]
        source: Option<String>,
        page: String,
    },
    /// An API call of the page that failed: an HTTP error status, or no answer (status 0).
    Api {
        method: String,
        url: String,
        status: u16,
        duration_ms: f64,
        page: String,
    },
}

/// The answer to a report: how many events were stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BrowserReportAccepted {
    pub accepted: usize,
}

/// `GET /api/v1/frontend` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct FrontendQuery {
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Accepted for symmetry with the other dashboards; buckets are UTC hours.
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    /// Narrows the vitals and errors to one page (a normalised path, `/users/:id`).
    #[serde(default)]
    pub page: Option<String>,
}

/// How a value rates against a vital's thresholds (web.dev's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

impl Rating {
    pub fn label(self) -> &'static str {
        match self {
            Rating::Good => "Good",
            Rating::NeedsImprovement => "Needs improvement",
            Rating::Poor => "Poor",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Rating::Good => "good",
            Rating::NeedsImprovement => "ni",
            Rating::Poor => "poor",
        }
    }
}

/// A site that reported in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SiteSummary {
    pub site: String,
    /// Page loads that reported a vital (the largest sample count of any vital).
    pub views: u64,
    pub errors: u64,
    pub last_seen: DateTime<Utc>,
}

/// One bar of a vital's distribution: values in `lo..hi` (`hi` None: `lo` and above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VitalBin {
    pub lo: f64,
    pub hi: Option<f64>,
    pub count: u64,
    pub rating: Rating,
}

/// One vital over the range (or a page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VitalSummary {
    /// `LCP`, `CLS`, `INP`, `FCP`, `TTFB`.
    pub name: String,
    /// `ms`, or empty for CLS.
    pub unit: String,
    pub samples: u64,
    /// The 75th percentile (the figure Google rates a page by), from the merged histogram
    /// (within 2 %).
    pub p75: Option<f64>,
    pub rating: Option<Rating>,
    pub good: u64,
    pub needs_improvement: u64,
    pub poor: u64,
    /// Upper bounds of good and of needs improvement.
    pub good_max: f64,
    pub poor_above: f64,
    pub bins: Vec<VitalBin>,
}

/// A page's 75th percentiles, in the order of [`FrontendOverview::vitals`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PageVitals {
    pub page: String,
    pub views: u64,
    pub p75: Vec<Option<f64>>,
    pub ratings: Vec<Option<Rating>>,
    pub errors: u64,
}

/// Errors with one message and stack top (or failed calls to one endpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorGroup {
    /// `error` (uncaught errors and rejections) or `api` (failed API calls).
    pub kind: String,
    pub message: String,
    /// The first frame of the stack (`fn (file:line:col)`); empty when there was none.
    pub stack_top: String,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The page of the latest occurrence, and its whole stack.
    pub last_page: String,
    pub sample_stack: Option<String>,
    /// Occurrences per bucket of [`FrontendOverview::series`].
    pub counts: Vec<u64>,
}

/// One bucket of the error chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBucket {
    pub start: DateTime<Utc>,
    pub errors: u64,
    pub api_failures: u64,
}

/// `GET /api/v1/frontend`: the sites, and for the chosen one its vitals, pages and errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FrontendOverview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub step_s: i64,
    pub sites: Vec<SiteSummary>,
    pub site: Option<String>,
    pub page: Option<String>,
    pub vitals: Vec<VitalSummary>,
    pub pages: Vec<PageVitals>,
    pub errors: Vec<ErrorGroup>,
    pub series: Vec<ErrorBucket>,
}

/// Browser reports just committed, per site (one event per commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BrowserTick {
    pub sites: Vec<String>,
    pub events: usize,
}
