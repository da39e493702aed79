-- Budgets: what a scope of calls may spend per calendar period, and the counters and
-- reservations that let Sightline enforce them. See docs/ARCHITECTURE.md, "Budgets".

CREATE TABLE budgets (
    id                BIGSERIAL PRIMARY KEY,
    name              TEXT NOT NULL,
    scope_provider    TEXT,
    scope_model       TEXT,
    scope_feature     TEXT,
    scope_user        TEXT,
    scope_api_key_id  BIGINT,
    period            TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    timezone          TEXT NOT NULL,
    reset_day         SMALLINT NOT NULL DEFAULT 1 CHECK (reset_day BETWEEN 1 AND 28),
    limit_kind        TEXT NOT NULL CHECK (limit_kind IN ('usd', 'tokens', 'requests')),
    -- Micro-USD, tokens or requests.
    limit_value       BIGINT NOT NULL CHECK (limit_value > 0),
    thresholds        SMALLINT[] NOT NULL,
    mode              TEXT NOT NULL CHECK (mode IN ('soft', 'hard')),
    enabled           BOOLEAN NOT NULL DEFAULT true,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX budgets_name ON budgets (lower(name));

-- What each budget's calls added, per period and per UTC hour (the hours give the recent
-- burn rate). The ingest writer adds to both in the transaction that stores the calls, so
-- they always agree with llm_calls.
CREATE TABLE budget_spend_period (
    budget_id    BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start TIMESTAMPTZ NOT NULL,
    cost_micros  BIGINT NOT NULL,
    tokens       BIGINT NOT NULL,
    requests     BIGINT NOT NULL,
    PRIMARY KEY (budget_id, period_start)
);

CREATE TABLE budget_spend_hour (
    budget_id    BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    hour         TIMESTAMPTZ NOT NULL,
    cost_micros  BIGINT NOT NULL,
    tokens       BIGINT NOT NULL,
    requests     BIGINT NOT NULL,
    PRIMARY KEY (budget_id, hour)
);

-- Reservations: the worst case of calls in flight, per budget, in the budget's unit. A
-- reservation is deleted in the transaction that stores its call (the call's id is the
-- reservation id), or ignored once it expires.
CREATE TABLE budget_holds (
    reservation_id TEXT NOT NULL,
    budget_id      BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    amount         BIGINT NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reservation_id, budget_id)
);
CREATE INDEX budget_holds_budget ON budget_holds (budget_id, expires_at);

-- Thresholds crossed and projected overruns, once per budget, period and kind.
CREATE TABLE budget_events (
    id           BIGSERIAL PRIMARY KEY,
    budget_id    BIGINT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('threshold', 'projection')),
    -- The threshold in percent; 0 for projection events.
    threshold    SMALLINT NOT NULL,
    percent      DOUBLE PRECISION NOT NULL,
    spent        BIGINT NOT NULL,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (budget_id, period_start, kind, threshold)
);
CREATE INDEX budget_events_at ON budget_events (at DESC);

-- What a budget has used in a period: spend plus unexpired reservations, in its unit.
CREATE FUNCTION sl_budget_used(budget BIGINT, kind TEXT, start TIMESTAMPTZ) RETURNS BIGINT
LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT CASE kind WHEN 'usd' THEN s.cost_micros WHEN 'tokens' THEN s.tokens
            ELSE s.requests END
        FROM budget_spend_period s
        WHERE s.budget_id = budget AND s.period_start = start), 0)
    + coalesce((
        SELECT sum(h.amount)::bigint FROM budget_holds h
        WHERE h.budget_id = budget AND h.expires_at > now()), 0)
$$;

-- Reserves `needs` (one amount per budget, in its unit) for reservation `res`, all or
-- nothing: the budgets' rows are locked first (in id order, so concurrent reservations
-- queue instead of deadlocking), then each later statement reads what committed before,
-- so spent + held + need never passes a limit, whichever server asks. Returns each
-- budget's limit and use before this reservation; it was granted when every row fits.
CREATE FUNCTION sl_budget_reserve(res TEXT, ids BIGINT[], starts TIMESTAMPTZ[],
        needs BIGINT[], ttl INTERVAL)
RETURNS TABLE (out_budget BIGINT, out_limit BIGINT, out_used BIGINT, out_need BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    ok BOOLEAN := true;
BEGIN
    PERFORM 1 FROM budgets b WHERE b.id = ANY (ids) ORDER BY b.id FOR UPDATE;
    FOR r IN
        SELECT i.id, b.limit_value, sl_budget_used(i.id, b.limit_kind, i.start) AS used, i.need
        FROM unnest(ids, starts, needs) AS i (id, start, need)
        JOIN budgets b ON b.id = i.id
    LOOP
        out_budget := r.id;
        out_limit := r.limit_value;
        out_used := r.used;
        out_need := r.need;
        ok := ok AND r.used + r.need <= r.limit_value;
        RETURN NEXT;
    END LOOP;
    IF ok THEN
        INSERT INTO budget_holds (reservation_id, budget_id, amount, expires_at)
        SELECT res, i.id, i.need, now() + ttl FROM unnest(ids, needs) AS i (id, need)
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;
