//! The Benchmarks page: start a run that sends the same prompts to several models, follow
//! it live (progress, current TTFB and speed per model), read its results as a table and
//! charts, and compare two runs from the history side by side.
//!
//! The URL holds what is shown (`?run=ID&compare=ID`), so a result can be linked.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    api::{self, live},
    charts::{self, BenchMetric},
    components::{
        chart::EChart,
        load::{Load, LoadStatus},
    },
    format,
    types::{
        bench::{
            parse_prompt_file, BenchCategory, BenchModelResult, BenchModels, BenchRunDetail,
            BenchRunInput, BenchRunSummary, BenchStatus, ScoreMethod,
        },
        live::BenchTopic,
    },
};

/// The form as typed.
#[derive(Debug, Clone)]
struct Draft {
    name: String,
    models: Vec<String>,
    category: String,
    prompts: String,
    expected: String,
    scoring: String,
    judge: String,
    repetitions: String,
    concurrency: String,
    max_tokens: String,
    temperature: String,
    timeout: String,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            name: String::new(),
            models: Vec::new(),
            category: "reasoning".into(),
            prompts: String::new(),
            expected: String::new(),
            scoring: "none".into(),
            judge: String::new(),
            repetitions: "1".into(),
            concurrency: "2".into(),
            max_tokens: "512".into(),
            temperature: "0".into(),
            timeout: "120".into(),
        }
    }
}

/// A form field that could not be read: (field, message).
type FormError = (String, String);

fn number<T: std::str::FromStr>(field: &str, label: &str, text: &str) -> Result<T, FormError> {
    text.trim()
        .parse()
        .map_err(|_| (field.to_owned(), format!("{label} must be a number")))
}

impl Draft {
    /// The run to start. Prompts are JSON Lines (with optional expected answers) or plain
    /// lines; the expected-answers box, one per line, fills in those the file lacks. The
    /// server checks the rest.
    fn input(&self) -> Result<BenchRunInput, FormError> {
        let parsed = parse_prompt_file(&self.prompts).map_err(|e| ("prompts".to_owned(), e))?;
        let typed: Vec<&str> = self.expected.lines().collect();
        let (prompts, expected): (Vec<String>, Vec<Option<String>>) = parsed
            .into_iter()
            .enumerate()
            .map(|(i, (p, e))| {
                let line = typed.get(i).map(|t| t.trim()).filter(|t| !t.is_empty());
                (p, e.or_else(|| line.map(str::to_owned)))
            })
            .unzip();
        let scoring = ScoreMethod::parse(&self.scoring).unwrap_or_default();
        Ok(BenchRunInput {
            name: self.name.clone(),
            models: self.models.clone(),
            category: BenchCategory::parse(&self.category).unwrap_or_default(),
            prompts,
            expected,
            scoring,
            judge_model: (scoring == ScoreMethod::Judge && !self.judge.is_empty())
                .then(|| self.judge.clone()),
            repetitions: number("repetitions", "Repetitions", &self.repetitions)?,
            concurrency: number("concurrency", "Concurrency", &self.concurrency)?,
            max_tokens: number("max_tokens", "Max tokens", &self.max_tokens)?,
            temperature: number("temperature", "Temperature", &self.temperature)?,
            timeout_s: number("timeout_s", "Timeout", &self.timeout)?,
        })
    }
}

fn field_label(field: &str) -> &'static str {
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "models" => "Models",
        "prompts" => "Prompts",
        "expected" => "Expected answers",
        "judge_model" => "Judge model",
        "repetitions" => "Repetitions",
        "concurrency" => "Concurrency",
        "max_tokens" => "Max tokens",
        "temperature" => "Temperature",
        "timeout_s" => "Timeout",
        "scoring" => "Scoring",
        "category" => "Category",
        "name" => "Name",
        _ => "Run",
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), format::latency)
}

fn speed(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |t| format!("{t:.1}"))
}

fn usd(v: Option<f64>) -> String {
    format::usd_micros(v.map(|c| (c * 1e6).round() as i64))
}

fn quality(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |q| format!("{:.0} %", q * 100.0))
}

