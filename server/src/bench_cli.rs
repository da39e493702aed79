//! `sightline bench`: starts a benchmark run on a running server, shows each model's
//! progress as terminal bars while it runs (from the live stream), and prints the results
//! as a table, or as JSON with `--json`. Ctrl-C cancels the run on the server.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use app::types::bench::{
    parse_prompt_file, BenchCategory, BenchModelResult, BenchRunDetail, BenchRunInput,
    BenchRunSummary, BenchStatus, ScoreMethod,
};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::proxy::sse::{self, EventSplitter};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub conn: crate::cli::ServerArgs,
    /// The models to compare, as provider/model, separated by commas.
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<String>,
    /// The prompts: one per line, or JSON Lines `{"prompt": ..., "expected": ...}`.
    #[arg(long, value_name = "FILE")]
    pub prompts: PathBuf,
    /// Expected answers, one per line in the prompts' order (a blank line for none).
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    /// none, exact, contains, regex or judge (default: exact when answers are expected).
    #[arg(long)]
    pub scoring: Option<String>,
    /// The judge model (provider/model) when scoring by judge.
    #[arg(long)]
    pub judge: Option<String>,
    /// coding, reasoning, creative_writing or analysis.
    #[arg(long, default_value = "reasoning")]
    pub category: String,
    #[arg(long, default_value_t = String::new())]
    pub name: String,
    #[arg(long, default_value_t = 1)]
    pub repetitions: u32,
    /// Requests in flight per model.
    #[arg(long, default_value_t = 2)]
    pub concurrency: u32,
    #[arg(long, default_value_t = 512)]
    pub max_tokens: u32,
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Seconds a request may take.
    #[arg(long, default_value_t = 120)]
    pub timeout: u32,
    /// Print the run with every answer as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    fn input(&self) -> anyhow::Result<BenchRunInput> {
        let text = std::fs::read_to_string(&self.prompts)
            .with_context(|| format!("cannot read {}", self.prompts.display()))?;
        let parsed = parse_prompt_file(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.prompts.display()))?;
        let typed: Vec<String> = match &self.expected {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .lines()
                .map(|l| l.trim().to_owned())
                .collect(),
            None => Vec::new(),
        };
        let (prompts, expected): (Vec<String>, Vec<Option<String>>) = parsed
            .into_iter()
            .enumerate()
            .map(|(i, (p, e))| {
                let line = typed.get(i).filter(|t| !t.is_empty()).cloned();
                (p, e.or(line))
            })
            .unzip();
        let scoring = match &self.scoring {
            Some(s) => ScoreMethod::parse(s).with_context(|| {
                format!("--scoring: '{s}' is not none, exact, contains, regex or judge")
            })?,
            None if self.judge.is_some() => ScoreMethod::Judge,
            None if expected.iter().any(Option::is_some) => ScoreMethod::Exact,
            None => ScoreMethod::None,
        };
        let category = BenchCategory::parse(&self.category).with_context(|| {
            format!(
                "--category: '{}' is not coding, reasoning, creative_writing or analysis",
                self.category
            )
        })?;
        Ok(BenchRunInput {
            name: self.name.clone(),
            models: self.models.clone(),
            category,
            prompts,
            expected,
            scoring,
            judge_model: self.judge.clone(),
            repetitions: self.repetitions,
            concurrency: self.concurrency,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            timeout_s: self.timeout,
        })
    }
}

