//! A whole benchmark run: every model at once, each with its own concurrency, every answer
//! stored and published as it comes, until all are done, the run is cancelled, or the
//! server stops.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use app::types::{
    bench::{BenchAnswer, BenchRunSummary, BenchStatus, ScoreMethod},
    live::BenchTopic,
};
use futures_util::{future::join_all, stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::{
    ask::{ask, Question},
    summarize,
};
use crate::{
    domain::bench::{
        check_score, judge_message, judge_score, split_model, tokens_per_s, Plan, JUDGE_RUBRIC,
    },
    state::AppState,
    store::{
        self,
        bench::{RunRow, StoredAnswer},
    },
};

/// The feature benchmark calls are recorded under.
pub const FEATURE: &str = "benchmark";

/// The session a run's calls are recorded under.
pub fn session_of(run_id: i64) -> String {
    format!("bench-{run_id}")
}

/// What a run shares between its requests.
struct Shared {
    state: AppState,
    plan: Plan,
    row: Mutex<RunRow>,
    answers: Mutex<Vec<StoredAnswer>>,
    started: Instant,
    cancel: CancellationToken,
    session: String,
    /// An answer came since the last published summary.
    dirty: AtomicBool,
}

impl Shared {
    fn summary(&self) -> BenchRunSummary {
        let row = self.row.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let refs: Vec<&StoredAnswer> = answers.iter().collect();
        let now = (row.status == BenchStatus::Running).then(|| ms(self.started));
        summarize(&row, &refs, now)
    }

    fn publish(&self) {
        self.state.live.publish::<BenchTopic, _>(|| self.summary());
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Stores the run and starts it in the background: its first summary.
pub async fn start(state: &AppState, plan: Plan) -> sqlx::Result<BenchRunSummary> {
    let (id, created_at) = store::bench::insert_run(&state.pool, &plan.input).await?;
    let input = plan.input.clone();
    let row = RunRow {
        id,
        name: input.name.clone(),
        category: input.category,
        scoring: input.scoring,
        status: BenchStatus::Running,
        input,
        created_at,
        finished_at: None,
        wall_ms: None,
    };
    let cancel = state.bench.add(id);
    let shared = Arc::new(Shared {
        state: state.clone(),
        plan,
        row: Mutex::new(row),
        answers: Mutex::default(),
        started: Instant::now(),
        cancel,
        session: session_of(id),
        dirty: AtomicBool::new(false),
    });
    let first = shared.summary();
    tokio::spawn(run(shared));
    Ok(first)
}

async fn run(shared: Arc<Shared>) {
    let id = shared.row.lock().unwrap_or_else(|p| p.into_inner()).id;
    let models = shared.plan.input.models.clone();
    // One task per model, so a slow model never holds a fast one back.
    let tasks = models.into_iter().map(|m| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move { run_model(shared, m).await })
    });
    let stopping = shared.state.stopping();
    tokio::select! {
        _ = join_all(tasks) => {}
        _ = publish_while_running(&shared) => {}
        () = stopping => shared.cancel.cancel(),
    }
    let status = if shared.state.shutdown.borrow().to_owned() {
        BenchStatus::Interrupted
    } else if shared.cancel.is_cancelled() {
        BenchStatus::Cancelled
    } else {
        BenchStatus::Done
    };
    // Until the last answer, or until the cancel took effect.
    let wall = ms(shared.started);
    if let Err(e) = store::bench::finish(&shared.state.pool, id, status, wall).await {
        tracing::warn!(run = id, error = %e, "benchmark run's end not stored");
    }
    {
        let mut row = shared.row.lock().unwrap_or_else(|p| p.into_inner());
        row.status = status;
        row.finished_at = Some(chrono::Utc::now());
        row.wall_ms = Some(wall);
    }
    shared.state.bench.remove(id);
    shared.publish();
    tracing::info!(
        run = id,
        status = status.as_str(),
        wall_ms = wall,
        "benchmark run ended"
    );
}

/// Publishes the summary at most every [`PUBLISH_EVERY`] while answers come: a summary
/// covers every answer, so a large run is not re-summarised per answer.
async fn publish_while_running(shared: &Shared) {
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if shared.dirty.swap(false, Ordering::Relaxed) {
            shared.publish();
        }
    }
}

