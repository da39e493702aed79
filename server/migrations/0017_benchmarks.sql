-- Model benchmark runs (issue 17): what each run asked for and every answer it got. The
-- calls themselves are recorded in llm_calls like any other (feature `benchmark`, session
-- `bench-<id>`); these rows keep what a call does not: the prompt's place, the score, the text.

CREATE TABLE bench_runs (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    category     TEXT NOT NULL,
    scoring      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'interrupted')),
    -- The run's input as checked (models, prompts, expected answers, settings).
    input        JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at  TIMESTAMPTZ,
    -- From start to the last answer.
    wall_ms      DOUBLE PRECISION
);
CREATE INDEX bench_runs_created ON bench_runs (created_at DESC);

CREATE TABLE bench_answers (
    run_id         BIGINT NOT NULL REFERENCES bench_runs (id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    prompt         INT NOT NULL,
    repetition     INT NOT NULL,
    ttfb_ms        DOUBLE PRECISION,
    total_ms       DOUBLE PRECISION NOT NULL,
    output_tokens  BIGINT NOT NULL,
    tokens_per_s   DOUBLE PRECISION,
    cost           DOUBLE PRECISION,
    error          TEXT,
    score          DOUBLE PRECISION,
    answer         TEXT NOT NULL,
    -- From the run's start to this answer's end.
    finished_ms    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, model, prompt, repetition)
);
