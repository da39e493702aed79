//! The time range of a dashboard, kept in the page URL (`?range=24h` or
//! `?from=2026-11-01&to=2026-11-07`) so a view can be shared and survives reloads.

use leptos::prelude::*;
use leptos_router::{
    hooks::{use_location, use_navigate},
    NavigateOptions,
};

pub const PRESETS: &[(&str, &str)] = &[
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
];
const DEFAULT: &str = "24h";

/// The Database page's presets: the server keeps its pools' minutes for a day.
pub const DB_PRESETS: &[(&str, &str)] = &[
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
];

/// The model health page's presets: the rollups behind it go back 30 days with a baseline.
pub const HEALTH_PRESETS: &[(&str, &str)] = &[
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// The System page's presets: the last five minutes follow every sample live.
pub const SYSTEM_PRESETS: &[(&str, &str)] = &[
    ("5m", "Live: last 5 minutes"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
];

/// A preset ending now, or whole local days from `from` to `to` inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    Preset(String),
    Days { from: String, to: String },
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

impl Range {
    /// From the page URL; anything unknown falls back to the last 24 hours.
    pub fn from_query<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self::from_query_in(PRESETS, DEFAULT, get)
    }

    /// From the page URL, with a page's own presets and default.
    pub fn from_query_in<'a>(
        presets: &[(&str, &str)],
        default: &str,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Self {
        if let (Some(f), Some(t)) = (get("from"), get("to")) {
            if is_date(f) && is_date(t) && f <= t {
                return Range::Days {
                    from: f.to_owned(),
                    to: t.to_owned(),
                };
            }
        }
        let preset = get("range").unwrap_or(default);
        if presets.iter().any(|(k, _)| *k == preset) {
            Range::Preset(preset.to_owned())
        } else {
            Range::Preset(default.to_owned())
        }
    }

    pub fn url_query(&self) -> String {
        match self {
            Range::Preset(p) => format!("?range={p}"),
            Range::Days { from, to } => format!("?from={from}&to={to}"),
        }
    }

    /// Whether the range ends now (live calls extend it).
    pub fn ends_now(&self) -> bool {
        matches!(self, Range::Preset(_))
    }

    pub fn describe(&self) -> String {
        match self {
            Range::Preset(p) => PRESETS
                .iter()
                .chain(SYSTEM_PRESETS)
                .chain(DB_PRESETS)
                .find(|(k, _)| k == p)
                .map_or_else(|| p.clone(), |(_, l)| (*l).to_owned()),
            Range::Days { from, to } if from == to => from.clone(),
            Range::Days { from, to } => format!("{from} to {to}"),
        }
    }

    /// The analytics API's parameters, with the browser's time zone.
    pub fn api_params(&self) -> Vec<(&'static str, String)> {
        let mut out = match self {
            Range::Preset(p) => vec![("range", p.clone())],
            Range::Days { from, to } => vec![
                ("from", local_midnight(from, 0)),
                ("to", local_midnight(to, 1)),
            ],
        };
        out.push(("tz", browser_time_zone()));
        out
    }
}

/// Midnight (local time) of `date` plus `days`, as RFC 3339.
#[cfg(feature = "hydrate")]
fn local_midnight(date: &str, days: u32) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!(
        "{date}T00:00:00"
    )));
    if days > 0 {
        d.set_date(d.get_date() + days);
    }
    d.to_iso_string().as_string().unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
fn local_midnight(date: &str, days: u32) -> String {
    let _ = days;
    format!("{date}T00:00:00Z")
}

/// The browser's IANA zone (`Europe/Berlin`), so days and hours are the viewer's.
#[cfg(feature = "hydrate")]
pub fn browser_time_zone() -> String {
    let fmt = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&fmt.resolved_options(), &"timeZone".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "UTC".to_owned())
}

#[cfg(not(feature = "hydrate"))]
pub fn browser_time_zone() -> String {
    "UTC".to_owned()
}