/// How often a running run's progress is published at most.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);

async fn run_model(shared: Arc<Shared>, model: String) {
    let input = &shared.plan.input;
    let jobs = (0..input.repetitions)
        .flat_map(|rep| (0..input.prompts.len()).map(move |p| (p, rep)))
        .collect::<Vec<_>>();
    stream::iter(jobs)
        .for_each_concurrent(input.concurrency as usize, |(prompt, rep)| {
            let shared = Arc::clone(&shared);
            let model = model.clone();
            async move {
                let cancel = shared.cancel.clone();
                tokio::select! {
                    () = cancel.cancelled() => {}
                    () = one(&shared, &model, prompt, rep) => {}
                }
            }
        })
        .await;
}

/// One prompt to one model, scored, stored and published. Dropped mid-way when the run is
/// cancelled: the answer's stream closes, which ends the upstream request.
async fn one(shared: &Shared, model: &str, prompt: usize, rep: u32) {
    let input = &shared.plan.input;
    let state = &shared.state;
    let text = &input.prompts[prompt];
    let Some((provider_name, model_id)) = split_model(model) else {
        return;
    };
    let question = Question {
        model: model_id,
        system: None,
        prompt: text,
        max_tokens: input.max_tokens,
        temperature: input.temperature,
        session: &shared.session,
        feature: FEATURE,
    };
    let timeout = Duration::from_secs(u64::from(input.timeout_s));
    let asked = match state.provider(provider_name) {
        None => Err(format!("provider '{provider_name}' was removed")),
        Some(provider) => tokio::time::timeout(timeout, ask(state, &provider, &question))
            .await
            .map_err(|_| format!("no whole answer within {} s", input.timeout_s)),
    };
    let asked = asked.unwrap_or_else(|error| super::ask::Asked {
        total_ms: timeout.as_secs_f64() * 1000.0,
        error: Some(error),
        ..Default::default()
    });
    let expected = input.expected.get(prompt).and_then(Option::as_deref);
    let score = match (input.scoring, &asked.error) {
        (ScoreMethod::None, _) => None,
        // A failed request is a wrong answer.
        (_, Some(_)) => Some(0.0),
        (ScoreMethod::Judge, None) => judge(shared, text, expected, &asked.text).await,
        (method, None) => check_score(
            method,
            &asked.text,
            expected,
            shared.plan.patterns[prompt].as_ref(),
        ),
    };
    let answer = BenchAnswer {
        model: model.to_owned(),
        prompt: prompt as u32,
        repetition: rep,
        ttfb_ms: asked.ttfb_ms,
        total_ms: asked.total_ms,
        output_tokens: asked.usage.output,
        tokens_per_s: tokens_per_s(asked.usage.output, asked.ttfb_ms, asked.total_ms),
        cost: asked.cost,
        error: asked.error,
        score,
        answer: asked.text,
    };
    let finished_ms = ms(shared.started);
    let id = shared.row.lock().unwrap_or_else(|p| p.into_inner()).id;
    if let Err(e) = store::bench::insert_answer(&state.pool, id, &answer, finished_ms).await {
        tracing::warn!(run = id, error = %e, "benchmark answer not stored");
    }
    shared
        .answers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(StoredAnswer {
            run_id: id,
            answer,
            finished_ms,
        });
    shared.dirty.store(true, Ordering::Relaxed);
}

/// The judge model's rating of an answer, from 0 to 1; None when the judge fails.
async fn judge(shared: &Shared, prompt: &str, expected: Option<&str>, answer: &str) -> Option<f64> {
    let judge = shared.plan.input.judge_model.as_deref()?;
    let (provider_name, model_id) = split_model(judge)?;
    let provider = shared.state.provider(provider_name)?;
    let message = judge_message(prompt, expected, answer);
    let q = Question {
        model: model_id,
        system: Some(JUDGE_RUBRIC),
        prompt: &message,
        max_tokens: 16,
        temperature: 0.0,
        session: &shared.session,
        feature: FEATURE,
    };
    let timeout = Duration::from_secs(u64::from(shared.plan.input.timeout_s));
    let asked = tokio::time::timeout(timeout, ask(&shared.state, &provider, &q))
        .await
        .ok()?;
    if asked.error.is_some() {
        return None;
    }
    judge_score(&asked.text)
}
