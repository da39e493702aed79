-- Moves on whenever rollups of a closed hour change (a late call, a re-cost, a deletion), in
-- the same transaction, so servers that keep merged closed days in memory know to drop them
-- (server/src/analytics/closed.rs).
CREATE TABLE llm_rollup_generation (
    only_row   BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    generation BIGINT NOT NULL
);
INSERT INTO llm_rollup_generation (generation) VALUES (0);
