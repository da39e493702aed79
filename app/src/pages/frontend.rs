//! The Frontend page: what real browsers saw on the monitored sites (the dashboard itself
//! included, as `sightline`): each Web Vital's 75th percentile and distribution against the
//! good / needs improvement / poor thresholds, every page's percentiles, and JavaScript
//! errors and failed API calls grouped by message and stack top over time. Site, page and
//! range live in the URL; figures reload while reports of the shown site come in.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    api::{self, live, url_encode_component},
    charts,
    components::{
        chart::{EChart, Palette},
        load::{Load, LoadStatus},
        range::{Range, RangePicker, PRESETS},
        throttle::Throttle,
    },
    format,
    pages::alerts::when,
    types::{
        frontend::{FrontendOverview, Rating, VitalSummary},
        live::BrowserTopic,
    },
};

const RELOAD_EVERY_MS: i64 = 3000;
/// The vitals' distribution charts: name, element id and the unit of the x axis.
const VITALS: [(&str, &str, &str); 5] = [
    ("LCP", "chart-lcp", "milliseconds"),
    ("INP", "chart-inp", "milliseconds"),
    ("CLS", "chart-cls", "layout-shift score"),
    ("FCP", "chart-fcp", "milliseconds"),
    ("TTFB", "chart-ttfb", "milliseconds"),
];

