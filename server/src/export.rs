//! `sightline export`: downloads a report from a running server's
//! `GET /api/v1/reports/export` to a file or standard output, streaming, so an export of
//! any size never sits in memory. The server validates every option and its refusal
//! (which names the option) is printed as is.

use std::{io::Write, path::PathBuf};

use anyhow::{bail, Context};
use futures_util::StreamExt;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub conn: crate::cli::ServerArgs,
    /// `aggregates` (figures per group and bucket) or `calls` (every call).
    #[arg(long, default_value = "aggregates")]
    pub kind: String,
    /// `csv`, `json` or `pdf` (aggregates only).
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// A look-back such as `24h`, `7d` or `30d` (default: the last 24 hours).
    #[arg(long, conflicts_with = "from")]
    pub range: Option<String>,
    /// Start of the range (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (RFC 3339; default now).
    #[arg(long)]
    pub to: Option<String>,
    /// Aggregates: model, provider, feature, session, user or api_key.
    #[arg(long)]
    pub group_by: Option<String>,
    /// Aggregates: minute, hour, day, week, month (default: by the range's length).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Aggregates: the IANA time zone of the buckets (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long)]
    pub feature: Option<String>,
    /// Write here instead of standard output; progress goes to standard error.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl ExportArgs {
    /// The query the server's export endpoint takes.
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("kind", self.kind.clone()), ("format", self.format.clone())];
        let optional = [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("group_by", &self.group_by),
            ("bucket", &self.bucket),
            ("tz", &self.tz),
            ("model", &self.model),
            ("provider", &self.provider),
            ("feature", &self.feature),
        ];
        q.extend(
            optional
                .into_iter()
                .filter_map(|(name, v)| v.clone().map(|v| (name, v))),
        );
        q
    }
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let url = args
        .conn
        .server
        .join("api/v1/reports/export")
        .context("the server URL cannot take a path")?;
    let response = reqwest::Client::new()
        .get(url.clone())
        .query(&args.query())
        .bearer_auth(&args.conn.api_key)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or("no explanation given");
        bail!("the server refused the export ({status}): {message}");
    }
    let mut sink: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // Progress on standard error while writing to a file: bytes so far and the rate.
    let progress = match &args.out {
        Some(_) => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {bytes} ({bytes_per_sec}) {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        ),
        None => indicatif::ProgressBar::hidden(),
    };
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the export was cut off")?;
        sink.write_all(&chunk).context("cannot write the export")?;
        progress.inc(chunk.len() as u64);
    }
    sink.flush().context("cannot write the export")?;
    if let Some(path) = &args.out {
        progress.finish_with_message(format!("written to {}", path.display()));
    }
    Ok(())
}
