//! Settings → API keys: create a key (its secret shown once), list keys, revoke one.

use crate::components::layout::SettingsTabs;
use chrono::{DateTime, Utc};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    api,
    types::{ApiKey, CreateApiKey, CreatedApiKey, KeyScope},
};

fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let keys = LocalResource::new(api::list_api_keys);
    let name = RwSignal::new(String::new());
    let can_ingest = RwSignal::new(true);
    let can_read = RwSignal::new(false);
    let can_browser = RwSignal::new(false);
    let host = RwSignal::new(String::new());
    let created = RwSignal::new(None::<CreatedApiKey>);
    let form_error = RwSignal::new(None::<String>);
    let page_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let wanted = name.get_untracked();
        if wanted.trim().is_empty() {
            form_error.set(Some(
                "Give the key a name, e.g. the app or host that uses it.".into(),
            ));
            return;
        }
        let scopes: Vec<KeyScope> = [
            (KeyScope::Ingest, can_ingest.get_untracked()),
            (KeyScope::Read, can_read.get_untracked()),
            (KeyScope::Browser, can_browser.get_untracked()),
        ]
        .into_iter()
        .filter_map(|(s, on)| on.then_some(s))
        .collect();
        if scopes.is_empty() {
            form_error.set(Some(
                "Choose what the key may do: send telemetry, read data, or report from web pages."
                    .into(),
            ));
            return;
        }
        let bound = host.get_untracked().trim().to_owned();
        let req = CreateApiKey {
            name: wanted,
            scopes: Some(scopes),
            host: (!bound.is_empty()).then_some(bound),
        };
        busy.set(true);
        spawn_local(async move {
            match api::create_api_key(req).await {
                Ok(new_key) => {
                    created.set(Some(new_key));
                    name.set(String::new());
                    host.set(String::new());
                    form_error.set(None);
                    keys.refetch();
                }
                Err(e) => form_error.set(Some(e.message().to_owned())),
            }
            busy.set(false);
        });
    };

    let revoke = Callback::new(move |id: i64| {
        spawn_local(async move {
            match api::revoke_api_key(id).await {
                Ok(_) => {
                    page_error.set(None);
                    keys.refetch();
                }
                Err(e) => {
                    page_error.set(Some(format!("Could not revoke the key: {}", e.message())))
                }
            }
        });
    });

    view! {
        <Title text="API keys" />
        <SettingsTabs />
        <div class="page-header">
            <h1>"API keys"</h1>
            <p class="muted">
                "Applications, agents and the proxy authenticate with these keys. "
                "A key's secret is shown once, when it is created; Sightline keeps only a hash."
            </p>
        </div>

        {move || page_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e}</p> })}

        <section class="card" aria-labelledby="create-title">
            <h2 id="create-title">"Create a key"</h2>
            <form class="form" on:submit=on_submit novalidate>
                <div class="form form-inline">
                    <label class="field field-grow">
                        <span>"Key name"</span>
                        <input
                            type="text"
                            name="name"
                            maxlength="100"
                            placeholder="e.g. checkout-service"
                            bind:value=name
                            aria-invalid=move || form_error.get().is_some().to_string()
                            aria-describedby="key-name-error"
                        />
                    </label>
                    <label class="field field-grow">
                        <span>"Bound to host " <span class="muted">"(optional)"</span></span>
                        <input
                            type="text"
                            name="host"
                            maxlength="253"
                            placeholder="an agent's host name, e.g. gpu-01"
                            bind:value=host
                        />
                    </label>
                </div>
                <fieldset class="scopes">
                    <legend>"The key may"</legend>
                    <label class="check">
                        <input type="checkbox" name="scope-ingest" bind:checked=can_ingest
                            on:change=move |_| if can_ingest.get_untracked() { can_browser.set(false) } />
                        <span>
                            <strong>"Ingest"</strong>
                            " — send calls, events, spans and system samples, and use the proxy"
                        </span>
                    </label>
                    <label class="check">
                        <input type="checkbox" name="scope-read" bind:checked=can_read
                            on:change=move |_| if can_read.get_untracked() { can_browser.set(false) } />
                        <span>
                            <strong>"Read"</strong>
                            " — query analytics, calls, sessions, system metrics and the live stream"
                        </span>
                    </label>
                    <label class="check">
                        <input type="checkbox" name="scope-browser" bind:checked=can_browser
                            on:change=move |_| if can_browser.get_untracked() {
                                can_ingest.set(false);
                                can_read.set(false);
                            } />
                        <span>
                            <strong>"Browser"</strong>
                            " — report Web Vitals and JavaScript errors from web pages with "
                            <code>"/sdk/vitals.js"</code>
                            ". Public (it sits in page source), so it can do nothing else."
                        </span>
                    </label>
                </fieldset>
                <div>
                    <button type="submit" class="button button-primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Creating…" } else { "Create key" }}
                    </button>
                </div>
            </form>
            <p id="key-name-error" class="field-error" role="alert">{move || form_error.get()}</p>
            {move || created.get().map(|c| view! { <NewSecret created=c on_dismiss=move || created.set(None) /> })}
        </section>

        <section class="card" aria-labelledby="list-title">
            <h2 id="list-title">"Keys"</h2>
            {move || match keys.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading API keys…"</p> }.into_any(),
                Some(Err(e)) if e.is_unauthenticated() => view! {
                    <p class="alert alert-error" role="alert">
                        "Your session has ended. " <a href="/login?next=/settings/api-keys">"Log in again"</a>
                    </p>
                }.into_any(),
                Some(Err(e)) => view! {
                    <div class="alert alert-error" role="alert">
                        <span>"Could not load API keys: " {e.message().to_owned()}</span>
                        <button type="button" class="button" on:click=move |_| keys.refetch()>"Retry"</button>
                    </div>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty">"No API keys yet. Create one above to start sending telemetry."</p>
                }.into_any(),
                Some(Ok(list)) => view! { <KeyTable keys=list revoke /> }.into_any(),
            }}
        </section>
    }
}

