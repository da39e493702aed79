-- Group commits whose calls are stored but not yet added to the rollups: the ingest writer
-- stores one row with its calls' keys, and the folder adds the deltas of many commits in one
-- statement. Whoever deletes a row adds its calls (store::rollup_pending).
CREATE TABLE llm_rollup_pending (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    times timestamptz[] NOT NULL,
    ids text[] NOT NULL
);
