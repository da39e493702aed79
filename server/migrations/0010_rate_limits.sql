-- Rate limits on proxied calls, per API key, user or model ('*' = each one apart).
CREATE TABLE rate_limits (
    id                  BIGSERIAL PRIMARY KEY,
    subject             TEXT NOT NULL CHECK (subject IN ('api_key', 'user', 'model')),
    value               TEXT NOT NULL,
    requests_per_minute INTEGER CHECK (requests_per_minute > 0),
    tokens_per_minute   BIGINT CHECK (tokens_per_minute > 0),
    CHECK (requests_per_minute IS NOT NULL OR tokens_per_minute IS NOT NULL),
    UNIQUE (subject, value)
);

-- Servers alive on this database (each refreshes its row every second), so each enforces
-- its share of a rate limit.
CREATE TABLE live_servers (
    id      TEXT PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);
