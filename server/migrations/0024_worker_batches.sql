-- Batch efficiency of inference workers that batch (issue 18): the batch size they report
-- with each heartbeat and the most a batch may hold.
ALTER TABLE ai_workers
    ADD COLUMN batch_size double precision CHECK (batch_size >= 0),
    ADD COLUMN batch_capacity integer CHECK (batch_capacity > 0);
