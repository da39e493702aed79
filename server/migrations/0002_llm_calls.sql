-- Every LLM call Sightline learns of, partitioned by day (UTC) so retention drops whole
-- partitions. Daily partitions are created ahead by the server; the default partition
-- catches back-filled calls older than the oldest daily partition.
CREATE TABLE llm_calls (
    id                 TEXT NOT NULL,
    time               TIMESTAMPTZ NOT NULL,
    received_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    trace_id           TEXT,
    session_id         TEXT,
    user_id            TEXT,
    feature            TEXT,
    provider           TEXT NOT NULL,
    model              TEXT NOT NULL,
    response_model     TEXT,
    status             TEXT NOT NULL CHECK (status IN ('ok', 'error', 'timeout', 'cancelled')),
    error_type         TEXT,
    error_message      TEXT,
    http_status        SMALLINT,
    ttft_ms            DOUBLE PRECISION,
    streaming_ms       DOUBLE PRECISION,
    duration_ms        DOUBLE PRECISION NOT NULL,
    input_tokens       BIGINT NOT NULL,
    output_tokens      BIGINT NOT NULL,
    cached_tokens      BIGINT NOT NULL,
    reasoning_tokens   BIGINT NOT NULL,
    tokens_per_second  DOUBLE PRECISION,
    -- Money as exact integer micro-USD; NULL = the model has no known price.
    cost_input_micros  BIGINT,
    cost_output_micros BIGINT,
    cost_total_micros  BIGINT,
    tool_calls         INTEGER NOT NULL DEFAULT 0,
    quality_score      DOUBLE PRECISION,
    user_rating        SMALLINT,
    metadata           JSONB,
    api_key_id         BIGINT,
    -- (time, id) is also the idempotency key: a retried batch is stored once.
    PRIMARY KEY (time, id)
) PARTITION BY RANGE (time);

CREATE TABLE llm_calls_default PARTITION OF llm_calls DEFAULT;
CREATE INDEX llm_calls_session ON llm_calls (session_id, time) WHERE session_id IS NOT NULL;
CREATE INDEX llm_calls_model ON llm_calls (model, time);

-- Prices per million tokens in micro-USD, by model-name pattern and optional provider,
-- versioned by the date they take effect.
CREATE TABLE model_prices (
    id                           BIGSERIAL PRIMARY KEY,
    provider                     TEXT,
    model_pattern                TEXT NOT NULL,
    input_per_mtok_micros        BIGINT NOT NULL CHECK (input_per_mtok_micros >= 0),
    output_per_mtok_micros       BIGINT NOT NULL CHECK (output_per_mtok_micros >= 0),
    cached_input_per_mtok_micros BIGINT CHECK (cached_input_per_mtok_micros >= 0),
    effective_from               TIMESTAMPTZ NOT NULL,
    source                       TEXT NOT NULL DEFAULT 'bundled',
    created_at                   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX model_prices_version
    ON model_prices (COALESCE(provider, ''), model_pattern, effective_from);
