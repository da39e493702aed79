//! Budgets: every budget with its live bar, a form to create and edit (it also works without
//! the WASM, through `POST /budgets/form`), two-step delete, the budget events, and one
//! budget's page with its period chart and history.

use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::{self, live},
    budget_form::BudgetFormValues,
    charts,
    components::{
        budget_meter::{amount, BudgetMeter},
        chart::EChart,
    },
    types::{
        live::{BudgetEventsTopic, BudgetsTopic},
        Budget, BudgetEvent, BudgetEventKind, BudgetMode, BudgetSeries, RateLimit, RateLimits,
        RateSubject,
    },
};

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "in 3 d 4 h", "in 25 min".
fn until(t: &chrono::DateTime<chrono::Utc>) -> String {
    let secs = (*t - crate::format::now()).num_seconds().max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("in {d} d {h} h")
    } else if h > 0 {
        format!("in {h} h {m} min")
    } else {
        format!("in {m} min")
    }
}

fn scope_text(b: &Budget) -> Vec<String> {
    let s = &b.scope;
    let mut out = Vec::new();
    let mut add = |label: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.push(format!("{label}: {v}"));
        }
    };
    add("provider", &s.provider);
    add("model", &s.model);
    add("feature", &s.feature);
    add("user", &s.user);
    if let Some(k) = s.api_key_id {
        out.push(format!("API key #{k}"));
    }
    if out.is_empty() {
        out.push("all calls".into());
    }
    out
}

fn event_text(e: &BudgetEvent) -> String {
    match e.kind {
        BudgetEventKind::Threshold => format!(
            "{} reached {} % of its limit ({:.0} %)",
            e.budget_name,
            e.threshold.unwrap_or(0),
            e.percent
        ),
        BudgetEventKind::Projection => format!(
            "{} is projected to reach {:.0} % of its limit before it resets",
            e.budget_name, e.percent
        ),
    }
}

/// The budgets as loaded: none yet, or the list, or why it could not be.
type Loaded = RwSignal<Option<Result<Vec<Budget>, String>>>;

/// The budgets list, kept live: loaded once, then replaced by each `budgets` message.
fn live_budgets() -> (Loaded, Callback<()>) {
    let data = RwSignal::new(None::<Result<Vec<Budget>, String>>);
    let fetch = Callback::new(move |_| {
        spawn_local(async move {
            data.set(Some(
                api::list_budgets()
                    .await
                    .map_err(|e| e.message().to_owned()),
            ));
        });
    });
    Effect::new(move |_| {
        fetch.run(());
        live::subscribe::<BudgetsTopic>(move |msg| match msg {
            live::LiveMessage::Data(list) => data.set(Some(Ok(list))),
            live::LiveMessage::Resync => fetch.run(()),
        });
    });
    (data, fetch)
}

