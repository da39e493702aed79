-- Budget counters in shards: each of a server's group commits adds to its own shard, so
-- concurrent commits no longer queue on the same counter rows (held until each commit's WAL
-- flush). A budget's spend in a period or hour is the sum over its shards.
ALTER TABLE budget_spend_period ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE budget_spend_period DROP CONSTRAINT budget_spend_period_pkey;
ALTER TABLE budget_spend_period ADD PRIMARY KEY (budget_id, period_start, shard);

ALTER TABLE budget_spend_hour ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE budget_spend_hour DROP CONSTRAINT budget_spend_hour_pkey;
ALTER TABLE budget_spend_hour ADD PRIMARY KEY (budget_id, hour, shard);

-- As in 0009, with the period's spend summed over its shards.
CREATE OR REPLACE FUNCTION sl_budget_reserve(res TEXT, ids BIGINT[], starts TIMESTAMPTZ[],
        needs BIGINT[], ttl INTERVAL)
RETURNS TABLE (out_budget BIGINT, out_limit BIGINT, out_used BIGINT, out_need BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    ok BOOLEAN := true;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM budgets b WHERE b.id = ANY (ids) ORDER BY b.id FOR NO KEY UPDATE;
    FOR r IN
        SELECT i.id, b.limit_value,
            coalesce(CASE b.limit_kind WHEN 'usd' THEN s.cost_micros
                WHEN 'tokens' THEN s.tokens ELSE s.requests END, 0)
            + coalesce(h.held, 0) AS used,
            i.need
        FROM unnest(ids, starts, needs) AS i (id, start, need)
        JOIN budgets b ON b.id = i.id
        LEFT JOIN LATERAL (
            SELECT sum(p.cost_micros) AS cost_micros, sum(p.tokens) AS tokens,
                sum(p.requests) AS requests
            FROM budget_spend_period p
            WHERE p.budget_id = i.id AND p.period_start = i.start
        ) s ON true
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
