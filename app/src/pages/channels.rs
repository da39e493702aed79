//! `/settings/channels`: where alerts go. Each channel has a "Send test" button and its
//! delivery log; secrets are write-only (the list shows whether one is set, and a URL's
//! host only).

use crate::components::layout::SettingsTabs;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;

use super::alerts::when;
use crate::{
    api,
    types::alert::{
        Channel, ChannelInput, ChannelKind, Delivery, SmtpInput, SmtpTls, WebhookFormat,
    },
};

#[derive(Clone, Default)]
struct Form {
    name: String,
    kind: String,
    url: String,
    secret: String,
    format: String,
    host: String,
    port: String,
    tls: String,
    username: String,
    password: String,
    from: String,
    to: String,
}

impl Form {
    fn to_input(&self) -> Result<ChannelInput, (String, String)> {
        let kind = ChannelKind::parse(&self.kind).unwrap_or(ChannelKind::Webhook);
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let smtp = if kind == ChannelKind::Email {
            let port: i64 = self.port.trim().parse().map_err(|_| {
                (
                    "smtp.port".to_owned(),
                    "must be a number between 1 and 65535".to_owned(),
                )
            })?;
            Some(SmtpInput {
                host: self.host.trim().to_owned(),
                port,
                tls: match self.tls.as_str() {
                    "tls" => SmtpTls::Tls,
                    "none" => SmtpTls::None,
                    _ => SmtpTls::Starttls,
                },
                username: opt(&self.username),
                password: opt(&self.password),
                from: self.from.trim().to_owned(),
                to: self
                    .to
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            })
        } else {
            None
        };
        let web = matches!(kind, ChannelKind::Webhook | ChannelKind::Slack);
        Ok(ChannelInput {
            name: self.name.trim().to_owned(),
            kind,
            url: if web { opt(&self.url) } else { None },
            secret: if kind == ChannelKind::Webhook {
                opt(&self.secret)
            } else {
                None
            },
            format: (kind == ChannelKind::Webhook).then(|| {
                if self.format == "alertmanager" {
                    WebhookFormat::Alertmanager
                } else {
                    WebhookFormat::Sightline
                }
            }),
            smtp,
            severities: Vec::new(),
            enabled: Some(true),
        })
    }
}

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let channels = RwSignal::new(None::<Result<Vec<Channel>, String>>);
    let fetch = Callback::new(move |_| {
        spawn_local(async move {
            channels.set(Some(
                api::alerts::channels()
                    .await
                    .map_err(|e| e.message().to_owned()),
            ));
        });
    });
    Effect::new(move |_| fetch.run(()));
    let form = RwSignal::new(Form {
        kind: "webhook".into(),
        port: "587".into(),
        tls: "starttls".into(),
        ..Default::default()
    });
    let error = RwSignal::new(None::<(String, String)>);
    let notice = RwSignal::new(None::<String>);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let input = match form.with_untracked(|f| f.to_input()) {
            Ok(i) => i,
            Err(e) => return error.set(Some(e)),
        };
        spawn_local(async move {
            match api::alerts::create_channel(input).await {
                Ok(c) => {
                    error.set(None);
                    notice.set(Some(format!("Channel “{}” added.", c.name)));
                    form.update(|f| {
                        f.name.clear();
                        f.url.clear();
                        f.secret.clear();
                        f.password.clear();
                    });
                    fetch.run(());
                }
                Err(e) => error.set(Some((
                    e.body.field.clone().unwrap_or_default(),
                    e.message().to_owned(),
                ))),
            }
        });
    };
    let kind = move || form.with(|f| f.kind.clone());
    let err = move |f: &'static str| move || error.get().and_then(|(k, m)| (k == f).then_some(m));
    let bad = move |f: &'static str| move || error.get().is_some_and(|(k, _)| k == f).to_string();
    macro_rules! input {
        ($label:expr, $id:literal, $api:literal, $field:ident, $ty:literal, $ph:expr) => {
            view! {
                <div class="field">
                    <label for=concat!("channel-", $id)>{$label}</label>
                    <input type=$ty id=concat!("channel-", $id) placeholder=$ph autocomplete="off"
                        prop:value=move || form.with(|f| f.$field.clone())
                        on:input=move |ev| form.update(|f| f.$field = event_target_value(&ev))
                        aria-invalid=bad($api) aria-describedby=concat!("channel-", $id, "-error") />
                    <span class="field-error" id=concat!("channel-", $id, "-error") role="alert">{err($api)}</span>
                </div>
            }
        };
    }
    view! {
        <Title text="Channels" />
        <SettingsTabs />
        <div class="page-header">
            <h1>"Alert channels"</h1>
            <p class="muted">"Where alerts go: in the app (the bell), a signed webhook, Slack, or email. Rules choose their channels; a channel may take only some severities."</p>
        </div>
        {move || notice.get().map(|n| view! { <p class="alert alert-ok" role="status">{n}</p> })}
        <section class="card" aria-labelledby="channels-title">
            <h2 id="channels-title">"Channels"</h2>
            {move || match channels.get() {
                None => view! { <p class="muted" aria-busy="true">"Loading channels…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="alert alert-error" role="alert"><span>"Could not load channels: " {e}</span>
                    <button type="button" class="button" on:click=move |_| fetch.run(())>"Retry"</button></div>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"No channels yet."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="budget-list" id="channels">
                        {list.into_iter().map(|c| view! { <ChannelItem channel=c on_change=fetch /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
        <section class="card" aria-labelledby="channel-form-title">
            <h2 id="channel-form-title">"New channel"</h2>
            <form class="form" on:submit=on_submit novalidate>
                <div class="form-grid">
                    {input!("Name", "name", "name", name, "text", "e.g. On-call webhook")}
                    <div class="field">
                        <label for="channel-kind">"Kind"</label>
                        <select id="channel-kind" on:change=move |ev| form.update(|f| f.kind = event_target_value(&ev))>
                            {[("webhook", "Webhook (JSON, signed)"), ("slack", "Slack incoming webhook"), ("email", "Email (SMTP)"), ("in_app", "In the app")]
                                .into_iter().map(|(v, t)| view! { <option value=v selected=move || form.with(|f| f.kind == v)>{t}</option> }).collect_view()}
                        </select>
                    </div>
                    {move || match kind().as_str() {
                        "webhook" => view! {
                            {input!("URL", "url", "url", url, "url", "https://example.com/hooks/sightline")}
                            {input!(view! { "Signing secret " <span class="muted">"(16+ characters)"</span> }, "secret", "secret", secret, "password", "shared with the receiver")}
                            <div class="field">
                                <label for="channel-format">"Body"</label>
                                <select id="channel-format" on:change=move |ev| form.update(|f| f.format = event_target_value(&ev))>
                                    <option value="sightline">"Sightline JSON"</option>
                                    <option value="alertmanager">"Alertmanager-compatible"</option>
                                </select>
                            </div>
                        }.into_any(),
                        "slack" => view! { {input!("Incoming webhook URL", "url", "url", url, "url", "https://hooks.slack.com/services/…")} }.into_any(),
                        "email" => view! {
                            {input!("SMTP host", "host", "smtp.host", host, "text", "smtp.example.com")}
                            {input!("Port", "port", "smtp.port", port, "text", "587")}
                            <div class="field">
                                <label for="channel-tls">"Encryption"</label>
                                <select id="channel-tls" on:change=move |ev| form.update(|f| f.tls = event_target_value(&ev))>
                                    <option value="starttls">"STARTTLS (587)"</option>
                                    <option value="tls">"TLS (465)"</option>
                                    <option value="none">"None (local relay only)"</option>
                                </select>
                            </div>
                            {input!(view! { "User " <span class="muted">"(optional)"</span> }, "username", "smtp.username", username, "text", "")}
                            {input!(view! { "Password " <span class="muted">"(optional)"</span> }, "password", "smtp.password", password, "password", "")}
                            {input!("From", "from", "smtp.from", from, "email", "sightline@example.com")}
                            {input!("To (comma-separated)", "to", "smtp.to", to, "text", "oncall@example.com")}
                        }.into_any(),
                        _ => view! { <p class="muted field-wide">"Notices appear under the bell in the header, with a toast when something fires."</p> }.into_any(),
                    }}
                </div>
                <p class="field-error" role="alert">{move || error.get().and_then(|(k, m)| (!["name", "url", "secret", "smtp.host", "smtp.port", "smtp.username", "smtp.password", "smtp.from", "smtp.to"].contains(&k.as_str())).then_some(m))}</p>
                <div class="form-actions"><button type="submit" class="button button-primary">"Add channel"</button></div>
            </form>
        </section>
    }
}

#[component]
fn ChannelItem(channel: Channel, on_change: Callback<()>) -> impl IntoView {
    let id = channel.id;
    let log = RwSignal::new(Vec::<Delivery>::new());
    let testing = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<Delivery, String>>);
    let confirming = RwSignal::new(false);
    let load_log = move || {
        spawn_local(async move { log.set(api::alerts::deliveries(id).await.unwrap_or_default()) })
    };
    Effect::new(move |_| load_log());
    let test = move |_| {
        testing.set(true);
        spawn_local(async move {
            let r = api::alerts::test_channel(id)
                .await
                .map_err(|e| e.message().to_owned());
            testing.set(false);
            result.set(Some(r));
            load_log();
        });
    };
    let remove = move |_| {
        spawn_local(async move {
            let _ = api::alerts::delete_channel(id).await;
            on_change.run(());
        })
    };
    let detail = match channel.kind {
        ChannelKind::Webhook | ChannelKind::Slack => format!(
            "{}{}{}",
            channel.url.clone().unwrap_or_default(),
            if channel.secret_set { " · signed" } else { "" },
            if channel.format == WebhookFormat::Alertmanager {
                " · Alertmanager body"
            } else {
                ""
            }
        ),
        ChannelKind::Email => channel
            .smtp
            .as_ref()
            .map(|s| format!("{}:{} → {}", s.host, s.port, s.to.join(", ")))
            .unwrap_or_default(),
        ChannelKind::InApp => "the bell in the header".into(),
    };
    view! {
        <li class="budget-item">
            <div class="budget-head">
                <div>
                    <strong>{channel.name.clone()}</strong> {(channel.name != channel.kind.label()).then(|| view! { " " <span class="badge badge-muted">{channel.kind.label()}</span> })}
                    {(!channel.enabled).then(|| view! { " " <span class="badge badge-muted">"disabled"</span> })}
                    <div class="sub mono">{detail}</div>
                </div>
                <div class="confirm">
                    <button type="button" class="button" on:click=test disabled=move || testing.get()>{move || if testing.get() { "Sending…" } else { "Send test" }}</button>
                    {move || if confirming.get() {
                        view! {
                            <button type="button" class="button button-danger" on:click=remove>"Delete"</button>
                            <button type="button" class="button button-ghost" on:click=move |_| confirming.set(false)>"Keep"</button>
                        }.into_any()
                    } else {
                        view! { <button type="button" class="button button-danger-ghost" on:click=move |_| confirming.set(true)>"Delete…"</button> }.into_any()
                    }}
                </div>
            </div>
            {move || result.get().map(|r| match r {
                Ok(d) if d.ok => view! { <p class="alert alert-ok" role="status">{format!("Test delivered in {} ms.", d.duration_ms)}</p> }.into_any(),
                Ok(d) => view! { <p class="alert alert-error" role="alert">{format!("Test failed: {}", d.error.unwrap_or_default())}</p> }.into_any(),
                Err(e) => view! { <p class="alert alert-error" role="alert">{format!("Test failed: {e}")}</p> }.into_any(),
            })}
            <details>
                <summary>{move || format!("Delivery log ({})", log.with(Vec::len))}</summary>
                {move || if log.with(Vec::is_empty) {
                    view! { <p class="muted">"Nothing sent yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-wrap"><table class="table">
                            <thead><tr><th>"Time"</th><th>"Attempt"</th><th>"Result"</th><th class="num">"Alerts"</th><th class="num">"ms"</th></tr></thead>
                            <tbody>{log.get().into_iter().map(|d| view! {
                                <tr>
                                    <td>{when(&d.at)}</td>
                                    <td class="num">{d.attempt}</td>
                                    <td>{if d.ok { view! { <span class="badge badge-ok">{d.status.map(|s| s.to_string()).unwrap_or_else(|| "ok".into())}</span> }.into_any() } else { view! { <span class="badge badge-error">"failed"</span> " " <span class="muted">{d.error.clone().unwrap_or_default()}</span> }.into_any() }}</td>
                                    <td class="num">{if d.alerts == 0 { "test".to_owned() } else { d.alerts.to_string() }}</td>
                                    <td class="num">{d.duration_ms}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    }.into_any()
                }}
            </details>
        </li>
    }
}
