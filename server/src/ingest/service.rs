//! [`Ingest`]: the one service every source of calls goes through (native calls and events,
//! OTLP, the proxy, the timeout sweeper). It validates under an explicit id policy, prices
//! from the current table, stores through the pipeline and runs the event state machine
//! (start → pending → end or timeout). Handlers parse, call it, and answer.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use app::types::{CallInput, EndEvent, EventOutcome, StartedEvent};
use chrono::Utc;
use sqlx::PgPool;

use super::{
    call::{self, FieldError, IdPolicy},
    events,
    pipeline::{Pipeline, Stored, SubmitError},
    recorder::Recorder,
};
use crate::{
    domain::{call::NewCall, pricing::Price},
    metrics::CallSource,
    store,
};

/// Why a batch or an event could not be taken as a whole (a bad call is a [`FieldError`]).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A batch after validation: the calls to store, and each refused one by index.
#[derive(Debug, Default)]
pub struct Accepted {
    pub calls: Vec<NewCall>,
    pub rejected: Vec<(usize, FieldError)>,
}

/// What became of one event, with the reason when it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: EventOutcome,
    pub error: Option<FieldError>,
}

impl Verdict {
    fn of(outcome: EventOutcome) -> Self {
        Verdict {
            outcome,
            error: None,
        }
    }

    fn rejected(error: FieldError) -> Self {
        Verdict {
            outcome: EventOutcome::Rejected,
            error: Some(error),
        }
    }
}

/// Rows of expired starts turned into timeout calls per round of the sweeper.
const SWEEP_BATCH: i64 = 500;

/// Cheap to clone: handles only.
#[derive(Clone)]
pub struct Ingest {
    pipeline: Pipeline,
    recorder: Recorder,
    pool: PgPool,
    prices: Arc<RwLock<Arc<Vec<Price>>>>,
    event_timeout: Duration,
}

impl Ingest {
    pub fn new(
        pipeline: Pipeline,
        recorder: Recorder,
        pool: PgPool,
        prices: Vec<Price>,
        event_timeout: Duration,
    ) -> Self {
        Ingest {
            pipeline,
            recorder,
            pool,
            prices: Arc::new(RwLock::new(Arc::new(prices))),
            event_timeout,
        }
    }