/// The one-time display of a new key's secret.
#[component]
fn NewSecret(created: CreatedApiKey, on_dismiss: impl Fn() + 'static) -> impl IntoView {
    let copied = RwSignal::new(false);
    let secret = created.secret.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&secret);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &secret;
        copied.set(true);
    };
    view! {
        <div class="secret-box" role="status" aria-live="polite">
            <p>
                <strong>"Key “" {created.key.name.clone()} "” created."</strong>
                " Copy the secret now: it will not be shown again."
            </p>
            <div class="secret-row">
                <code class="secret" data-testid="new-secret">{created.secret.clone()}</code>
                <button type="button" class="button" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
                <button type="button" class="button button-ghost" on:click=move |_| on_dismiss()>
                    "Done"
                </button>
            </div>
        </div>
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKey>, revoke: Callback<i64>) -> impl IntoView {
    let confirming = RwSignal::new(None::<i64>);
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Key"</th>
                        <th scope="col">"May"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {keys
                        .into_iter()
                        .map(|k| view! { <KeyRow key=k confirming revoke /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// What a key may do, as badges: its scopes and the host it is bound to.
fn scope_badges(key: &ApiKey) -> impl IntoView {
    let scopes = key
        .scopes
        .iter()
        .map(|s| {
            let label = match s {
                KeyScope::Ingest => "Ingest",
                KeyScope::Read => "Read",
                KeyScope::Browser => "Browser",
            };
            view! { <span class="badge badge-scope">{label}</span> }
        })
        .collect_view();
    let host = key.host.clone().map(|h| {
        view! { <span class="badge badge-muted" title="bound to this host">"host: " {h}</span> }
    });
    view! { <span class="badges">{scopes} {host}</span> }
}

/// One key: its details, and a two-step revoke (ask, then confirm) while it is active.
#[component]
fn KeyRow(key: ApiKey, confirming: RwSignal<Option<i64>>, revoke: Callback<i64>) -> impl IntoView {
    let id = key.id;
    let revoked = key.revoked_at.is_some();
    let status = if revoked {
        view! { <span class="badge badge-muted">"Revoked"</span> }.into_any()
    } else {
        view! { <span class="badge badge-ok">"Active"</span> }.into_any()
    };
    let actions = (!revoked).then(|| {
        let ask_label = format!("Revoke key {}", key.name);
        let confirm_label = format!("Confirm revoking key {}", key.name);
        view! {
            <Show
                when=move || confirming.get() == Some(id)
                fallback=move || {
                    view! {
                        <button
                            type="button"
                            class="button button-danger-ghost"
                            aria-label=ask_label.clone()
                            on:click=move |_| confirming.set(Some(id))
                        >
                            "Revoke"
                        </button>
                    }
                }
            >
                <span class="confirm">
                    <button
                        type="button"
                        class="button button-danger"
                        aria-label=confirm_label.clone()
                        on:click=move |_| {
                            confirming.set(None);
                            revoke.run(id)
                        }
                    >
                        "Confirm revoke"
                    </button>
                    <button type="button" class="button button-ghost" on:click=move |_| confirming.set(None)>
                        "Cancel"
                    </button>
                </span>
            </Show>
        }
        .into_any()
    });
    view! {
        <tr class:revoked=revoked>
            <td data-label="Name">{key.name.clone()}</td>
            <td data-label="Key"><code>{format!("{}…", key.prefix)}</code></td>
            <td data-label="May">{scope_badges(&key)}</td>
            <td data-label="Created">{when(&key.created_at)}</td>
            <td data-label="Last used">{key.last_used_at.as_ref().map(when).unwrap_or_else(|| "Never".into())}</td>
            <td data-label="Status">{status}</td>
            <td class="actions">{actions}</td>
        </tr>
    }
}
