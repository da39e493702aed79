//! Settings → Providers: the upstreams the proxy forwards to. A provider's key is typed in
//! once and never shown again; the list shows its last four characters.

use crate::components::layout::SettingsTabs;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;

use crate::{
    api,
    types::{ProviderInfo, ProviderKind, ProviderUpsert},
};

#[derive(Clone, Default)]
struct Draft {
    name: String,
    kind: String,
    base_url: String,
    api_key: String,
    pass_through: bool,
    /// Editing an existing provider: an empty key field keeps its stored key.
    editing: bool,
}

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let providers = LocalResource::new(api::list_providers);
    let draft = RwSignal::new(Draft {
        kind: "openai".into(),
        ..Draft::default()
    });
    let form_error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let page_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let d = draft.get_untracked();
        let name = d.name.trim().to_owned();
        if name.is_empty() {
            form_error.set(Some("Give the provider a name, e.g. openai.".into()));
            return;
        }
        if d.base_url.trim().is_empty() {
            form_error.set(Some("Enter the provider's base URL.".into()));
            return;
        }
        let body = ProviderUpsert {
            kind: ProviderKind::parse(&d.kind).unwrap_or_default(),
            base_url: d.base_url.trim().to_owned(),
            api_key: match (d.api_key.trim(), d.editing) {
                ("", true) => None,
                (k, _) => Some(k.to_owned()),
            },
            pass_through: d.pass_through,
        };
        busy.set(true);
        spawn_local(async move {
            match api::save_provider(name, body).await {
                Ok(p) => {
                    saved.set(Some(format!(
                        "Saved “{}”. Point clients at {}.",
                        p.name, p.proxy_path
                    )));
                    form_error.set(None);
                    draft.set(Draft {
                        kind: "openai".into(),
                        ..Draft::default()
                    });
                    providers.refetch();
                }
                Err(e) => form_error.set(Some(e.message().to_owned())),
            }
            busy.set(false);
        });
    };

    let remove = Callback::new(move |name: String| {
        spawn_local(async move {
            match api::delete_provider(name).await {
                Ok(_) => {
                    page_error.set(None);
                    providers.refetch();
                }
                Err(e) => page_error.set(Some(format!(
                    "Could not delete the provider: {}",
                    e.message()
                ))),
            }
        });
    });
    let edit = Callback::new(move |p: ProviderInfo| {
        draft.set(Draft {
            name: p.name,
            kind: p.kind.as_str().to_owned(),
            base_url: p.base_url,
            api_key: String::new(),
            pass_through: p.pass_through,
            editing: true,
        });
        saved.set(None);
    });

    view! {
        <Title text="Providers" />
        <SettingsTabs />
        <div class="page-header">
            <h1>"Providers"</h1>
            <p class="muted">
                "The LLM APIs the proxy forwards to. Clients send their Sightline API key; Sightline "
                "adds the provider's key, so it never leaves this server, and records every call."
            </p>
        </div>

        {move || page_error.get().map(|e| view! { <p class="alert alert-error" role="alert">{e}</p> })}

        <section class="card" aria-labelledby="provider-form-title">
            <h2 id="provider-form-title">
                {move || if draft.with(|d| d.editing) { "Edit provider" } else { "Add a provider" }}
            </h2>
            <ProviderForm draft busy form_error on_submit />
            {move || saved.get().map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
        </section>

        <section class="card" aria-labelledby="provider-list-title">
            <h2 id="provider-list-title">"Configured providers"</h2>
            {move || match providers.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading providers…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="alert alert-error" role="alert">
                        <span>"Could not load providers: " {e.message().to_owned()}</span>
                        <button type="button" class="button" on:click=move |_| providers.refetch()>"Retry"</button>
                    </div>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty">"No providers yet. Add one above to use the proxy."</p>
                }.into_any(),
                Some(Ok(list)) => view! { <ProviderTable list edit remove /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ProviderForm(
    draft: RwSignal<Draft>,
    busy: RwSignal<bool>,
    form_error: RwSignal<Option<String>>,
    on_submit: impl Fn(SubmitEvent) + 'static,
) -> impl IntoView {
    view! {
        <form class="form form-grid" on:submit=on_submit novalidate>
            <label class="field">
                <span>"Name"</span>
                <input
                    type="text"
                    name="name"
                    maxlength="63"
                    placeholder="openai"
                    prop:value=move || draft.with(|d| d.name.clone())
                    prop:readonly=move || draft.with(|d| d.editing)
                    on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))
                    aria-describedby="provider-error"
                />
            </label>
            <label class="field">
                <span>"API dialect"</span>
                <select
                    prop:value=move || draft.with(|d| d.kind.clone())
                    on:change=move |ev| draft.update(|d| d.kind = event_target_value(&ev))
                >
                    <option value="openai">"OpenAI-compatible"</option>
                    <option value="anthropic">"Anthropic Messages"</option>
                </select>
            </label>
            <label class="field field-wide">
                <span>"Base URL"</span>
                <input
                    type="url"
                    name="base_url"
                    placeholder="https://api.openai.com"
                    prop:value=move || draft.with(|d| d.base_url.clone())
                    on:input=move |ev| draft.update(|d| d.base_url = event_target_value(&ev))
                />
            </label>
            <label class="field field-wide">
                <span>"Provider API key"</span>
                <input
                    type="password"
                    name="api_key"
                    autocomplete="off"
                    placeholder=move || if draft.with(|d| d.editing) { "Leave empty to keep the stored key" } else { "sk-…" }
                    prop:value=move || draft.with(|d| d.api_key.clone())
                    on:input=move |ev| draft.update(|d| d.api_key = event_target_value(&ev))
                />
            </label>
            <label class="check field-wide">
                <input
                    type="checkbox"
                    prop:checked=move || draft.with(|d| d.pass_through)
                    on:change=move |ev| draft.update(|d| d.pass_through = event_target_checked(&ev))
                />
                <span>"Pass through the client's own provider key (the Sightline key then goes in x-sightline-key)"</span>
            </label>
            <div class="form-actions field-wide">
                <button type="submit" class="button button-primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Saving…" } else { "Save provider" }}
                </button>
            </div>
        </form>
        <p id="provider-error" class="field-error" role="alert">{move || form_error.get()}</p>
    }
}

