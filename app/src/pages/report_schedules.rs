//! Scheduled reports on the Reports page: the PDF report of the last day, week or month,
//! sent through alert channels when the period closes. A list with Send now and Delete, and
//! a form to add one.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    api,
    components::{
        load::{Load, LoadStatus},
        range::browser_time_zone,
    },
    pages::alerts::when,
    types::{
        alert::Channel,
        schedule::{ReportCadence, ReportSchedule, ReportScheduleInput},
    },
};

fn field_label(field: &str) -> &'static str {
    match field.split('[').next().unwrap_or(field) {
        "name" => "Name",
        "cadence" => "Send",
        "timezone" => "Time zone",
        "channel_ids" => "Channels",
        _ => "Schedule",
    }
}

#[component]
pub fn ReportSchedules() -> impl IntoView {
    let schedules = RwSignal::new(Vec::<ReportSchedule>::new());
    let channels = RwSignal::new(Vec::<Channel>::new());
    let load = RwSignal::new(Load::Loading);
    let fetch = move || {
        spawn_local(async move {
            let (s, c) = (api::schedules::list().await, api::alerts::channels().await);
            match (s, c) {
                (Ok(s), Ok(c)) => {
                    schedules.set(s);
                    channels.set(c);
                    load.set(Load::Ready);
                }
                (Err(e), _) | (_, Err(e)) => load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| fetch());

    let name = RwSignal::new(String::new());
    let cadence = RwSignal::new(ReportCadence::Monthly.as_str().to_owned());
    let timezone = RwSignal::new(String::new());
    Effect::new(move |_| timezone.set(browser_time_zone()));
    let picked = RwSignal::new(Vec::<i64>::new());
    let error = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let input = ReportScheduleInput {
            name: name.get_untracked(),
            cadence: ReportCadence::parse(&cadence.get_untracked()).unwrap_or_default(),
            timezone: timezone.get_untracked(),
            channel_ids: picked.get_untracked(),
        };
        busy.set(true);
        spawn_local(async move {
            match api::schedules::create(input).await {
                Ok(s) => {
                    note.set(Some(format!(
                        "“{}” scheduled; the first report goes out {}.",
                        s.name,
                        when(&s.next_at)
                    )));
                    schedules.update(|l| l.push(s));
                    name.set(String::new());
                }
                Err(e) => error.set(Some(format!(
                    "{}: {}",
                    field_label(e.body.field.as_deref().unwrap_or("")),
                    e.message()
                ))),
            }
            busy.set(false);
        });
    };
    let send = move |id: i64| {
        note.set(Some("Sending…".into()));
        spawn_local(async move {
            match api::schedules::send(id).await {
                Ok(sent) => {
                    let failed: Vec<String> = sent
                        .deliveries
                        .iter()
                        .filter(|d| !d.ok)
                        .map(|d| format!("{} ({})", d.channel, d.error.clone().unwrap_or_default()))
                        .collect();
                    note.set(Some(if failed.is_empty() {
                        format!("Sent through {} channel(s).", sent.deliveries.len())
                    } else {
                        format!("Not sent through: {}", failed.join(", "))
                    }));
                    fetch();
                }
                Err(e) => note.set(Some(format!("Could not send: {}", e.message()))),
            }
        });
    };
    let remove = move |id: i64| {
        spawn_local(async move {
            match api::schedules::delete(id).await {
                Ok(_) => schedules.update(|l| l.retain(|s| s.id != id)),
                Err(e) => note.set(Some(format!("Could not delete: {}", e.message()))),
            }
        });
    };
    let channel_name = move |id: i64| {
        channels.with(|c| {
            c.iter()
                .find(|c| c.id == id)
                .map_or_else(|| format!("#{id}"), |c| c.name.clone())
        })
    };

    view! {
        <section class="card" aria-labelledby="schedules-title" data-testid="report-schedules">
            <div class="card-head">
                <h2 id="schedules-title">"Scheduled reports"</h2>
                <span class="muted">"The PDF report of the last day, week or month, sent through alert channels when it closes"</span>
            </div>
            <LoadStatus load what="schedules" retry=Callback::new(move |_| fetch()) />
            {move || (load.get().is_ready() && schedules.with(Vec::is_empty)).then(|| view! {
                <p class="empty">"No scheduled reports yet."</p>
            })}
            {move || (!schedules.with(Vec::is_empty)).then(|| view! {
                <div class="table-wrap">
                    <table class="table">
                        <thead><tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Sent"</th>
                            <th scope="col">"Channels"</th>
                            <th scope="col">"Next"</th>
                            <th scope="col">"Last"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {schedules.get().into_iter().map(|s| {
                                let id = s.id;
                                let names = s.channel_ids.iter().map(|c| channel_name(*c)).collect::<Vec<_>>().join(", ");
                                let last = match (&s.last_sent_at, &s.last_error) {
                                    (_, Some(e)) => format!("failed: {e}"),
                                    (Some(t), None) => when(t),
                                    (None, None) => "not yet".to_owned(),
                                };
                                view! {
                                    <tr>
                                        <td class="strong" data-label="Name">{s.name.clone()}</td>
                                        <td data-label="Sent">{format!("{} ({})", s.cadence.label(), s.timezone)}</td>
                                        <td data-label="Channels">{names}</td>
                                        <td data-label="Next">{when(&s.next_at)}</td>
                                        <td data-label="Last" class:error-text=s.last_error.is_some()>{last}</td>
                                        <td class="actions">
                                            <button type="button" class="button button-ghost" on:click=move |_| send(id)>"Send now"</button>
                                            <button type="button" class="button button-ghost" on:click=move |_| remove(id)>"Delete"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
            <form class="form form-grid" on:submit=submit novalidate aria-label="Schedule a report">
                <label class="field" for="schedule-name">
                    <span>"Name"</span>
                    <input id="schedule-name" type="text" maxlength="120" placeholder="Monthly spend"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <label class="field" for="schedule-cadence">
                    <span>"Send"</span>
                    <select id="schedule-cadence" prop:value=move || cadence.get()
                        on:change=move |ev| cadence.set(event_target_value(&ev))>
                        {ReportCadence::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field" for="schedule-tz">
                    <span>"Time zone"</span>
                    <input id="schedule-tz" type="text" prop:value=move || timezone.get()
                        on:input=move |ev| timezone.set(event_target_value(&ev)) />
                </label>
                <fieldset class="field field-wide">
                    <legend>"Channels"</legend>
                    {move || if channels.with(Vec::is_empty) {
                        view! { <p class="muted">"No channels: add one under " <a href="/settings/channels">"Settings › Alert channels"</a> "."</p> }.into_any()
                    } else {
                        view! {
                            <div class="check-list">
                                {channels.get().into_iter().map(|c| {
                                    let id = c.id;
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" prop:checked=move || picked.with(|p| p.contains(&id))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    picked.update(|p| { p.retain(|x| *x != id); if on { p.push(id) } });
                                                } />
                                            <span>{format!("{} ({})", c.name, c.kind.as_str())}</span>
                                        </label>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }}
                </fieldset>
                <div class="form-actions field-wide">
                    <button type="submit" class="button button-primary" disabled=move || busy.get()>"Schedule report"</button>
                    <span class="muted" role="status" data-testid="schedule-note">{move || note.get()}</span>
                </div>
            </form>
            <p class="field-error" role="alert" data-testid="schedule-error">{move || error.get()}</p>
        </section>
    }
}