#[component]
pub fn BudgetsPage() -> impl IntoView {
    let query = use_query_map();
    let (data, fetch) = live_budgets();
    let events = LocalResource::new(|| api::budget_events(None));
    Effect::new(move |_| {
        live::subscribe::<BudgetEventsTopic>(move |_| events.refetch());
    });
    // A form refused without the WASM comes back with its values and error in the URL.
    let initial = query.with_untracked(|q| {
        let has = q.get("error_field").is_some();
        (
            has.then(|| BudgetFormValues::from_pairs(|k| q.get(k))),
            q.get("id").and_then(|v| v.parse::<i64>().ok()),
            q.get("error_field")
                .map(|f| (f, q.get("error").unwrap_or_default())),
            q.get("saved"),
        )
    });
    let (values, editing, error, saved) = initial;
    let form = RwSignal::new(values.unwrap_or_default());
    let editing = RwSignal::new(editing);
    let field_error = RwSignal::new(error);
    let notice = RwSignal::new(saved.map(|name| format!("Budget “{name}” saved.")));
    let confirming = RwSignal::new(None::<i64>);
    let page_error = RwSignal::new(None::<String>);

    let edit = Callback::new(move |b: Budget| {
        form.set(BudgetFormValues::from_budget(&b));
        editing.set(Some(b.id));
        field_error.set(None);
        notice.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("budget-name"))
        {
            use wasm_bindgen::JsCast;
            if let Ok(input) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        }
    });
    let remove = Callback::new(move |id: i64| {
        spawn_local(async move {
            match api::delete_budget(id).await {
                Ok(b) => {
                    confirming.set(None);
                    page_error.set(None);
                    notice.set(Some(format!("Budget “{}” deleted.", b.name)));
                    if editing.get_untracked() == Some(id) {
                        editing.set(None);
                        form.set(BudgetFormValues::default());
                    }
                    fetch.run(());
                }
                Err(e) => page_error.set(Some(format!("Could not delete: {}", e.message()))),
            }
        });
    });

    view! {
        <Title text="Budgets" />
        <div class="page-header page-header-row">
            <div>
                <h1>"Budgets"</h1>
                <p class="muted">
                    "What each team, feature, model or key may spend per day, week or month. "
                    "Hard budgets make the proxy refuse calls that would pass the limit."
                </p>
            </div>
            <span class="live-badge"><span class="live-dot" aria-hidden="true"></span>" live"</span>
        </div>
        {move || notice.get().map(|n| view! { <p class="alert alert-ok" role="status">{n}</p> })}
        {move || page_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e}</p> })}

        <section class="card" aria-labelledby="budgets-title">
            <h2 id="budgets-title">"Budgets"</h2>
            {move || match data.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading budgets…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="alert alert-error" role="alert">
                        <span>"Could not load budgets: " {e}</span>
                        <button type="button" class="button" on:click=move |_| fetch.run(())>"Retry"</button>
                    </div>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty">"No budgets yet. Create one below: a monthly USD limit for everything is a good start."</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="budget-list">
                        {list.into_iter().map(|b| view! { <BudgetItem budget=b confirming edit remove /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>

        <BudgetFormCard form editing field_error notice on_saved=fetch />

        <RateLimitsCard />

        <section class="card" aria-labelledby="events-title">
            <h2 id="events-title">"Budget events"</h2>
            <p class="muted">"Thresholds crossed and projected overruns, once per budget and period."</p>
            {move || match events.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading events…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load events: " {e.message().to_owned()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"No budget events yet."</p> }.into_any(),
                Some(Ok(list)) => view! { <EventList events=list /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn EventList(events: Vec<BudgetEvent>) -> impl IntoView {
    view! {
        <ul class="event-list" data-testid="budget-events">
            {events.into_iter().map(|e| {
                let badge = match e.kind {
                    BudgetEventKind::Threshold if e.threshold.unwrap_or(0) >= 100 => ("badge badge-error", "limit"),
                    BudgetEventKind::Threshold => ("badge badge-warn", "threshold"),
                    BudgetEventKind::Projection => ("badge badge-scope", "projection"),
                };
                view! {
                    <li>
                        <time datetime=e.at.to_rfc3339()>{when(&e.at)}</time>
                        <span class=badge.0>{badge.1}</span>" "
                        {event_text(&e)}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// One budget in the list: name, scope, bar, figures, and its actions.
#[component]
fn BudgetItem(
    budget: Budget,
    confirming: RwSignal<Option<i64>>,
    edit: Callback<Budget>,
    remove: Callback<i64>,
) -> impl IntoView {
    let id = budget.id;
    let st = budget.status.clone();
    let kind = budget.limit_kind;
    let period = match budget.period {
        crate::types::BudgetPeriod::Day => "daily",
        crate::types::BudgetPeriod::Week => "weekly",
        crate::types::BudgetPeriod::Month => "monthly",
    };
    let mode = match (budget.mode, st.blocking, budget.enabled) {
        (_, _, false) => view! { <span class="badge badge-muted">"disabled"</span> }.into_any(),
        (BudgetMode::Hard, true, _) => {
            view! { <span class="badge badge-error" data-testid="blocking">"blocking calls"</span> }
                .into_any()
        }
        (BudgetMode::Hard, false, _) => {
            view! { <span class="badge badge-scope">"hard"</span> }.into_any()
        }
        (BudgetMode::Soft, _, _) => {
            view! { <span class="badge badge-muted">"soft"</span> }.into_any()
        }
    };
    let projection = if let Some(at) = st.limit_reached_at {
        format!("limit reached {} at this rate", when(&at))
    } else {
        format!(
            "projected {} ({:.0} %) at the reset",
            amount(kind, st.projected),
            st.projected_percent
        )
    };
    let name = budget.name.clone();
    let for_edit = budget.clone();
    view! {
        <li class="budget-item" data-testid="budget-item" data-budget=name.clone()>
            <div class="budget-head">
                <h3><a href=format!("/budgets/{id}")>{name.clone()}</a></h3>
                <span class="badges">
                    {mode}
                    <span class="badge badge-muted">{period}</span>
                    {scope_text(&budget).into_iter().map(|s| view! { <span class="badge badge-muted">{s}</span> }).collect_view()}
                </span>
            </div>
            <BudgetMeter budget=budget.clone() />
            <div class="budget-figures">
                <span>
                    <strong data-testid="budget-spent">{amount(kind, st.spent)}</strong>
                    " of " {amount(kind, st.limit)} " · "
                    <strong>{format!("{:.1} %", st.percent)}</strong>
                    {(st.reserved > 0.0).then(|| format!(" · {} reserved", amount(kind, st.reserved)))}
                </span>
                <span>{projection}</span>
                <span>"resets " {until(&st.resets_at)}</span>
            </div>
            <div class="form-actions">
                <button type="button" class="button" on:click=move |_| edit.run(for_edit.clone())>
                    "Edit" <span class="visually-hidden">" " {name.clone()}</span>
                </button>
                {move || if confirming.get() == Some(id) {
                    view! {
                        <span class="confirm">
                            <button type="button" class="button button-danger" on:click=move |_| remove.run(id)>
                                "Delete for good"
                            </button>
                            <button type="button" class="button button-ghost" on:click=move |_| confirming.set(None)>
                                "Keep it"
                            </button>
                        </span>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="button button-danger-ghost" on:click=move |_| confirming.set(Some(id))>
                            "Delete…"
                        </button>
                    }.into_any()
                }}
            </div>
        </li>
    }
}

/// The create / edit form. Without the WASM it posts to `/budgets/form`; with it, it calls
/// the API and shows the server's error beside its field, keeping what was typed.
#[component]
fn BudgetFormCard(
    form: RwSignal<BudgetFormValues>,
    editing: RwSignal<Option<i64>>,
    field_error: RwSignal<Option<(String, String)>>,
    notice: RwSignal<Option<String>>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let input = match form.get_untracked().to_input() {
            Ok(i) => i,
            Err(e) => {
                field_error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        let id = editing.get_untracked();
        spawn_local(async move {
            let result = match id {
                Some(id) => api::update_budget(id, input).await,
                None => api::create_budget(input).await,
            };
            match result {
                Ok(b) => {
                    field_error.set(None);
                    notice.set(Some(format!("Budget “{}” saved.", b.name)));
                    form.set(BudgetFormValues::default());
                    editing.set(None);
                    on_saved.run(());
                }
                Err(e) => field_error.set(Some((
                    e.body.field.clone().unwrap_or_default(),
                    e.message().to_owned(),
                ))),
            }
            busy.set(false);
        });
    };
    // Each field's error, matched on the API's field name.
    let error_for = move |api_field: &'static str| {
        move || {
            field_error
                .get()
                .filter(|(f, _)| f == api_field)
                .map(|(_, m)| m)
        }
    };
    let invalid = move |api_field: &'static str| {
        move || {
            field_error
                .get()
                .is_some_and(|(f, _)| f == api_field)
                .to_string()
        }
    };
    // An error on a field the form does not show (or none named) goes above the button.
    let other_error = move || {
        field_error.get().and_then(|(f, m)| {
            (!crate::budget_form::FIELDS.iter().any(|(_, api)| *api == f)).then_some(m)
        })
    };
    // Each field: its label, the control (the value is an attribute too, so the server
    // renders it for a form shown again without the WASM), and its error outside the label
    // so the error does not become part of the field's name.
    macro_rules! text_field {
        ($label:expr, $name:literal, $api:literal, $field:ident, $placeholder:expr, $class:literal) => {
            view! {
                <div class=concat!("field ", $class)>
                    <label for=concat!("budget-", $name)>{$label}</label>
                    <input
                        type="text"
                        name=$name
                        id=concat!("budget-", $name)
                        placeholder=$placeholder
                        value=move || form.with(|f| f.$field.clone())
                        prop:value=move || form.with(|f| f.$field.clone())
                        on:input=move |ev| form.update(|f| f.$field = event_target_value(&ev))
                        aria-invalid=invalid($api)
                        aria-describedby=concat!("budget-", $name, "-error")
                    />
                    <span class="field-error" id=concat!("budget-", $name, "-error") role="alert">{error_for($api)}</span>
                </div>
            }
        };
    }
    macro_rules! select_field {
        ($label:expr, $name:literal, $api:literal, $field:ident, [$(($value:literal, $text:literal)),*]) => {
            view! {
                <div class="field">
                    <label for=concat!("budget-", $name)>{$label}</label>
                    <select
                        name=$name
                        id=concat!("budget-", $name)
                        on:change=move |ev| form.update(|f| f.$field = event_target_value(&ev))
                        aria-invalid=invalid($api)
                        aria-describedby=concat!("budget-", $name, "-error")
                    >
                        $(<option value=$value selected=move || form.with(|f| f.$field == $value)>{$text}</option>)*
                    </select>
                    <span class="field-error" id=concat!("budget-", $name, "-error") role="alert">{error_for($api)}</span>
                </div>
            }
        };
    }
    view! {
        <section class="card" aria-labelledby="budget-form-title">
            <h2 id="budget-form-title">
                {move || if editing.get().is_some() { "Edit budget" } else { "New budget" }}
            </h2>
            <form class="form" method="post" action="/budgets/form" on:submit=on_submit novalidate>
                {move || editing.get().map(|id| view! { <input type="hidden" name="id" value=id.to_string() /> })}
                <div class="form-grid">
                    {text_field!("Name", "name", "name", name, "e.g. Support bot, monthly", "field-wide")}
                    {text_field!(view! { "Provider " <span class="muted">"(any)"</span> }, "provider", "scope.provider", provider, "e.g. openai", "")}
                    {text_field!(view! { "Model " <span class="muted">"(any; * as wildcard)"</span> }, "model", "scope.model", model, "e.g. gpt-4o*", "")}
                    {text_field!(view! { "Feature " <span class="muted">"(any)"</span> }, "feature", "scope.feature", feature, "e.g. support-bot", "")}
                    {text_field!(view! { "User " <span class="muted">"(any)"</span> }, "user", "scope.user", user, "e.g. user-42", "")}
                    {text_field!(view! { "API key id " <span class="muted">"(any)"</span> }, "api_key_id", "scope.api_key_id", api_key_id, "e.g. 3", "")}
                    {text_field!("Time zone", "timezone", "timezone", timezone, "e.g. Europe/Berlin", "")}
                    {select_field!("Period", "period", "period", period, [("day", "Day"), ("week", "Week (from Monday)"), ("month", "Month")])}
                    {text_field!("Monthly reset day (1–28)", "reset_day", "reset_day", reset_day, "1", "")}
                    {select_field!("Limit in", "limit_kind", "limit_kind", limit_kind, [("usd", "US dollars"), ("tokens", "Tokens (input + output)"), ("requests", "Requests")])}
                    {text_field!("Limit", "limit", "limit", limit, "e.g. 500", "")}
                    {text_field!("Thresholds (%)", "thresholds", "thresholds", thresholds, "50, 80, 100", "")}
                    {select_field!("Mode", "mode", "mode", mode, [("soft", "Soft: notify only"), ("hard", "Hard: refuse calls at 100 %")])}
                    <label class="check field-wide">
                        <input
                            type="checkbox"
                            name="enabled"
                            checked=move || form.with(|f| f.enabled)
                            prop:checked=move || form.with(|f| f.enabled)
                            on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))
                        />
                        <span>"Enabled"</span>
                    </label>
                </div>
                <p class="field-error" role="alert">{other_error}</p>
                <div class="form-actions">
                    <button type="submit" class="button button-primary" disabled=move || busy.get()>
                        {move || match (busy.get(), editing.get().is_some()) {
                            (true, _) => "Saving…",
                            (false, true) => "Save changes",
                            (false, false) => "Create budget",
                        }}
                    </button>
                    {move || editing.get().is_some().then(|| view! {
                        <button type="button" class="button button-ghost" on:click=move |_| {
                            editing.set(None);
                            field_error.set(None);
                            form.set(BudgetFormValues::default());
                        }>"Cancel"</button>
                    })}
                </div>
            </form>
        </section>
    }
}

/// `/budgets/:id`: one budget's bar, its period chart against the limit and projection, its
/// last periods and its events.
#[component]
pub fn BudgetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()));
    let series = RwSignal::new(None::<Result<BudgetSeries, api::ApiError>>);
    let fetch = move || {
        if let Some(id) = id() {
            spawn_local(async move { series.set(Some(api::budget_series(id).await)) });
        }
    };
    let events = LocalResource::new(move || {
        let id = id();
        async move { api::budget_events(id).await }
    });
    Effect::new(move |_| {
        fetch();
        // The status streams every second; the chart follows it every few.
        let tick = StoredValue::new(0u32);
        live::subscribe::<BudgetsTopic>(move |msg| {
            let n = tick.get_value();
            tick.set_value(n + 1);
            if matches!(msg, live::LiveMessage::Resync) || n.is_multiple_of(5) {
                fetch();
            }
        });
    });
    let title = move || {
        series.with(|s| match s {
            Some(Ok(s)) => s.budget.name.clone(),
            _ => "Budget".to_owned(),
        })
    };
    view! {
        <Title text=title />
        <div class="page-header">
            <p><a href="/budgets">"← Budgets"</a></p>
            <h1>{title}</h1>
        </div>
        {move || match series.get() {
            None => view! { <p class="muted" aria-busy="true">"Loading the budget…"</p> }.into_any(),
            Some(Err(e)) if e.status == 404 => view! { <p class="empty">"There is no such budget. It may have been deleted."</p> }.into_any(),
            Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load the budget: " {e.message().to_owned()}</p> }.into_any(),
            Some(Ok(s)) => {
                let b = s.budget.clone();
                let kind = b.limit_kind;
                let st = b.status.clone();
                view! {
                    <section class="card">
                        <BudgetMeter budget=b.clone() />
                        <div class="stat-grid budget-stats">
                            <div><div class="stat-label">"Spent"</div><div class="stat-value">{amount(kind, st.spent)}</div><div class="stat-foot">{format!("{:.1} % of {}", st.percent, amount(kind, st.limit))}</div></div>
                            <div><div class="stat-label">"Remaining"</div><div class="stat-value">{amount(kind, st.remaining)}</div><div class="stat-foot">{format!("{} reserved", amount(kind, st.reserved))}</div></div>
                            <div><div class="stat-label">"Projected at reset"</div><div class="stat-value">{amount(kind, st.projected)}</div><div class="stat-foot">{st.limit_reached_at.map_or_else(|| format!("{:.0} % of the limit", st.projected_percent), |t| format!("limit reached {}", when(&t)))}</div></div>
                            <div><div class="stat-label">"Resets"</div><div class="stat-value">{until(&st.resets_at)}</div><div class="stat-foot">{when(&st.resets_at)}</div></div>
                        </div>
                    </section>
                }.into_any()
            }
        }}
        <section class="card chart-card">
            <h2>"This period"</h2>
            <EChart
                id="chart-budget-period"
                label=Signal::derive(move || "Spend this period against the limit and the projection".to_owned())
                option=move |p| series.with(|s| match s {
                    Some(Ok(s)) => charts::budget_period(s, p),
                    _ => charming::Chart::new(),
                })
            />
        </section>
        <section class="card chart-card">
            <h2>"Last periods"</h2>
            <EChart
                id="chart-budget-history"
                label=Signal::derive(move || "Spend in each of the last 12 periods and this one".to_owned())
                option=move |p| series.with(|s| match s {
                    Some(Ok(s)) => charts::budget_history(&s.budget, p),
                    _ => charming::Chart::new(),
                })
            />
        </section>
        <section class="card">
            <h2>"Events"</h2>
            {move || match events.get() {
                None => view! { <p class="muted">"Loading events…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">{e.message().to_owned()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"No events for this budget yet."</p> }.into_any(),
                Some(Ok(list)) => view! { <EventList events=list /> }.into_any(),
            }}
        </section>
    }
}

/// The Overview's budgets card: the most-used budgets with their bars.
#[component]
pub fn BudgetsCard() -> impl IntoView {
    let (data, _) = live_budgets();
    view! {
        <section class="card" aria-labelledby="budgets-card-title" data-testid="budgets-card">
            <div class="card-head">
                <h2 id="budgets-card-title">"Budgets"</h2>
                <a href="/budgets">"All budgets"</a>
            </div>
            {move || match data.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading budgets…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load budgets: " {e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty">"No budgets yet. " <a href="/budgets">"Set one"</a> " to see spend against it here."</p>
                }.into_any(),
                Some(Ok(mut list)) => {
                    list.retain(|b| b.enabled);
                    list.sort_by(|a, b| b.status.percent.total_cmp(&a.status.percent));
                    list.truncate(4);
                    view! {
                        <ul class="budget-list">
                            {list.into_iter().map(|b| {
                                let kind = b.limit_kind;
                                let st = b.status.clone();
                                view! {
                                    <li class="budget-item">
                                        <div class="budget-head">
                                            <h3><a href=format!("/budgets/{}", b.id)>{b.name.clone()}</a></h3>
                                            <span class="muted">{format!("{} of {} · {:.0} %", amount(kind, st.spent), amount(kind, st.limit), st.percent)}</span>
                                        </div>
                                        <BudgetMeter budget=b.clone() />
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// One row of the rate-limits form, as typed.
#[derive(Debug, Clone, PartialEq, Default)]
struct LimitRow {
    key: u32,
    subject: String,
    value: String,
    rpm: String,
    tpm: String,
}

impl LimitRow {
    fn from_limit(key: u32, l: &RateLimit) -> Self {
        Self {
            key,
            subject: l.subject.as_str().into(),
            value: l.value.clone(),
            rpm: l
                .requests_per_minute
                .map(|v| v.to_string())
                .unwrap_or_default(),
            tpm: l
                .tokens_per_minute
                .map(|v| v.to_string())
                .unwrap_or_default(),
        }
    }

    /// The limit, or the field (relative to the row) that does not parse.
    fn to_limit(&self) -> Result<RateLimit, (&'static str, String)> {
        let num = |field: &'static str, v: &str| -> Result<Option<u64>, (&'static str, String)> {
            let v = v.trim().replace([',', '_', ' '], "");
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<u64>()
                .map(Some)
                .map_err(|_| (field, "must be a whole number".to_owned()))
        };
        Ok(RateLimit {
            subject: RateSubject::parse(&self.subject)
                .ok_or(("subject", "choose a subject".to_owned()))?,
            value: self.value.trim().to_owned(),
            requests_per_minute: num("requests_per_minute", &self.rpm)?
                .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
            tokens_per_minute: num("tokens_per_minute", &self.tpm)?,
        })
    }
}

/// The proxy's rate limits: rows of subject, value and per-minute limits, saved together.
#[component]
pub fn RateLimitsCard() -> impl IntoView {
    let rows = RwSignal::new(Vec::<LimitRow>::new());
    let next_key = StoredValue::new(0u32);
    let servers = RwSignal::new(1u32);
    let loaded = RwSignal::new(None::<Result<(), String>>);
    let error = RwSignal::new(None::<(String, String)>);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let fresh_key = move || {
        let k = next_key.get_value();
        next_key.set_value(k + 1);
        k
    };
    let show = move |r: RateLimits| {
        rows.set(
            r.limits
                .iter()
                .map(|l| LimitRow::from_limit(fresh_key(), l))
                .collect(),
        );
        servers.set(r.servers);
    };
    Effect::new(move |_| {
        spawn_local(async move {
            match api::rate_limits().await {
                Ok(r) => {
                    show(r);
                    loaded.set(Some(Ok(())));
                }
                Err(e) => loaded.set(Some(Err(e.message().to_owned()))),
            }
        });
    });
    let add = move |_| {
        rows.update(|r| {
            r.push(LimitRow {
                key: fresh_key(),
                subject: "user".into(),
                value: "*".into(),
                ..Default::default()
            })
        });
        saved.set(false);
    };
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut limits = Vec::new();
        for (i, row) in rows.get_untracked().iter().enumerate() {
            match row.to_limit() {
                Ok(l) => limits.push(l),
                Err((f, m)) => {
                    error.set(Some((format!("limits[{i}].{f}"), m)));
                    return;
                }
            }
        }
        busy.set(true);
        spawn_local(async move {
            match api::save_rate_limits(RateLimits { limits, servers: 0 }).await {
                Ok(r) => {
                    show(r);
                    error.set(None);
                    saved.set(true);
                }
                Err(e) => error.set(Some((
                    e.body.field.clone().unwrap_or_default(),
                    e.message().to_owned(),
                ))),
            }
            busy.set(false);
        });
    };
    let row_error = move |i: usize| {
        move || {
            error.get().and_then(|(f, m)| {
                f.starts_with(&format!("limits[{i}]."))
                    .then(|| format!("Row {}: {m}", i + 1))
            })
        }
    };
    view! {
        <section class="card" aria-labelledby="rate-limits-title">
            <h2 id="rate-limits-title">"Rate limits"</h2>
            <p class="muted">
                "Requests and tokens per minute for proxied calls, per API key, user or model ("
                <code>"*"</code> " = each one apart). Refused calls get 429 with "
                <code>"Retry-After"</code> " and OpenAI's " <code>"x-ratelimit-*"</code> " headers. "
                {move || format!("{} server(s) share these limits now; each enforces its share.", servers.get())}
            </p>
            {move || match loaded.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading rate limits…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert alert-error" role="alert">"Could not load rate limits: " {e}</p> }.into_any(),
                Some(Ok(())) => view! {
                    <form class="form" on:submit=save novalidate>
                        {move || if rows.with(Vec::is_empty) {
                            view! { <p class="empty">"No rate limits. Calls through the proxy are limited only by budgets."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table class="table" data-testid="rate-limits">
                                        <thead><tr>
                                            <th scope="col">"Per"</th>
                                            <th scope="col">"Which"</th>
                                            <th scope="col">"Requests / min"</th>
                                            <th scope="col">"Tokens / min"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr></thead>
                                        <tbody>
                                            <For
                                                each=move || rows.get().into_iter().enumerate()
                                                key=|(i, r)| (*i, r.key)
                                                let((i, r))
                                            >
                                                <LimitRowView i row=r rows error=row_error(i) />
                                            </For>
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        <p class="field-error" role="alert">
                            {move || error.get().filter(|(f, _)| !f.starts_with("limits[")).map(|(_, m)| m)}
                            {move || (0..rows.with(Vec::len)).find_map(|i| row_error(i)())}
                        </p>
                        {move || saved.get().then(|| view! { <p class="alert alert-ok" role="status">"Rate limits saved."</p> })}
                        <div class="form-actions">
                            <button type="button" class="button" on:click=add>"Add a limit"</button>
                            <button type="submit" class="button button-primary" disabled=move || busy.get()>
                                {move || if busy.get() { "Saving…" } else { "Save rate limits" }}
                            </button>
                        </div>
                    </form>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn LimitRowView(
    i: usize,
    row: LimitRow,
    rows: RwSignal<Vec<LimitRow>>,
    error: impl Fn() -> Option<String> + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let key = row.key;
    let update = move |f: fn(&mut LimitRow, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            rows.update(|r| {
                if let Some(row) = r.iter_mut().find(|x| x.key == key) {
                    f(row, v);
                }
            })
        }
    };
    let invalid = move || error().is_some().to_string();
    view! {
        <tr>
            <td>
                <select aria-label=format!("Row {} per", i + 1) on:change=update(|r, v| r.subject = v)>
                    {[("api_key", "API key"), ("user", "User"), ("model", "Model")]
                        .into_iter()
                        .map(|(v, t)| view! { <option value=v selected=row.subject == v>{t}</option> })
                        .collect_view()}
                </select>
            </td>
            <td><input type="text" aria-label=format!("Row {} which", i + 1) value=row.value.clone() placeholder="* or a name" aria-invalid=invalid on:input=update(|r, v| r.value = v) /></td>
            <td><input type="text" inputmode="numeric" aria-label=format!("Row {} requests per minute", i + 1) value=row.rpm.clone() placeholder="—" on:input=update(|r, v| r.rpm = v) /></td>
            <td><input type="text" inputmode="numeric" aria-label=format!("Row {} tokens per minute", i + 1) value=row.tpm.clone() placeholder="—" on:input=update(|r, v| r.tpm = v) /></td>
            <td>
                <button type="button" class="button button-danger-ghost" on:click=move |_| rows.update(|r| r.retain(|x| x.key != key))>
                    "Remove" <span class="visually-hidden">{format!(" row {}", i + 1)}</span>
                </button>
            </td>
        </tr>
    }
}
