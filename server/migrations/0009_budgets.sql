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

-- Reservations: the worst case of calls in flight. One row per reservation (the budgets it
-- holds and the amount held from each, in the budget's unit), and per budget the total
-- held, which the hot path reads instead of summing reservations. A reservation is
-- released in the transaction that stores its call (the call's id is the reservation id),
-- or by the sweeper once it expires.
CREATE TABLE budget_holds (
    reservation_id TEXT PRIMARY KEY,
    budget_ids     BIGINT[] NOT NULL,
    amounts        BIGINT[] NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX budget_holds_expiry ON budget_holds (expires_at);

CREATE TABLE budget_held (
    budget_id BIGINT PRIMARY KEY REFERENCES budgets (id) ON DELETE CASCADE,
    held      BIGINT NOT NULL DEFAULT 0
);

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
    -- A hold lives for one call: its commit need not wait for the disk (a crash loses the
    -- holds of calls in flight, which the calls' own records then settle), and that keeps
    -- the proxy's added latency at one round trip.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- NO KEY UPDATE: reservations queue on a budget's row, while the ingest writer's
    -- foreign-key checks (KEY SHARE) on the counters do not wait for them.
    PERFORM 1 FROM budgets b WHERE b.id = ANY (ids) ORDER BY b.id FOR NO KEY UPDATE;
    FOR r IN
        SELECT i.id, b.limit_value,
            coalesce(CASE b.limit_kind WHEN 'usd' THEN s.cost_micros
                WHEN 'tokens' THEN s.tokens ELSE s.requests END, 0)
            + coalesce(h.held, 0) AS used,
            i.need
        FROM unnest(ids, starts, needs) AS i (id, start, need)
        JOIN budgets b ON b.id = i.id
        LEFT JOIN budget_spend_period s ON s.budget_id = i.id AND s.period_start = i.start
        LEFT JOIN budget_held h ON h.budget_id = i.id
    LOOP
        out_budget := r.id;
        out_limit := r.limit_value;
        out_used := r.used;
        out_need := r.need;
        ok := ok AND r.used + r.need <= r.limit_value;
        RETURN NEXT;
    END LOOP;
    IF ok THEN
        INSERT INTO budget_holds (reservation_id, budget_ids, amounts, expires_at)
        VALUES (res, ids, needs, now() + ttl)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO budget_held AS h (budget_id, held)
            SELECT i.id, i.need FROM unnest(ids, needs) AS i (id, need)
            JOIN budgets b ON b.id = i.id ORDER BY i.id
            ON CONFLICT (budget_id) DO UPDATE SET held = h.held + excluded.held;
        END IF;
    END IF;
END
$$;

-- Releases reservations (their calls were stored, or they expired): deletes them and takes
-- their amounts off each budget's total, locking those rows in id order (as reservations
-- do), so a release and a reservation never deadlock. Returns how many budgets changed.
CREATE FUNCTION sl_budget_release(gone_ids TEXT[], expired_before TIMESTAMPTZ)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    b_ids BIGINT[];
    totals BIGINT[];
BEGIN
    WITH gone AS (
        DELETE FROM budget_holds
        WHERE reservation_id = ANY (gone_ids) OR expires_at <= expired_before
        RETURNING budget_ids, amounts
    )
    SELECT array_agg(x.b ORDER BY x.b), array_agg(x.t ORDER BY x.b) INTO b_ids, totals
    FROM (
        SELECT u.b, sum(u.a)::bigint AS t
        FROM gone, unnest(gone.budget_ids, gone.amounts) AS u (b, a)
        GROUP BY u.b
    ) x;
    IF b_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM budget_held h WHERE h.budget_id = ANY (b_ids)
        ORDER BY h.budget_id FOR NO KEY UPDATE;
    UPDATE budget_held h SET held = greatest(h.held - x.t, 0)
    FROM unnest(b_ids, totals) AS x (b, t)
    WHERE h.budget_id = x.b;
    RETURN array_length(b_ids, 1);
END
$$;