/// The server's refusal as one line: what it said and which field.
async fn refusal(what: &str, response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body["message"].as_str().unwrap_or("no explanation given");
    match body["field"].as_str() {
        Some(f) => anyhow::anyhow!("the server refused {what} ({status}), {f}: {message}"),
        None => anyhow::anyhow!("the server refused {what} ({status}): {message}"),
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let input = args.input()?;
    let client = reqwest::Client::new();
    let api = |path: &str| {
        args.conn
            .server
            .join(path)
            .context("the server URL cannot take a path")
    };
    // The live stream first, so no progress is missed between the start and the follow.
    let stream = client
        .get(api("api/v1/stream")?)
        .query(&[("topics", "benchmarks")])
        .bearer_auth(&args.conn.api_key)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.conn.server))?;
    if !stream.status().is_success() {
        return Err(refusal("the live stream", stream).await);
    }
    let started = client
        .post(api("api/v1/benchmarks")?)
        .bearer_auth(&args.conn.api_key)
        .json(&input)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.conn.server))?;
    if !started.status().is_success() {
        return Err(refusal("the run", started).await);
    }
    let run: BenchRunSummary = started.json().await.context("the server's answer")?;
    let id = run.id;
    let bars = Bars::new(&run, args.json);
    let mut events = stream.bytes_stream();
    let mut splitter = EventSplitter::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut cancelled = false;
    // Checks the run now and then too: a stream that drops must not leave us waiting.
    let mut check = tokio::time::interval(Duration::from_secs(5));
    'follow: loop {
        tokio::select! {
            chunk = events.next() => {
                let Some(Ok(chunk)) = chunk else { break 'follow };
                for raw in splitter.push(&chunk) {
                    let ev = sse::parse(&raw);
                    if ev.name.as_deref() != Some("benchmarks") {
                        continue;
                    }
                    let Ok(summary) = serde_json::from_str::<BenchRunSummary>(&ev.data) else { continue };
                    if summary.id != id {
                        continue;
                    }
                    bars.update(&summary);
                    if summary.status != BenchStatus::Running {
                        break 'follow;
                    }
                }
            }
            _ = check.tick() => {
                let d = detail(&client, &api(&format!("api/v1/benchmarks/{id}"))?, &args.conn.api_key).await?;
                bars.update(&d.run);
                if d.run.status != BenchStatus::Running {
                    break 'follow;
                }
            }
            _ = &mut ctrl_c, if !cancelled => {
                cancelled = true;
                bars.note("cancelling…");
                let r = client
                    .post(api(&format!("api/v1/benchmarks/{id}/cancel"))?)
                    .bearer_auth(&args.conn.api_key)
                    .send()
                    .await?;
                if !r.status().is_success() && r.status() != reqwest::StatusCode::CONFLICT {
                    return Err(refusal("cancelling", r).await);
                }
            }
        }
    }
    let d = detail(
        &client,
        &api(&format!("api/v1/benchmarks/{id}"))?,
        &args.conn.api_key,
    )
    .await?;
    bars.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", table(&d.run));
    }
    match d.run.status {
        BenchStatus::Done => Ok(()),
        s => bail!("run {id} ended {}", s.as_str()),
    }
}

async fn detail(
    client: &reqwest::Client,
    url: &url::Url,
    key: &str,
) -> anyhow::Result<BenchRunDetail> {
    let r = client.get(url.clone()).bearer_auth(key).send().await?;
    if !r.status().is_success() {
        return Err(refusal("reading the run", r).await);
    }
    Ok(r.json().await?)
}

/// One progress bar per model, on standard error (hidden with `--json`).
struct Bars {
    multi: MultiProgress,
    by_model: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new(run: &BenchRunSummary, hidden: bool) -> Self {
        let multi = MultiProgress::new();
        if hidden {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let width = run.models.iter().map(|m| m.model.len()).max().unwrap_or(10);
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:<{width}}} [{{bar:30}}] {{pos}}/{{len}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let by_model = run
            .models
            .iter()
            .map(|m| {
                let bar = multi.add(ProgressBar::new(u64::from(m.total)));
                bar.set_style(style.clone());
                bar.set_prefix(m.model.clone());
                (m.model.clone(), bar)
            })
            .collect();
        Bars { multi, by_model }
    }

    fn update(&self, run: &BenchRunSummary) {
        for m in &run.models {
            if let Some(bar) = self.by_model.get(&m.model) {
                bar.set_position(u64::from(m.done));
                bar.set_message(format!(
                    "TTFB {} · {} tok/s{}",
                    ms(m.last_ttfb_ms),
                    num(m.last_tokens_per_s, 1),
                    if m.errors > 0 {
                        format!(" · {} errors", m.errors)
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }

    fn note(&self, text: &str) {
        let _ = self.multi.println(text);
    }

    fn finish(&self) {
        for bar in self.by_model.values() {
            bar.finish();
        }
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} ms"))
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.decimals$}"))
}

/// The results as an aligned text table.
pub fn table(run: &BenchRunSummary) -> String {
    let head = [
        "model",
        "done",
        "errors",
        "ttfb p50",
        "ttfb p95",
        "total p50",
        "total p95",
        "tok/s",
        "cost usd",
        "quality",
    ];
    let rows: Vec<[String; 10]> = run
        .models
        .iter()
        .map(|m: &BenchModelResult| {
            [
                m.model.clone(),
                format!("{}/{}", m.done, m.total),
                m.errors.to_string(),
                ms(m.ttfb_p50_ms),
                ms(m.ttfb_p95_ms),
                ms(m.total_p50_ms),
                ms(m.total_p95_ms),
                num(m.tokens_per_s, 1),
                num(m.cost, 6),
                m.quality
                    .map_or_else(|| "—".to_owned(), |q| format!("{:.0}%", q * 100.0)),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i == 0 {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            }
        }
        out.push('\n');
        out
    };
    let mut out = format!(
        "run {} \"{}\": {} in {}\n",
        run.id,
        run.name,
        run.status.as_str(),
        run.wall_ms
            .map_or_else(|| "—".to_owned(), |w| format!("{:.2} s", w / 1000.0))
    );
    out.push_str(&line(head.to_vec()));
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
