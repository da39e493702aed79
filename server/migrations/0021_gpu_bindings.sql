-- Per-request GPU attribution (issue 18): which monitored host and GPU serve a provider's
-- self-hosted models. Calls of that provider share that GPU's samples.
CREATE TABLE gpu_bindings (
    provider    TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    gpu         INTEGER NOT NULL CHECK (gpu >= 0 AND gpu < 1024),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
