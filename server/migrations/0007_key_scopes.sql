-- What an API key may do, and the one host an agent's key may report for. Keys made before
-- scopes existed could do everything, so they keep both; new keys default to ingest only.
ALTER TABLE api_keys
    ADD COLUMN scopes TEXT[] NOT NULL DEFAULT '{ingest,read}'
        CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest', 'read']::TEXT[]),
    ADD COLUMN host TEXT;
ALTER TABLE api_keys ALTER COLUMN scopes SET DEFAULT '{ingest}';
