-- Anomaly and forecast ("predicted to cross") rules beside threshold rules: the kind, and
-- the settings only those kinds have (NULL on the kinds without them).
ALTER TABLE alert_rules
    ADD COLUMN kind text NOT NULL DEFAULT 'threshold'
        CHECK (kind IN ('threshold', 'anomaly', 'forecast')),
    ADD COLUMN baseline_secs bigint,
    ADD COLUMN min_delta double precision,
    ADD COLUMN horizon_secs bigint;
