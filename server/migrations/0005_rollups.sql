-- Per-minute and per-hour rollups of llm_calls, per provider / model / feature, maintained by
-- the ingest writer in the same transaction as the calls. Dashboards read these instead of
-- raw rows; percentiles come from merging the latency histograms.
--
-- Histograms are sparse: each element packs (bucket key << 32) | count, see
-- server/src/analytics/histogram.rs for the bucket scheme and its relative error.

CREATE FUNCTION sl_hist_merge(a BIGINT[], b BIGINT[]) RETURNS BIGINT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg((k << 32) | c ORDER BY k), '{}')
    FROM (
        SELECT e >> 32 AS k, sum(e & 4294967295)::bigint AS c
        FROM unnest(coalesce(a, '{}') || coalesce(b, '{}')) AS e
        GROUP BY 1
    ) s
$$;

CREATE TABLE llm_rollup_minute (
    bucket          TIMESTAMPTZ NOT NULL,
    provider        TEXT NOT NULL,
    model           TEXT NOT NULL,
    -- '' when the calls named no feature (a key column cannot be NULL).
    feature         TEXT NOT NULL,
    calls           BIGINT NOT NULL,
    ok              BIGINT NOT NULL,
    err_4xx         BIGINT NOT NULL,
    err_5xx         BIGINT NOT NULL,
    err_timeout     BIGINT NOT NULL,
    err_other       BIGINT NOT NULL,
    cancelled       BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    cached_tokens   BIGINT NOT NULL,
    cost_micros     BIGINT NOT NULL,
    priced_calls    BIGINT NOT NULL,
    latency_sum_ms  DOUBLE PRECISION NOT NULL,
    ttft_sum_ms     DOUBLE PRECISION NOT NULL,
    ttft_calls      BIGINT NOT NULL,
    tps_sum         DOUBLE PRECISION NOT NULL,
    tps_calls       BIGINT NOT NULL,
    quality_sum     DOUBLE PRECISION NOT NULL,
    quality_calls   BIGINT NOT NULL,
    tool_calls      BIGINT NOT NULL,
    latency_hist    BIGINT[] NOT NULL,
    ttft_hist       BIGINT[] NOT NULL,
    PRIMARY KEY (bucket, provider, model, feature)
);

CREATE TABLE llm_rollup_hour (LIKE llm_rollup_minute INCLUDING ALL);
