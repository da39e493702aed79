-- Upstreams the proxy forwards to. The key must be usable, so it cannot be hashed: it is
-- never returned by the API, shown in the UI, or logged; only its last four characters are.
CREATE TABLE providers (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic')),
    base_url     TEXT NOT NULL,
    api_key      TEXT,
    pass_through BOOLEAN NOT NULL DEFAULT false,
    source       TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'config')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