fn status_badge(s: BenchStatus) -> impl IntoView {
    let class = match s {
        BenchStatus::Running => "badge badge-warn",
        BenchStatus::Done => "badge badge-ok",
        BenchStatus::Cancelled | BenchStatus::Interrupted => "badge badge-muted",
    };
    view! { <span class=class data-testid="run-status">{s.as_str()}</span> }
}

#[component]
pub fn BenchmarksPage() -> impl IntoView {
    let query = use_query_map();
    let shown =
        Signal::derive(move || query.with(|q| q.get("run").and_then(|v| v.parse::<i64>().ok())));
    let compare = Signal::derive(move || {
        query.with(|q| q.get("compare").and_then(|v| v.parse::<i64>().ok()))
    });

    let models = RwSignal::new(None::<Result<BenchModels, String>>);
    let runs = RwSignal::new(Vec::<BenchRunSummary>::new());
    let runs_load = RwSignal::new(Load::Loading);
    let detail = RwSignal::new(None::<BenchRunDetail>);
    let detail_load = RwSignal::new(Load::Ready);
    let other = RwSignal::new(None::<BenchRunDetail>);

    let fetch_models = move || {
        spawn_local(async move {
            models.set(Some(
                api::bench::models()
                    .await
                    .map_err(|e| e.message().to_owned()),
            ));
        });
    };
    let fetch_runs = move || {
        spawn_local(async move {
            match api::bench::runs().await {
                Ok(r) => {
                    runs.set(r);
                    runs_load.set(Load::Ready);
                }
                Err(e) => runs_load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    let fetch_detail = move |id: i64| {
        spawn_local(async move {
            match api::bench::run(id).await {
                Ok(d) => {
                    detail.set(Some(d));
                    detail_load.set(Load::Ready);
                }
                Err(e) => detail_load.set(Load::Failed(e.message().to_owned())),
            }
        });
    };
    Effect::new(move |_| {
        fetch_models();
        fetch_runs();
    });
    Effect::new(move |_| match shown.get() {
        Some(id) => {
            detail_load.set(Load::Loading);
            fetch_detail(id);
        }
        None => detail.set(None),
    });
    Effect::new(move |_| match compare.get() {
        Some(id) => spawn_local(async move {
            other.set(api::bench::run(id).await.ok());
        }),
        None => other.set(None),
    });
    // Live progress: the history's row, and the run on show; its answers once it ends.
    Effect::new(move |_| {
        live::subscribe::<BenchTopic>(move |msg| match msg {
            live::LiveMessage::Data(run) => {
                let id = run.id;
                let ended = run.status != BenchStatus::Running;
                runs.update(|list| match list.iter_mut().find(|r| r.id == id) {
                    Some(r) => *r = run.clone(),
                    None => list.insert(0, run.clone()),
                });
                if shown.get_untracked() == Some(id) {
                    detail.update(|d| {
                        if let Some(d) = d {
                            d.run = run;
                        }
                    });
                    if ended {
                        fetch_detail(id);
                    }
                }
            }
            live::LiveMessage::Resync => {
                fetch_runs();
                if let Some(id) = shown.get_untracked() {
                    fetch_detail(id);
                }
            }
        });
    });

    let navigate = use_navigate();
    let show = Callback::new(move |(id, with): (i64, Option<i64>)| {
        let url = match with {
            Some(c) => format!("/benchmarks?run={id}&compare={c}"),
            None => format!("/benchmarks?run={id}"),
        };
        navigate(&url, Default::default());
    });

    view! {
        <Title text="Benchmarks" />
        <div class="page-header">
            <h1>"Benchmarks"</h1>
            <p class="muted">"The same prompts to several models at once, through the proxy: speed, cost and quality side by side."</p>
        </div>
        <RunForm models retry_models=Callback::new(move |_| fetch_models()) started=Callback::new(move |run: BenchRunSummary| {
            let id = run.id;
            runs.update(|l| l.insert(0, run));
            show.run((id, None));
        }) />
        <LoadStatus load=detail_load what="the run" retry=Callback::new(move |_| if let Some(id) = shown.get_untracked() { fetch_detail(id) }) />
        {move || detail.get().map(|d| view! { <RunView detail=d other=other /> })}
        <History runs runs_load shown compare show retry=Callback::new(move |_| fetch_runs()) />
    }
}

#[component]
fn RunForm(
    models: RwSignal<Option<Result<BenchModels, String>>>,
    retry_models: Callback<()>,
    started: Callback<BenchRunSummary>,
) -> impl IntoView {
    let draft = RwSignal::new(Draft::default());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<FormError>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let input = match draft.with_untracked(Draft::input) {
            Ok(i) => i,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        spawn_local(async move {
            match api::bench::start(input).await {
                Ok(run) => started.run(run),
                Err(e) => error.set(Some((
                    e.body.field.clone().unwrap_or_default(),
                    e.message().to_owned(),
                ))),
            }
            busy.set(false);
        });
    };
    let toggle = move |model: String, on: bool| {
        draft.update(|d| {
            d.models.retain(|m| *m != model);
            if on {
                d.models.push(model);
            }
        });
    };
    let text = move |label: &'static str,
                     id: &'static str,
                     get: fn(&Draft) -> String,
                     set: fn(&mut Draft, String),
                     kind: &'static str| {
        view! {
            <label class="field" for=id>
                <span>{label}</span>
                <input id=id type=kind inputmode=if kind == "number" { "decimal" } else { "text" }
                    prop:value=move || draft.with(get)
                    on:input=move |ev| draft.update(|d| set(d, event_target_value(&ev))) />
            </label>
        }
    };
    let judging = move || draft.with(|d| d.scoring == "judge");
    let model_list = move || {
        models
            .get()
            .and_then(Result::ok)
            .map(|m| m.models)
            .unwrap_or_default()
    };

    view! {
        <section class="card" aria-labelledby="bench-form-title">
            <h2 id="bench-form-title">"New run"</h2>
            <form class="form form-grid bench-form" on:submit=on_submit novalidate aria-describedby="bench-error">
                <fieldset class="field field-wide bench-models" data-testid="bench-models">
                    <legend>"Models"</legend>
                    {move || match models.get() {
                        None => view! { <p class="muted" aria-busy="true">"Loading the providers' models…"</p> }.into_any(),
                        Some(Err(e)) => view! {
                            <div class="alert alert-error" role="alert">
                                <span>"Could not load models: " {e}</span>
                                <button type="button" class="button button-ghost" on:click=move |_| retry_models.run(())>"Retry"</button>
                            </div>
                        }.into_any(),
                        Some(Ok(m)) if m.models.is_empty() && m.unavailable.is_empty() => view! {
                            <p class="empty">"No models to test: add a provider under "
                                <a href="/settings/providers">"Settings › Providers"</a> "."</p>
                        }.into_any(),
                        Some(Ok(m)) if m.models.is_empty() => view! {
                            <div class="alert alert-error" role="alert">
                                <span>"No provider listed its models: "
                                    {m.unavailable.iter().map(|u| format!("{}: {}", u.provider, u.message)).collect::<Vec<_>>().join("; ")}</span>
                                <button type="button" class="button button-ghost" on:click=move |_| retry_models.run(())>"Retry"</button>
                            </div>
                        }.into_any(),
                        Some(Ok(m)) => {
                            let unavailable = m.unavailable.clone();
                            view! {
                                <div class="check-list">
                                    {m.models.into_iter().map(|name| {
                                        let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
                                        view! {
                                            <label class="check">
                                                <input type="checkbox" value=n1
                                                    prop:checked=move || draft.with(|d| d.models.contains(&n2))
                                                    on:change=move |ev| toggle(n3.clone(), event_target_checked(&ev)) />
                                                <span>{name}</span>
                                            </label>
                                        }
                                    }).collect_view()}
                                </div>
                                {unavailable.into_iter().map(|u| view! {
                                    <p class="muted small">{format!("{}: models not listed ({})", u.provider, u.message)}</p>
                                }).collect_view()}
                            }.into_any()
                        }
                    }}
                </fieldset>
                {text("Name", "bench-name", |d| d.name.clone(), |d, v| d.name = v, "text")}
                <label class="field" for="bench-category">
                    <span>"Category"</span>
                    <select id="bench-category" prop:value=move || draft.with(|d| d.category.clone())
                        on:change=move |ev| draft.update(|d| d.category = event_target_value(&ev))>
                        {BenchCategory::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                    </select>
                </label>
                <div class="field field-wide">
                    <label class="field" for="bench-prompts">
                        <span>"Prompts"</span>
                        <textarea id="bench-prompts" rows="6" spellcheck="false"
                            placeholder="One prompt per line, or JSON Lines: {\"prompt\": \"What is 2+2?\", \"expected\": \"4\"}"
                            prop:value=move || draft.with(|d| d.prompts.clone())
                            on:input=move |ev| draft.update(|d| d.prompts = event_target_value(&ev))></textarea>
                    </label>
                    <PromptFile draft />
                </div>
                <label class="field" for="bench-scoring">
                    <span>"Scoring"</span>
                    <select id="bench-scoring" prop:value=move || draft.with(|d| d.scoring.clone())
                        on:change=move |ev| draft.update(|d| d.scoring = event_target_value(&ev))>
                        {ScoreMethod::ALL.iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                    </select>
                </label>
                <Show when=judging>
                    <label class="field" for="bench-judge">
                        <span>"Judge model"</span>
                        <select id="bench-judge" prop:value=move || draft.with(|d| d.judge.clone())
                            on:change=move |ev| draft.update(|d| d.judge = event_target_value(&ev))>
                            <option value="">"Pick a judge"</option>
                            {move || model_list().into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                </Show>
                <Show when=move || draft.with(|d| d.scoring != "none" && d.scoring != "judge")>
                    <label class="field field-wide" for="bench-expected">
                        <span>"Expected answers"</span>
                        <textarea id="bench-expected" rows="4" spellcheck="false"
                            placeholder="One per line, in the prompts' order (a blank line: none); a regular expression when scoring by regex"
                            prop:value=move || draft.with(|d| d.expected.clone())
                            on:input=move |ev| draft.update(|d| d.expected = event_target_value(&ev))></textarea>
                    </label>
                </Show>
                {text("Repetitions", "bench-repetitions", |d| d.repetitions.clone(), |d, v| d.repetitions = v, "number")}
                {text("Concurrency per model", "bench-concurrency", |d| d.concurrency.clone(), |d, v| d.concurrency = v, "number")}
                {text("Max tokens", "bench-max-tokens", |d| d.max_tokens.clone(), |d, v| d.max_tokens = v, "number")}
                {text("Temperature", "bench-temperature", |d| d.temperature.clone(), |d, v| d.temperature = v, "number")}
                {text("Timeout per request (s)", "bench-timeout", |d| d.timeout.clone(), |d, v| d.timeout = v, "number")}
                <div class="form-actions field-wide">
                    <button type="submit" class="button button-primary" data-testid="bench-start" disabled=move || busy.get()>
                        {move || if busy.get() { "Starting…" } else { "Start run" }}
                    </button>
                    <span class="muted">{move || {
                        let n = draft.with(|d| d.models.len());
                        format!("{n} model{} selected", if n == 1 { "" } else { "s" })
                    }}</span>
                </div>
            </form>
            <p id="bench-error" class="field-error" role="alert" data-testid="bench-error">
                {move || error.get().map(|(field, message)| format!("{}: {message}", field_label(&field)))}
            </p>
        </section>
    }
}

/// Loads a prompt file (JSON Lines or plain lines) into the prompts box.
#[component]
fn PromptFile(draft: RwSignal<Draft>) -> impl IntoView {
    let note = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    let on_change = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        if file.size() > crate::types::bench::MAX_PROMPT_BYTES as f64 {
            note.set(Some(format!("{} is over 10 MB", file.name())));
            return;
        }
        let name = file.name();
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(text) => {
                    let text = text.as_string().unwrap_or_default();
                    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
                    draft.update(|d| d.prompts = text);
                    note.set(Some(format!("{name}: {lines} prompts loaded")));
                }
                Err(_) => note.set(Some(format!("{name} could not be read"))),
            }
        });
    };
    // Files are read in the browser only.
    #[cfg(not(feature = "hydrate"))]
    let on_change = {
        let _ = draft;
        |_: leptos::ev::Event| {}
    };
    view! {
        <span class="file-pick">
            <input type="file" id="bench-file" accept=".jsonl,.txt,.json,text/plain" on:change=on_change
                aria-label="Load prompts from a JSON Lines or text file" />
            <span class="muted small" role="status">{move || note.get()}</span>
        </span>
    }
}

/// A run: live progress while it runs, then results, charts and answers.
#[component]
fn RunView(detail: BenchRunDetail, other: RwSignal<Option<BenchRunDetail>>) -> impl IntoView {
    let run = detail.run.clone();
    let id = run.id;
    let running = run.status == BenchStatus::Running;
    let cancelling = RwSignal::new(false);
    let cancel_error = RwSignal::new(None::<String>);
    let cancel = move |_| {
        cancelling.set(true);
        spawn_local(async move {
            if let Err(e) = api::bench::cancel(id).await {
                cancel_error.set(Some(e.message().to_owned()));
                cancelling.set(false);
            }
        });
    };
    let wall = run.wall_ms.map_or_else(|| "—".to_owned(), format::millis);
    let models = run.models.clone();
    let metric = RwSignal::new(BenchMetric::TtfbP50);
    let chart_models = StoredValue::new(models.clone());
    let scored = models.iter().any(|m| m.quality.is_some());
    view! {
        <section class="card" data-testid="bench-run" aria-labelledby="bench-run-title">
            <div class="card-head">
                <h2 id="bench-run-title">{run.name.clone()}</h2>
                {status_badge(run.status)}
            </div>
            <p class="muted">
                {format!("{} · {} prompts × {} · scoring: {} · started {} · {}",
                    run.category.label(), run.prompts, run.repetitions, run.scoring.label(),
                    crate::pages::alerts::when(&run.created_at),
                    if running { format!("running for {wall}") } else { format!("took {wall}") })}
            </p>
            {running.then(|| view! {
                <div class="bench-progress" data-testid="bench-progress">
                    {models.iter().map(|m| view! { <Progress m=m.clone() /> }).collect_view()}
                    <div class="form-actions">
                        <button type="button" class="button button-danger" data-testid="bench-cancel"
                            on:click=cancel disabled=move || cancelling.get()>
                            {move || if cancelling.get() { "Cancelling…" } else { "Cancel run" }}
                        </button>
                        <span class="field-error" role="alert">{move || cancel_error.get()}</span>
                    </div>
                </div>
            })}
            <ResultsTable models=models.clone() />
        </section>
        {(!running).then(|| view! {
            <div class="chart-grid">
                <section class="card chart-card">
                    <div class="card-head">
                        <h2>"By model"</h2>
                        <select aria-label="Metric" prop:value=move || metric.get().key()
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                if let Some(m) = BenchMetric::ALL.into_iter().find(|m| m.key() == v) {
                                    metric.set(m);
                                }
                            }>
                            {BenchMetric::ALL.iter().map(|m| view! { <option value=m.key()>{m.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <EChart id="chart-bench-bars" label=Signal::derive(move || format!("{} per model", metric.get().label()))
                        option=move |p| chart_models.with_value(|m| charts::bench_bars(m, metric.get(), p)) />
                </section>
                <section class="card chart-card">
                    <h2>"Speed against quality"</h2>
                    {if scored {
                        view! {
                            <EChart id="chart-bench-scatter" label=Signal::derive(|| "Output tokens per second against quality score, one point per model".to_owned())
                                option=move |p| chart_models.with_value(|m| charts::bench_speed_quality(m, p)) />
                        }.into_any()
                    } else {
                        view! { <p class="empty">"This run was not scored: pick a scoring method to compare quality."</p> }.into_any()
                    }}
                </section>
            </div>
        })}
        {move || other.get().filter(|o| o.run.id != id).map(|o| view! { <Comparison a=run.clone() b=o.run /> })}
        {(!running && !detail.answers.is_empty()).then(|| view! { <Answers detail=detail.clone() /> })}
    }
}

#[component]
fn Progress(m: BenchModelResult) -> impl IntoView {
    let pct = if m.total == 0 {
        0.0
    } else {
        f64::from(m.done) / f64::from(m.total) * 100.0
    };
    view! {
        <div class="bench-model-progress" data-testid="bench-model-progress">
            <div class="bench-progress-head">
                <strong>{m.model.clone()}</strong>
                <span class="muted">{format!("{} / {} · TTFB {} · {} tokens/s{}", m.done, m.total, ms(m.last_ttfb_ms), speed(m.last_tokens_per_s),
                    if m.errors > 0 { format!(" · {} errors", m.errors) } else { String::new() })}</span>
            </div>
            <div class="meter" role="progressbar" aria-label=format!("{} progress", m.model)
                aria-valuemin="0" aria-valuemax=m.total.to_string() aria-valuenow=m.done.to_string()>
                <div class="meter-fill" style=format!("width: {pct:.1}%")></div>
            </div>
        </div>
    }
}

#[component]
fn ResultsTable(models: Vec<BenchModelResult>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="bench-results">
                <thead><tr>
                    <th scope="col">"Model"</th>
                    <th scope="col" class="num">"Done"</th>
                    <th scope="col" class="num">"TTFB p50"</th>
                    <th scope="col" class="num">"TTFB p95"</th>
                    <th scope="col" class="num">"Total p50"</th>
                    <th scope="col" class="num">"Total p95"</th>
                    <th scope="col" class="num">"Tokens/s"</th>
                    <th scope="col" class="num">"Cost"</th>
                    <th scope="col" class="num">"Errors"</th>
                    <th scope="col" class="num">"Quality"</th>
                </tr></thead>
                <tbody>
                    {models.into_iter().map(|m| view! {
                        <tr>
                            <td class="strong" data-label="Model">{m.model.clone()}</td>
                            <td class="num" data-label="Done">{format!("{} / {}", m.done, m.total)}</td>
                            <td class="num" data-label="TTFB p50">{ms(m.ttfb_p50_ms)}</td>
                            <td class="num" data-label="TTFB p95">{ms(m.ttfb_p95_ms)}</td>
                            <td class="num" data-label="Total p50">{ms(m.total_p50_ms)}</td>
                            <td class="num" data-label="Total p95">{ms(m.total_p95_ms)}</td>
                            <td class="num" data-label="Tokens/s">{speed(m.tokens_per_s)}</td>
                            <td class="num" data-label="Cost">{usd(m.cost)}</td>
                            <td class="num" data-label="Errors">{m.errors}</td>
                            <td class="num" data-label="Quality" data-testid="bench-quality">{quality(m.quality)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Two runs side by side: each model's figures in both, where both tested it.
#[component]
fn Comparison(a: BenchRunSummary, b: BenchRunSummary) -> impl IntoView {
    let mut names: Vec<String> = a.models.iter().map(|m| m.model.clone()).collect();
    for m in &b.models {
        if !names.contains(&m.model) {
            names.push(m.model.clone());
        }
    }
    let find = |r: &BenchRunSummary, n: &str| r.models.iter().find(|m| m.model == n).cloned();
    let rows: Vec<(String, Option<BenchModelResult>, Option<BenchModelResult>)> = names
        .into_iter()
        .map(|n| {
            let (x, y) = (find(&a, &n), find(&b, &n));
            (n, x, y)
        })
        .collect();
    let cell = |m: &Option<BenchModelResult>, f: fn(&BenchModelResult) -> String| {
        m.as_ref().map_or_else(|| "—".to_owned(), f)
    };
    view! {
        <section class="card" data-testid="bench-compare">
            <div class="card-head">
                <h2>"Compared"</h2>
                <span class="muted">{format!("A: #{} {} · B: #{} {}", a.id, a.name, b.id, b.name)}</span>
            </div>
            <div class="table-wrap">
                <table class="table">
                    <thead><tr>
                        <th scope="col">"Model"</th>
                        <th scope="col" class="num">"TTFB p50 A"</th><th scope="col" class="num">"TTFB p50 B"</th>
                        <th scope="col" class="num">"Tokens/s A"</th><th scope="col" class="num">"Tokens/s B"</th>
                        <th scope="col" class="num">"Cost A"</th><th scope="col" class="num">"Cost B"</th>
                        <th scope="col" class="num">"Quality A"</th><th scope="col" class="num">"Quality B"</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(n, x, y)| view! {
                            <tr>
                                <td class="strong" data-label="Model">{n}</td>
                                <td class="num" data-label="TTFB p50 A">{cell(&x, |m| ms(m.ttfb_p50_ms))}</td>
                                <td class="num" data-label="TTFB p50 B">{cell(&y, |m| ms(m.ttfb_p50_ms))}</td>
                                <td class="num" data-label="Tokens/s A">{cell(&x, |m| speed(m.tokens_per_s))}</td>
                                <td class="num" data-label="Tokens/s B">{cell(&y, |m| speed(m.tokens_per_s))}</td>
                                <td class="num" data-label="Cost A">{cell(&x, |m| usd(m.cost))}</td>
                                <td class="num" data-label="Cost B">{cell(&y, |m| usd(m.cost))}</td>
                                <td class="num" data-label="Quality A">{cell(&x, |m| quality(m.quality))}</td>
                                <td class="num" data-label="Quality B">{cell(&y, |m| quality(m.quality))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Every answer of a run, by prompt.
#[component]
fn Answers(detail: BenchRunDetail) -> impl IntoView {
    let prompts = detail.input.prompts.clone();
    view! {
        <section class="card">
            <details>
                <summary class="summary-heading">{format!("Answers ({})", detail.answers.len())}</summary>
                <div class="table-wrap">
                    <table class="table" data-testid="bench-answers">
                        <thead><tr>
                            <th scope="col">"Prompt"</th>
                            <th scope="col">"Model"</th>
                            <th scope="col" class="num">"TTFB"</th>
                            <th scope="col" class="num">"Total"</th>
                            <th scope="col" class="num">"Score"</th>
                            <th scope="col">"Answer"</th>
                        </tr></thead>
                        <tbody>
                            {detail.answers.into_iter().map(|a| {
                                let prompt = prompts.get(a.prompt as usize).cloned().unwrap_or_default();
                                let shown = a.error.clone().map_or_else(|| a.answer.clone(), |e| format!("Error: {e}"));
                                let (prompt_title, shown_title) = (prompt.clone(), shown.clone());
                                view! {
                                    <tr>
                                        <td class="clip" data-label="Prompt" title=prompt_title>{prompt}</td>
                                        <td data-label="Model">{a.model}</td>
                                        <td class="num" data-label="TTFB">{ms(a.ttfb_ms)}</td>
                                        <td class="num" data-label="Total">{format::latency(a.total_ms)}</td>
                                        <td class="num" data-label="Score">{quality(a.score)}</td>
                                        <td class="clip" data-label="Answer" class:error-text=a.error.is_some() title=shown_title>{shown}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </section>
    }
}

#[component]
fn History(
    runs: RwSignal<Vec<BenchRunSummary>>,
    runs_load: RwSignal<Load>,
    shown: Signal<Option<i64>>,
    compare: Signal<Option<i64>>,
    show: Callback<(i64, Option<i64>)>,
    retry: Callback<()>,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="bench-history-title">
            <div class="card-head">
                <h2 id="bench-history-title">"History"</h2>
                <span class="muted">"View a run; pick a second one to compare it with the run on show."</span>
            </div>
            <LoadStatus load=runs_load what="runs" retry />
            {move || {
                let list = runs.get();
                if runs_load.get().is_ready() && list.is_empty() {
                    return view! { <p class="empty" data-testid="bench-empty">"No runs yet. Start one above."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="bench-history">
                            <thead><tr>
                                <th scope="col">"Run"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Started"</th>
                                <th scope="col" class="num">"Models"</th>
                                <th scope="col" class="num">"Wall time"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|r| {
                                    let id = r.id;
                                    let is_shown = move || shown.get() == Some(id);
                                    let is_compared = move || compare.get() == Some(id);
                                    view! {
                                        <tr class:selected=is_shown>
                                            <td class="strong" data-label="Run">{format!("#{id} {}", r.name)}</td>
                                            <td data-label="Status">{status_badge(r.status)}</td>
                                            <td data-label="Started">{crate::pages::alerts::when(&r.created_at)}</td>
                                            <td class="num" data-label="Models">{r.models.len()}</td>
                                            <td class="num" data-label="Wall time">{r.wall_ms.map_or_else(|| "—".to_owned(), format::millis)}</td>
                                            <td class="actions">
                                                <button type="button" class="button button-ghost" on:click=move |_| show.run((id, None))
                                                    disabled=is_shown>"View"</button>
                                                <button type="button" class="button button-ghost"
                                                    on:click=move |_| if let Some(s) = shown.get_untracked() { show.run((s, Some(id))) }
                                                    disabled=move || shown.get().is_none() || is_shown() || is_compared()>"Compare"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