/// The page's own query parameters (a host, a filter), as `&k=v…`, so changing the range
/// keeps them.
fn other_params(q: &leptos_router::params::ParamsMap) -> String {
    q.into_iter()
        .filter(|(k, _)| !matches!(k.as_ref(), "range" | "from" | "to"))
        .map(|(k, v)| {
            format!(
                "&{}={}",
                crate::api::url_encode_component(k),
                crate::api::url_encode_component(v)
            )
        })
        .collect()
}

/// Preset links and a custom day range; changes go through the URL.
#[component]
pub fn RangePicker(
    range: Signal<Range>,
    /// The preset links; the dashboards' by default.
    #[prop(optional)]
    presets: Option<&'static [(&'static str, &'static str)]>,
    /// Whether a custom day range may be picked (pages whose data spans days).
    #[prop(default = true)]
    days: bool,
) -> impl IntoView {
    let presets = presets.unwrap_or(PRESETS);
    let location = use_location();
    let navigate = use_navigate();
    let (from, set_from) = signal(String::new());
    let (to, set_to) = signal(String::new());
    Effect::new(move |_| {
        if let Range::Days { from, to } = range.get() {
            set_from.set(from);
            set_to.set(to);
        }
    });
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (f, t) = (from.get_untracked(), to.get_untracked());
        let q = Range::from_query_in(presets, DEFAULT, |k| match k {
            "from" => Some(f.as_str()),
            "to" => Some(t.as_str()),
            _ => None,
        });
        if matches!(q, Range::Days { .. }) {
            let path = location.pathname.get_untracked();
            let keep = location.query.with_untracked(other_params);
            navigate(
                &format!("{path}{}{keep}", q.url_query()),
                NavigateOptions::default(),
            );
        }
    };
    view! {
        <div class="range-picker">
            <nav class="segmented" aria-label="Time range">
                {presets
                    .iter()
                    .map(|(key, label)| {
                        let key = *key;
                        let current = move || range.get() == Range::Preset(key.to_owned());
                        view! {
                            <a
                                href=move || {
                                    let keep = location.query.with(other_params);
                                    format!("{}?range={key}{keep}", location.pathname.get())
                                }
                                class:active=current
                                aria-current=move || current().then_some("true")
                                title=*label
                            >
                                {key}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            {days.then(|| view! {
            <form class="range-custom" on:submit=apply aria-label="Custom range">
                <label>
                    <span class="visually-hidden">"From"</span>
                    <input
                        type="date"
                        name="from"
                        required
                        prop:value=from
                        on:input=move |ev| set_from.set(event_target_value(&ev))
                    />
                </label>
                <span class="muted" aria-hidden="true">"–"</span>
                <label>
                    <span class="visually-hidden">"To"</span>
                    <input
                        type="date"
                        name="to"
                        required
                        prop:value=to
                        on:input=move |ev| set_to.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="button button-ghost">"Apply"</button>
            </form>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Range {
        Range::from_query(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    }

    #[test]
    fn ranges_round_trip_through_the_url_and_fall_back_safely() {
        assert_eq!(parse(&[]), Range::Preset("24h".into()));
        assert_eq!(parse(&[("range", "7d")]), Range::Preset("7d".into()));
        assert_eq!(parse(&[("range", "5y")]), Range::Preset("24h".into()));
        let days = parse(&[("from", "2026-11-01"), ("to", "2026-11-07")]);
        assert_eq!(days.url_query(), "?from=2026-11-01&to=2026-11-07");
        assert!(!days.ends_now());
        // Reversed or malformed days are ignored.
        assert_eq!(
            parse(&[("from", "2026-11-07"), ("to", "2026-11-01")]),
            Range::Preset("24h".into())
        );
        assert_eq!(
            parse(&[("from", "yesterday"), ("to", "2026-11-01")]),
            Range::Preset("24h".into())
        );
        assert_eq!(Range::Preset("30d".into()).describe(), "Last 30 days");
        // A page with its own presets keeps to them.
        let sys =
            |v: &str| Range::from_query_in(SYSTEM_PRESETS, "5m", |k| (k == "range").then_some(v));
        assert_eq!(sys("1h"), Range::Preset("1h".into()));
        assert_eq!(sys("30d"), Range::Preset("5m".into()));
        assert_eq!(sys("5m").describe(), "Live: last 5 minutes");
    }
}
