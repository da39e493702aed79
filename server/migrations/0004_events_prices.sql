-- Calls reported as `started` and still waiting for their end. The sweeper turns rows past
-- their deadline into timeout calls.
CREATE TABLE pending_calls (
    id          TEXT PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    deadline    TIMESTAMPTZ NOT NULL,
    start_event JSONB NOT NULL,
    api_key_id  BIGINT,
    -- Set when the sweeper stored the timeout; the row stays a day so a late end is
    -- recognised instead of becoming a second call.
    timed_out_at TIMESTAMPTZ
);
CREATE INDEX pending_calls_deadline ON pending_calls (deadline);

-- Where a call's cost came from: the price table (re-costing may change it) or the client
-- (re-costing leaves it alone). NULL on unpriced calls.
ALTER TABLE llm_calls ADD COLUMN cost_source TEXT CHECK (cost_source IN ('table', 'client'));

-- Every re-cost, for the audit trail: who, which range, what changed.
CREATE TABLE price_recosts (
    id                 BIGSERIAL PRIMARY KEY,
    requested_by       TEXT NOT NULL,
    range_from         TIMESTAMPTZ NOT NULL,
    range_to           TIMESTAMPTZ NOT NULL,
    calls_examined     BIGINT NOT NULL,
    calls_changed      BIGINT NOT NULL,
    cost_before_micros BIGINT NOT NULL,
    cost_after_micros  BIGINT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