/// What each vital measures, for the cards.
fn long_name(name: &str) -> &'static str {
    match name {
        "LCP" => "Largest Contentful Paint",
        "INP" => "Interaction to Next Paint",
        "CLS" => "Cumulative Layout Shift",
        "FCP" => "First Contentful Paint",
        "TTFB" => "Time to First Byte",
        _ => "",
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Shares in the card's legend: whole percents keep the three on one line.
fn whole_percent(f: f64) -> String {
    format!("{:.0} %", f * 100.0)
}

fn rating_class(r: Option<Rating>) -> String {
    format!("rating rating-{}", r.map_or("none", Rating::class))
}

#[component]
fn VitalCard(v: VitalSummary) -> impl IntoView {
    let value = v
        .p75
        .map_or_else(|| "—".to_owned(), |p| format::vital(p, &v.unit));
    let n = v.samples;
    let parts = [
        (Rating::Good, v.good),
        (Rating::NeedsImprovement, v.needs_improvement),
        (Rating::Poor, v.poor),
    ];
    let thresholds = format!(
        "good ≤ {} · poor > {}",
        format::vital(v.good_max, &v.unit),
        format::vital(v.poor_above, &v.unit)
    );
    view! {
        <section class="card stat vital-card" data-testid=format!("vital-{}", v.name.to_lowercase())>
            <h2 class="stat-label" title=long_name(&v.name)>{v.name.clone()} " " <span class="muted">"p75"</span></h2>
            <p class=format!("stat-value {}", rating_class(v.rating))>{value}</p>
            <p class="stat-foot muted">
                {v.rating.map_or("No page loads yet".to_owned(), |r| r.label().to_owned())}
                {(n > 0).then(|| format!(" · {} page load{}", format::count(n as i64), if n == 1 { "" } else { "s" }))}
            </p>
            <div class="share-bar" role="img"
                aria-label=format!("Good {}, needs improvement {}, poor {}",
                    format::percent(share(v.good, n)), format::percent(share(v.needs_improvement, n)), format::percent(share(v.poor, n)))>
                {parts.into_iter().filter(|(_, c)| *c > 0).map(|(r, c)| view! {
                    <span class=format!("share share-{}", r.class()) style=format!("width: {:.2}%", share(c, n) * 100.0)
                        title=format!("{}: {}", r.label(), format::percent(share(c, n)))></span>
                }).collect_view()}
            </div>
            <p class="stat-foot muted share-legend">
                <span class="dot dot-good"></span>{whole_percent(share(v.good, n))}
                <span class="dot dot-ni"></span>{whole_percent(share(v.needs_improvement, n))}
                <span class="dot dot-poor"></span>{whole_percent(share(v.poor, n))}
            </p>
            <p class="stat-foot muted">{thresholds}</p>
        </section>
    }
}

#[component]
pub fn FrontendPage() -> impl IntoView {
    let url = use_query_map();
    let navigate = use_navigate();
    let range = Signal::derive(move || {
        url.with(|m| Range::from_query_in(PRESETS, "24h", |k| m.get_str(k)))
    });
    let wanted_site = Signal::derive(move || url.with(|m| m.get("site")));
    let page = Signal::derive(move || url.with(|m| m.get("page")));
    let data = RwSignal::new(None::<FrontendOverview>);
    let load = RwSignal::new(Load::Loading);
    let throttle = Throttle::new(RELOAD_EVERY_MS);

    let fetch = move || {
        let mut params = range.get_untracked().api_params();
        for (k, v) in [
            ("site", wanted_site.get_untracked()),
            ("page", page.get_untracked()),
        ] {
            if let Some(v) = v {
                params.push((k, v));
            }
        }
        throttle.mark();
        spawn_local(async move {
            match api::frontend_overview(params).await {
                Ok(f) => {
                    data.set(Some(f));
                    load.set(Load::Ready);
                }
                Err(e) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        range.track();
        wanted_site.track();
        page.track();
        load.set(Load::Loading);
        fetch();
    });
    Effect::new(move |_| {
        live::subscribe::<BrowserTopic>(move |msg| match msg {
            live::LiveMessage::Data(tick) => {
                if !range.get_untracked().ends_now() {
                    return;
                }
                let shown = data.with_untracked(|d| d.as_ref().and_then(|d| d.site.clone()));
                if shown.is_none_or(|s| tick.sites.contains(&s)) {
                    throttle.tick(fetch);
                }
            }
            live::LiveMessage::Resync => fetch(),
        });
    });

    let go = move |site: Option<String>, page: Option<String>| {
        let mut q = range.get_untracked().url_query();
        if let Some(s) = site {
            q.push_str(&format!("&site={}", url_encode_component(&s)));
        }
        if let Some(p) = page {
            q.push_str(&format!("&page={}", url_encode_component(&p)));
        }
        navigate(&format!("/frontend{q}"), Default::default());
    };
    let shown_site = move || data.with_untracked(|d| d.as_ref().and_then(|d| d.site.clone()));
    let go_site = go.clone();
    let pick_site = move |ev: leptos::ev::Event| go_site(Some(event_target_value(&ev)), None);
    let go_page = StoredValue::new(go.clone());
    let open_page =
        Callback::new(move |p: String| go_page.with_value(|g| g(shown_site(), Some(p))));
    let go_clear = StoredValue::new(go);
    let clear_page = move |_| go_clear.with_value(|g| g(shown_site(), None));

    let has_sites = move || data.with(|d| d.as_ref().is_some_and(|d| !d.sites.is_empty()));
    let no_sites = move || load.get().is_ready() && !has_sites();
    let vitals = move || data.with(|d| d.as_ref().map(|d| d.vitals.clone()).unwrap_or_default());
    let errors = move || data.with(|d| d.as_ref().map(|d| d.errors.clone()).unwrap_or_default());
    let pages = move || data.with(|d| d.as_ref().map(|d| d.pages.clone()).unwrap_or_default());
    let label = move |what: String| {
        Signal::derive(move || format!("{what}, {}", range.get().describe().to_lowercase()))
    };
    let origin = move || {
        #[cfg(feature = "hydrate")]
        {
            web_sys::window()
                .and_then(|w| w.location().origin().ok())
                .unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        String::new()
    };

    view! {
        <Title text="Frontend" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Frontend"</h1>
                <p class="muted">
                    "Web Vitals and errors from real browsers · "
                    {move || range.get().describe()}
                    {move || range.get().ends_now().then(|| view! {
                        " · " <span class="live-dot" aria-hidden="true"></span> " live"
                    })}
                </p>
            </div>
            <div class="toolbar">
                <Show when=has_sites>
                    <label class="host-picker">
                        <span class="muted">"Site"</span>
                        <select on:change=pick_site.clone() aria-label="Site" data-testid="site-picker">
                            {move || data.with(|d| d.as_ref().map(|d| {
                                let chosen = d.site.clone();
                                d.sites.iter().map(|s| {
                                    let selected = chosen.as_deref() == Some(s.site.as_str());
                                    view! { <option value=s.site.clone() selected=selected>{s.site.clone()}</option> }
                                }).collect_view()
                            }))}
                        </select>
                    </label>
                </Show>
                <RangePicker range presets=PRESETS />
            </div>
        </div>
        <LoadStatus load what="frontend figures" retry=Callback::new(move |_| fetch()) />
        <Show when=no_sites>
            <section class="card empty-state" data-testid="no-sites">
                <h2>"No browser has reported in this range"</h2>
                <p class="muted">
                    "Create a key with the " <strong>"Browser"</strong> " scope on the "
                    <a href="/settings/api-keys">"API keys"</a> " page, allow your site's origin with "
                    <code>"--browser-origins"</code> ", and add one tag to its pages:"
                </p>
                <pre class="snippet">{move || format!(
                    "<script async src=\"{}/sdk/vitals.js\"\n        data-key=\"sl_…\" data-site=\"shop\"></script>",
                    origin()
                )}</pre>
            </section>
        </Show>
        <Show when=has_sites>
            {move || page.get().map(|p| view! {
                <p class="filter-chip" data-testid="page-filter">
                    <span>"Page: " <span class="mono">{p}</span></span>
                    <button type="button" class="button button-ghost" on:click=clear_page>"Show all pages"</button>
                </p>
            })}
            <div class="stat-grid">
                {move || vitals().into_iter().map(|v| view! { <VitalCard v /> }).collect_view()}
            </div>
            <div class="chart-grid chart-grid-small">
                {VITALS.iter().map(|(name, id, unit)| {
                    let what = format!("{name} distribution in {unit}: page loads per range of values, coloured good, needs improvement and poor");
                    view! {
                        <section class="card chart-card">
                            <h2>{format!("{name} distribution")} <span class="muted small">{long_name(name)}</span></h2>
                            <EChart id=*id label=label(what)
                                option=move |p: &Palette| data.with(|d| d.as_ref()
                                    .and_then(|d| d.vitals.iter().find(|v| v.name == *name))
                                    .map(|v| charts::vital_distribution(v, p))
                                    .unwrap_or_else(charming::Chart::new)) />
                        </section>
                    }
                }).collect_view()}
            </div>
            <section class="card chart-card">
                <h2>"Errors over time"</h2>
                <EChart id="chart-browser-errors" label=label("JavaScript errors by message and failed API calls per bucket".to_owned())
                    option=move |p: &Palette| data.with(|d| d.as_ref().map(|d| charts::browser_errors(d, p)).unwrap_or_else(charming::Chart::new)) />
            </section>
            <section class="card">
                <div class="card-head"><h2>"Errors"</h2><span class="muted">"grouped by message and stack top"</span></div>
                {move || {
                    let groups = errors();
                    if groups.is_empty() {
                        return view! { <p class="muted" data-testid="no-errors">"No errors in this range."</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="error-groups">
                                <thead><tr>
                                    <th scope="col">"Error"</th>
                                    <th scope="col" class="num">"Count"</th>
                                    <th scope="col">"Last page"</th>
                                    <th scope="col">"Last seen"</th>
                                </tr></thead>
                                <tbody>
                                    {groups.into_iter().map(|g| {
                                        let badge = if g.kind == "api" { "API call" } else { "Script" };
                                        view! {
                                            <tr>
                                                <td data-label="Error">
                                                    <span class=format!("badge badge-{}", if g.kind == "api" { "muted" } else { "scope" })>{badge}</span>
                                                    " " <strong class="error-message">{g.message.clone()}</strong>
                                                    {(!g.stack_top.is_empty()).then(|| view! { <div class="mono muted small">{g.stack_top.clone()}</div> })}
                                                    {g.sample_stack.clone().map(|s| view! {
                                                        <details class="stack"><summary>"Latest stack"</summary><pre class="snippet">{s}</pre></details>
                                                    })}
                                                </td>
                                                <td class="num" data-label="Count">{format::count(g.count as i64)}</td>
                                                <td class="mono" data-label="Last page">{g.last_page.clone()}</td>
                                                <td data-label="Last seen">{when(&g.last_seen)}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <div class="card-head"><h2>"Pages"</h2><span class="muted">"p75 of each vital · choose a page to see it alone"</span></div>
                <div class="table-wrap">
                    <table class="table" data-testid="pages-table">
                        <thead><tr>
                            <th scope="col">"Page"</th>
                            <th scope="col" class="num">"Page loads"</th>
                            {move || vitals().into_iter().map(|v| view! { <th scope="col" class="num">{v.name}</th> }).collect_view()}
                            <th scope="col" class="num">"Errors"</th>
                        </tr></thead>
                        <tbody>
                            {move || {
                                let units: Vec<(String, String)> = vitals().into_iter().map(|v| (v.name, v.unit)).collect();
                                pages().into_iter().map(|p| {
                                    let name = p.page.clone();
                                    let cells = units.iter().zip(p.p75.iter().zip(&p.ratings)).map(|((n, unit), (v, r))| view! {
                                        <td class=format!("num {}", rating_class(*r)) data-label=n.clone()>
                                            {v.map_or_else(|| "—".to_owned(), |v| format::vital(v, unit))}
                                        </td>
                                    }).collect_view();
                                    view! {
                                        <tr>
                                            <td data-label="Page">
                                                <button type="button" class="link-button mono" on:click=move |_| open_page.run(name.clone())>{p.page.clone()}</button>
                                            </td>
                                            <td class="num" data-label="Page loads">{format::count(p.views as i64)}</td>
                                            {cells}
                                            <td class="num" data-label="Errors">{format::count(p.errors as i64)}</td>
                                        </tr>
                                    }
                                }).collect_view()
                            }}
                        </tbody>
                    </table>
                </div>
            </section>
        </Show>
    }
}
