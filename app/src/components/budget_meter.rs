//! A budget's progress bar: spend and reservations against the limit, a tick at each
//! threshold, and a marker where the projection ends the period. Shared by the Budgets page
//! and the Overview's budgets card.

use leptos::prelude::*;

use crate::{
    format,
    types::{Budget, LimitKind},
};

/// An amount in the budget's unit, for people.
pub fn amount(kind: LimitKind, v: f64) -> String {
    match kind {
        LimitKind::Usd => format::usd_micros(Some((v * 1_000_000.0).round() as i64)),
        LimitKind::Tokens => format!("{} tokens", format::compact(v)),
        LimitKind::Requests => format!("{} requests", format::compact(v)),
    }
}

/// How close to the limit: ok, warn (past the highest threshold under 100 % or 80 %), over.
fn level(b: &Budget) -> &'static str {
    let p = b.status.percent;
    let warn_at = b
        .thresholds
        .iter()
        .copied()
        .filter(|t| *t < 100)
        .max()
        .map_or(80.0, f64::from);
    if p >= 100.0 {
        "over"
    } else if p >= warn_at {
        "warn"
    } else {
        "ok"
    }
}

fn clamp_pct(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, 100.0)
    } else {
        0.0
    }
}

#[component]
pub fn BudgetMeter(budget: Budget) -> impl IntoView {
    let st = &budget.status;
    let kind = budget.limit_kind;
    let spent_pct = clamp_pct(st.percent);
    let reserved_pct = if st.limit > 0.0 {
        clamp_pct(st.reserved * 100.0 / st.limit).min(100.0 - spent_pct)
    } else {
        0.0
    };
    let projected_pct = clamp_pct(st.projected_percent);
    let label = format!(
        "{}: {} of {} spent ({:.0} %), projected {:.0} % by the reset",
        budget.name,
        amount(kind, st.spent),
        amount(kind, st.limit),
        st.percent,
        st.projected_percent
    );
    let ticks = budget
        .thresholds
        .iter()
        .filter(|t| **t <= 100)
        .map(|t| {
            let style = format!("left: {t}%");
            view! { <span class="meter-tick" style=style title=format!("{t} % threshold")></span> }
        })
        .collect_view();
    let show_projection = st.projected > st.spent && st.projected_percent > st.percent + 0.5;
    view! {
        <div
            class=format!("meter meter-{}", level(&budget))
            role="meter"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=format!("{:.0}", st.percent)
            aria-label=label
            data-testid="budget-meter"
        >
            <div class="meter-fill" style=format!("width: {spent_pct:.2}%")></div>
            <div
                class="meter-reserved"
                style=format!("left: {spent_pct:.2}%; width: {reserved_pct:.2}%")
                title="reserved by calls in flight"
            ></div>
            {ticks}
            {show_projection.then(|| view! {
                <span
                    class="meter-projection"
                    style=format!("left: {projected_pct:.2}%")
                    title=format!("projected {:.0} % at the reset", st.projected_percent)
                ></span>
            })}
        </div>
    }
}
