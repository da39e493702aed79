-- Analytics by user read the user hours instead of scanning calls (issue 15): each hour and
-- user keeps every figure the call rollups keep, latency and TTFT histograms included.
ALTER TABLE llm_user_hour
    ADD COLUMN ok             BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN err_4xx        BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN err_5xx        BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN err_timeout    BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN err_other      BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN cancelled      BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN input_tokens   BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN output_tokens  BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN cached_tokens  BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN priced_calls   BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN latency_sum_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN ttft_sum_ms    DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN ttft_calls     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN tps_sum        DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN tps_calls      BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN quality_sum    DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN quality_calls  BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN rating_sum     DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN rating_calls   BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN tool_calls     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN latency_hist   BIGINT[] NOT NULL DEFAULT '{}',
    ADD COLUMN ttft_hist      BIGINT[] NOT NULL DEFAULT '{}';

-- On a database with calls, hours before the next one were summed before these figures
-- existed: analytics by user read the raw calls there (the hour the upgrade runs in too,
-- its earlier calls are missing from the new columns). A new database has no such hours.
CREATE TABLE llm_user_hour_complete (
    since  TIMESTAMPTZ NOT NULL
);
INSERT INTO llm_user_hour_complete
SELECT CASE WHEN EXISTS (SELECT 1 FROM llm_calls) THEN date_trunc('hour', now()) + interval '1 hour'
            ELSE '1970-01-01T00:00:00Z'::timestamptz END;
