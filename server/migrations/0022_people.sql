-- Users and sessions from rollups (issue 18), kept by the ingest writer in the transaction
-- that stores the calls, so active users, session lengths and top users never scan calls.

-- Per hour and user: calls, tokens and cost.
CREATE TABLE llm_user_hour (
    bucket       TIMESTAMPTZ NOT NULL,
    user_id      TEXT NOT NULL,
    calls        BIGINT NOT NULL,
    tokens       BIGINT NOT NULL,
    cost_micros  BIGINT NOT NULL,
    PRIMARY KEY (bucket, user_id)
);

-- Each user's last call: active users over any window, exactly.
CREATE TABLE llm_user_last (
    user_id    TEXT PRIMARY KEY,
    last_seen  TIMESTAMPTZ NOT NULL
);
CREATE INDEX llm_user_last_seen ON llm_user_last (last_seen);

-- Each session's span and size.
CREATE TABLE llm_session_spans (
    session_id  TEXT PRIMARY KEY,
    user_id     TEXT,
    first_call  TIMESTAMPTZ NOT NULL,
    last_call   TIMESTAMPTZ NOT NULL,
    calls       BIGINT NOT NULL
);
CREATE INDEX llm_session_spans_last ON llm_session_spans (last_call);

INSERT INTO llm_user_hour
SELECT date_trunc('hour', time), user_id, count(*), sum(input_tokens + output_tokens),
       coalesce(sum(cost_total_micros), 0)
FROM llm_calls WHERE user_id IS NOT NULL GROUP BY 1, 2;
INSERT INTO llm_user_last
SELECT user_id, max(time) FROM llm_calls WHERE user_id IS NOT NULL GROUP BY 1;
INSERT INTO llm_session_spans
SELECT session_id, (array_agg(user_id ORDER BY time DESC) FILTER (WHERE user_id IS NOT NULL))[1],
       min(time), max(time), count(*)
FROM llm_calls WHERE session_id IS NOT NULL GROUP BY 1;