#[component]
fn ProviderTable(
    list: Vec<ProviderInfo>,
    edit: Callback<ProviderInfo>,
    remove: Callback<String>,
) -> impl IntoView {
    let confirming = RwSignal::new(None::<String>);
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Dialect"</th>
                        <th scope="col">"Base URL"</th>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Clients use"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|p| view! { <ProviderRow p confirming edit remove /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ProviderRow(
    p: ProviderInfo,
    confirming: RwSignal<Option<String>>,
    edit: Callback<ProviderInfo>,
    remove: Callback<String>,
) -> impl IntoView {
    let name = p.name.clone();
    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
    let key = if p.pass_through {
        "Client's own".to_owned()
    } else {
        p.key_hint.clone().unwrap_or_else(|| "None set".into())
    };
    let for_edit = p.clone();
    view! {
        <tr>
            <td data-label="Name"><strong>{p.name.clone()}</strong></td>
            <td data-label="Dialect">{if p.kind == ProviderKind::Anthropic { "Anthropic" } else { "OpenAI" }}</td>
            <td data-label="Base URL"><code>{p.base_url.clone()}</code></td>
            <td data-label="Key"><code>{key}</code></td>
            <td data-label="Clients use"><code>{p.proxy_path.clone()}</code></td>
            <td class="actions">
                <Show
                    when=move || confirming.get().as_deref() == Some(n1.as_str())
                    fallback=move || {
                        let for_edit = for_edit.clone();
                        let n = n2.clone();
                        view! {
                            <span class="confirm">
                                <button
                                    type="button"
                                    class="button button-ghost"
                                    aria-label=format!("Edit provider {n}")
                                    on:click=move |_| edit.run(for_edit.clone())
                                >
                                    "Edit"
                                </button>
                                <button
                                    type="button"
                                    class="button button-danger-ghost"
                                    aria-label=format!("Delete provider {n}")
                                    on:click={
                                        let n = n.clone();
                                        move |_| confirming.set(Some(n.clone()))
                                    }
                                >
                                    "Delete"
                                </button>
                            </span>
                        }
                    }
                >
                    <span class="confirm">
                        <button
                            type="button"
                            class="button button-danger"
                            aria-label=format!("Confirm deleting provider {}", n3)
                            on:click={
                                let n = n3.clone();
                                move |_| {
                                    confirming.set(None);
                                    remove.run(n.clone())
                                }
                            }
                        >
                            "Confirm delete"
                        </button>
                        <button type="button" class="button button-ghost" on:click=move |_| confirming.set(None)>
                            "Cancel"
                        </button>
                    </span>
                </Show>
            </td>
        </tr>
    }
}
