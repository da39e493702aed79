-- When a pending row was stored, so that any server's folder adds the rows a stopped replica
-- left behind (its own folder folds its rows within a round; one this old has no folder).
ALTER TABLE llm_rollup_pending ADD COLUMN marked_at timestamptz NOT NULL DEFAULT now();
