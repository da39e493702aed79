//! Sending one message to one channel: webhook (signed JSON, Sightline's or Alertmanager's
//! body), Slack-compatible incoming webhook, email over SMTP (lettre) or an in-app notice.
//! Errors are short and never carry a URL or a secret.

use std::time::Duration;

use app::types::{
    alert::{ChannelKind, Severity, SmtpTls, WebhookFormat},
    live::NoticesTopic,
};
use chrono::Utc;
use lettre::{
    message::{header::ContentType, Attachment as LettreAttachment, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::{
    domain::alert::message::{self, Item},
    state::AppState,
    store::{self, alerts::ChannelRow},
};

/// Longest one attempt may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How an attempt went: the HTTP status or SMTP code, and an error for people.
#[derive(Debug)]
pub struct Outcome {
    pub ok: bool,
    pub status: Option<i32>,
    pub error: Option<String>,
}

impl Outcome {
    fn failed(status: Option<i32>, error: impl Into<String>) -> Self {
        Self {
            ok: false,
            status,
            error: Some(error.into()),
        }
    }

    fn sent(status: Option<i32>) -> Self {
        Self {
            ok: true,
            status,
            error: None,
        }
    }
}

fn open(state: &AppState, sealed: Option<&String>, what: &str) -> Result<Option<String>, Outcome> {
    match sealed {
        None => Ok(None),
        Some(s) => state.sealer.open(s).map(Some).map_err(|_| {
            Outcome::failed(
                None,
                format!("the channel's {what} cannot be opened (another data directory's secret.key?); enter it again"),
            )
        }),
    }
}

pub async fn send(state: &AppState, ch: &ChannelRow, group_key: &str, items: &[Item]) -> Outcome {
    match tokio::time::timeout(SEND_TIMEOUT, send_inner(state, ch, group_key, items)).await {
        Ok(o) => o,
        Err(_) => Outcome::failed(
            None,
            format!("no answer within {}s", SEND_TIMEOUT.as_secs()),
        ),
    }
}

async fn send_inner(state: &AppState, ch: &ChannelRow, group_key: &str, items: &[Item]) -> Outcome {
    match ch.kind() {
        ChannelKind::InApp => in_app(state, items).await,
        ChannelKind::Webhook => {
            let body = match ch.format() {
                WebhookFormat::Sightline => message::sightline_body(group_key, items, Utc::now()),
                WebhookFormat::Alertmanager => message::alertmanager_body(
                    &ch.name,
                    group_key,
                    items,
                    state.config.public_url.as_str(),
                ),
            };
            let secret = match open(state, ch.secret_sealed.as_ref(), "secret") {
                Ok(s) => s,
                Err(o) => return o,
            };
            post(state, ch, &body, secret.as_deref()).await
        }
        ChannelKind::Slack => post(state, ch, &message::slack_body(items), None).await,
        ChannelKind::Email => email(state, ch, items).await,
    }
}

/// A report to send: a title, the text people read, the JSON a webhook gets, and the PDF.
pub struct ReportMessage {
    pub title: String,
    pub text: String,
    pub json: serde_json::Value,
    pub attachment: Attachment,
}

/// Sends a report through one channel: email with the PDF attached, a signed webhook with
/// the JSON (which carries the PDF in base64), Slack with the text, or an in-app notice.
pub async fn send_report(state: &AppState, ch: &ChannelRow, r: &ReportMessage) -> Outcome {
    let attempt = async {
        match ch.kind() {
            ChannelKind::InApp => notice(state, Severity::Info, &r.title, &r.text).await,
            ChannelKind::Webhook => {
                let secret = match open(state, ch.secret_sealed.as_ref(), "secret") {
                    Ok(s) => s,
                    Err(o) => return o,
                };
                post(state, ch, &r.json, secret.as_deref()).await
            }
            ChannelKind::Slack => {
                let text = format!("*{}*\n{}", r.title, r.text);
                post(state, ch, &serde_json::json!({ "text": text }), None).await
            }
            ChannelKind::Email => {
                let text = format!("{}\n\n-- \nSightline {}", r.text, state.config.public_url);
                mail(state, ch, &r.title, text, Some(&r.attachment)).await
            }
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT * 2, attempt).await {
        Ok(o) => o,
        Err(_) => Outcome::failed(
            None,
            format!("no answer within {}s", SEND_TIMEOUT.as_secs() * 2),
        ),
    }
}

async fn in_app(state: &AppState, items: &[Item]) -> Outcome {
    let severity = items
        .iter()
        .map(|i| i.severity)
        .max()
        .unwrap_or(Severity::Info);
    notice(
        state,
        severity,
        &message::title(items),
        &message::text(items),
    )
    .await
}

async fn notice(state: &AppState, severity: Severity, title: &str, text: &str) -> Outcome {
    match store::alerts::insert_notice(&state.pool, severity, title, text).await {
        Ok(n) => {
            state.live.publish::<NoticesTopic, _>(|| n);
            Outcome::sent(None)
        }
        Err(e) => Outcome::failed(None, format!("cannot store the notice: {e}")),
    }
}

async fn post(
    state: &AppState,
    ch: &ChannelRow,
    body: &serde_json::Value,
    secret: Option<&str>,
) -> Outcome {
    let url = match open(state, ch.url_sealed.as_ref(), "URL") {
        Ok(Some(u)) => u,
        Ok(None) => return Outcome::failed(None, "the channel has no URL"),
        Err(o) => return o,
    };
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut req = state
        .http_client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::USER_AGENT,
            concat!("Sightline/", env!("CARGO_PKG_VERSION")),
        )
        .timeout(SEND_TIMEOUT);
    if let Some(secret) = secret {
        let sig = message::signature(secret.as_bytes(), Utc::now().timestamp(), &bytes);
        req = req.header("x-sightline-signature", sig);
    }
    match req.body(bytes).send().await {
        Ok(r) if r.status().is_success() => Outcome::sent(Some(i32::from(r.status().as_u16()))),
        Ok(r) => Outcome::failed(
            Some(i32::from(r.status().as_u16())),
            format!("the receiver answered {}", r.status()),
        ),
        Err(e) => Outcome::failed(None, e.without_url().to_string()),
    }
}

async fn email(state: &AppState, ch: &ChannelRow, items: &[Item]) -> Outcome {
    let text = format!(
        "{}\n\n{}\n\n-- \nSightline {}",
        message::title(items),
        message::text(items),
        state.config.public_url
    );
    mail(state, ch, &message::title(items), text, None).await
}

/// A file sent with a message: its name and PDF bytes.
pub struct Attachment {
    pub filename: String,
    pub pdf: Vec<u8>,
}

/// Sends one email through the channel's SMTP server, with `attachment` when given.
async fn mail(
    state: &AppState,
    ch: &ChannelRow,
    subject: &str,
    text: String,
    attachment: Option<&Attachment>,
) -> Outcome {
    let Some(smtp) = ch.smtp() else {
        return Outcome::failed(None, "the channel has no SMTP settings");
    };
    let password = match open(state, ch.smtp_password_sealed.as_ref(), "SMTP password") {
        Ok(p) => p,
        Err(o) => return o,
    };
    let mut builder = Message::builder().subject(subject);
    match smtp.from.parse() {
        Ok(from) => builder = builder.from(from),
        Err(_) => return Outcome::failed(None, "the sender address is not valid"),
    }
    for to in &smtp.to {
        match to.parse() {
            Ok(to) => builder = builder.to(to),
            Err(_) => return Outcome::failed(None, format!("'{to}' is not a valid address")),
        }
    }
    let built = match attachment {
        None => builder.header(ContentType::TEXT_PLAIN).body(text),
        Some(a) => {
            let pdf = ContentType::parse("application/pdf").unwrap_or(ContentType::TEXT_PLAIN);
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(LettreAttachment::new(a.filename.clone()).body(a.pdf.clone(), pdf)),
            )
        }
    };
    let mail = match built {
        Ok(m) => m,
        Err(e) => return Outcome::failed(None, format!("cannot build the email: {e}")),
    };
    let port = u16::try_from(smtp.port).unwrap_or(587);
    let transport = match smtp.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &smtp.host,
        )),
    };
    let mut transport = match transport {
        Ok(t) => t.port(port).timeout(Some(SEND_TIMEOUT)),
        Err(e) => return Outcome::failed(None, format!("SMTP set-up failed: {e}")),
    };
    if let (Some(user), Some(pw)) = (smtp.username.clone(), password) {
        transport = transport.credentials(Credentials::new(user, pw));
    }
    match transport.build().send(mail).await {
        Ok(r) => Outcome::sent(Some(i32::from(u16::from(r.code())))),
        Err(e) => Outcome::failed(
            e.status().map(|c| i32::from(u16::from(c))),
            format!("SMTP: {e}"),
        ),
    }
}
