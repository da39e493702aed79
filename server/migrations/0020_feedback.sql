-- Feedback after the fact (issue 18): user ratings join quality scores in the rollups, so
-- rating trends read rollups like every other figure; calls are found by id or trace id.
ALTER TABLE llm_rollup_minute
    ADD COLUMN rating_sum   DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN rating_calls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE llm_rollup_hour
    ADD COLUMN rating_sum   DOUBLE PRECISION NOT NULL DEFAULT 0,
    ADD COLUMN rating_calls BIGINT NOT NULL DEFAULT 0;

-- Ratings sent with calls before this migration.
UPDATE llm_rollup_minute r SET rating_sum = s.total, rating_calls = s.n
FROM (SELECT date_trunc('minute', time) AS bucket, provider, model,
             coalesce(feature, '') AS feature, sum(user_rating) AS total, count(*) AS n
      FROM llm_calls WHERE user_rating IS NOT NULL GROUP BY 1, 2, 3, 4) s
WHERE r.bucket = s.bucket AND r.provider = s.provider AND r.model = s.model
  AND r.feature = s.feature;
UPDATE llm_rollup_hour r SET rating_sum = s.total, rating_calls = s.n
FROM (SELECT date_trunc('hour', time) AS bucket, provider, model,
             coalesce(feature, '') AS feature, sum(user_rating) AS total, count(*) AS n
      FROM llm_calls WHERE user_rating IS NOT NULL GROUP BY 1, 2, 3, 4) s
WHERE r.bucket = s.bucket AND r.provider = s.provider AND r.model = s.model
  AND r.feature = s.feature;

-- Feedback names a call by id alone (its time is not known to the app that rates it).
CREATE INDEX llm_calls_id ON llm_calls (id);
CREATE INDEX llm_calls_trace ON llm_calls (trace_id) WHERE trace_id IS NOT NULL;

-- Context windows live with the prices (filled for the bundled patterns at start-up).
ALTER TABLE model_prices ADD COLUMN context_window BIGINT CHECK (context_window > 0);
