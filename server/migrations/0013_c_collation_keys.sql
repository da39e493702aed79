-- Keys compared on every ingest are identifiers, not prose: byte order is their order.
-- Under a libc locale such as C.UTF-8 (PostgreSQL 15 treats only "C" as byte order) each
-- btree comparison of these columns went through strcoll, the largest part of PostgreSQL's
-- CPU per stored call in the ingest profile (docs/BENCHMARKS.md). Indexes are rebuilt.
ALTER TABLE llm_calls
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN session_id TYPE TEXT COLLATE "C",
    ALTER COLUMN model TYPE TEXT COLLATE "C";

ALTER TABLE llm_rollup_minute
    ALTER COLUMN provider TYPE TEXT COLLATE "C",
    ALTER COLUMN model TYPE TEXT COLLATE "C",
    ALTER COLUMN feature TYPE TEXT COLLATE "C";

ALTER TABLE llm_rollup_hour
    ALTER COLUMN provider TYPE TEXT COLLATE "C",
    ALTER COLUMN model TYPE TEXT COLLATE "C",
    ALTER COLUMN feature TYPE TEXT COLLATE "C";