    /// The current price table (a cheap clone of an `Arc`).
    pub fn prices(&self) -> Arc<Vec<Price>> {
        let table = self.prices.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&table)
    }

    /// Re-reads the price table from the database.
    pub async fn reload_prices(&self) -> sqlx::Result<()> {
        let loaded = store::prices::load(&self.pool).await?;
        *self.prices.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    /// Validates and prices each call received now.
    pub fn accept(
        &self,
        inputs: impl IntoIterator<Item = CallInput>,
        ids: IdPolicy,
        api_key_id: Option<i64>,
    ) -> Accepted {
        let now = Utc::now();
        let prices = self.prices();
        let mut out = Accepted::default();
        for (i, input) in inputs.into_iter().enumerate() {
            match call::validate(input, now, &prices, api_key_id, ids) {
                Ok(c) => out.calls.push(c),
                Err(e) => out.rejected.push((i, e)),
            }
        }
        out
    }

    /// Stores validated calls and waits for the commit: what this returns `Ok` for is durable.
    pub async fn store(
        &self,
        calls: Vec<NewCall>,
        source: CallSource,
    ) -> Result<Stored, SubmitError> {
        self.pipeline.submit(calls, source).await
    }

    /// Waits until every acknowledged call is in the rollups; see [`Pipeline::settled`].
    pub async fn settled(&self) {
        self.pipeline.settled(&self.pool).await;
    }

    /// A `started` event: validated now, as the call it will become, so a bad start is
    /// refused at once rather than at its end; then kept pending until its end or deadline.
    pub async fn start(
        &self,
        s: StartedEvent,
        api_key_id: Option<i64>,
    ) -> Result<Verdict, IngestError> {
        if let Err(e) = check_event_id(&s.id) {
            return Ok(Verdict::rejected(e));
        }
        let now = Utc::now();
        let time = s.time.unwrap_or(now);
        let probe = events::timed_out(s.clone(), time, self.event_timeout);
        if let Err(e) = call::validate(probe, now, &[], None, IdPolicy::Required) {
            return Ok(Verdict::rejected(e));
        }
        let deadline = time.max(now) + self.event_timeout;
        let fresh =
            store::pending_calls::insert(&self.pool, &s, time, deadline, api_key_id).await?;
        Ok(Verdict::of(if fresh {
            EventOutcome::Pending
        } else {
            EventOutcome::Duplicate
        }))
    }

    /// A `completed` or `failed` event: merged with its pending start, or a whole call by
    /// itself when it says what and how long.
    pub async fn end(
        &self,
        e: EndEvent,
        failed: bool,
        api_key_id: Option<i64>,
    ) -> Result<Verdict, IngestError> {
        if let Err(err) = check_event_id(&e.id) {
            return Ok(Verdict::rejected(err));
        }
        let id = e.id.clone();
        let now = Utc::now();
        let end_time = e.time.unwrap_or(now);
        let (input, owner) = match store::pending_calls::find(&self.pool, &id).await? {
            Some(p) if p.timed_out_at.is_some() => {
                return Ok(Verdict::rejected(FieldError {
                    field: "id",
                    message: "belongs to a start that timed out before this end arrived; the \
                              timeout call stands"
                        .into(),
                }))
            }
            // A key may end only its own starts: another client guessing or reusing an id
            // must not rewrite someone else's call.
            Some(p) if p.api_key_id.is_some() && p.api_key_id != api_key_id => {
                return Ok(Verdict::rejected(FieldError {
                    field: "id",
                    message: "belongs to a call started with another API key".into(),
                }))
            }
            Some(p) => (
                events::merge(p.start, p.started_at, e, end_time, failed),
                p.api_key_id.or(api_key_id),
            ),
            None => match events::standalone(e, end_time, failed) {
                Ok(input) => (input, api_key_id),
                Err(err) => return Ok(Verdict::rejected(err)),
            },
        };
        let call = match call::validate(input, now, &self.prices(), owner, IdPolicy::Required) {
            Ok(c) => c,
            Err(err) => return Ok(Verdict::rejected(err)),
        };
        let stored = self.store(vec![call], CallSource::Events).await?;
        // Only after the call is committed: a crash before this leaves the start pending, and
        // its timeout would collide with the stored call and be skipped.
        store::pending_calls::remove(&self.pool, &id).await?;
        Ok(Verdict::of(if stored.inserted > 0 {
            EventOutcome::Stored
        } else {
            EventOutcome::Duplicate
        }))
    }

    /// Turns starts past their deadline into timeout calls. Run periodically.
    pub async fn sweep_timeouts(&self) -> Result<usize, IngestError> {
        let mut total = 0;
        loop {
            let expired =
                store::pending_calls::expired(&self.pool, Utc::now(), SWEEP_BATCH).await?;
            if expired.is_empty() {
                return Ok(total);
            }
            let now = Utc::now();
            let prices = self.prices();
            let ids: Vec<String> = expired.iter().map(|p| p.start.id.clone()).collect();
            let mut calls = Vec::with_capacity(expired.len());
            for p in expired {
                let input = events::timed_out(p.start, p.started_at, self.event_timeout);
                match call::validate(input, now, &prices, p.api_key_id, IdPolicy::Required) {
                    Ok(c) => calls.push(c),
                    Err(e) => {
                        tracing::warn!(field = e.field, reason = %e.message, "timed-out start dropped")
                    }
                }
            }
            total += calls.len();
            self.store(calls, CallSource::Timeouts).await?;
            store::pending_calls::mark_timed_out(&self.pool, &ids).await?;
        }
    }

    /// Validates a proxied call and hands it to the recorder: the client's answer never
    /// waits for the database, and the record is spooled until it is stored.
    pub fn record_detached(&self, input: CallInput, api_key_id: Option<i64>) {
        let mut accepted = self.accept([input], IdPolicy::Generate, api_key_id);
        if let Some((_, e)) = accepted.rejected.pop() {
            tracing::warn!(field = e.field, reason = %e.message, "proxied call not recordable");
            return;
        }
        for call in accepted.calls {
            self.recorder.record(call);
        }
    }

    /// Calls waiting in this server's ingest queue.
    pub fn waiting(&self) -> usize {
        self.pipeline.waiting()
    }

    /// How the proxy's records are doing since start.
    pub fn record_stats(&self) -> app::types::ProxyRecordStats {
        self.recorder.stats()
    }
}

/// An event's id ties its start and end together, so it must be usable as a key.
fn check_event_id(id: &str) -> Result<(), FieldError> {
    let trimmed = id.trim();
    if trimmed.is_empty() || trimmed.len() > 128 || trimmed.chars().any(char::is_control) {
        return Err(FieldError {
            field: "id",
            message: "must be 1 to 128 characters without control characters".into(),
        });
    }
    Ok(())
}
