-- AI workers (issue 18): the last heartbeat of each worker an app reports. "lost" is not
-- stored: it is derived from last_seen when read, so it needs no sweep to be right.
CREATE TABLE ai_workers (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('active', 'idle', 'busy', 'error')),
    task          TEXT,
    tasks_done    BIGINT,
    cpu_percent   DOUBLE PRECISION,
    first_seen    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen     TIMESTAMPTZ NOT NULL
);

-- Workers per state, the last count taken in each minute (lost included), for the panel's
-- chart. Kept 30 days.
CREATE TABLE ai_worker_minute (
    bucket   TIMESTAMPTZ NOT NULL,
    state    TEXT NOT NULL,
    workers  INTEGER NOT NULL,
    PRIMARY KEY (bucket, state)
);
