-- The browser layer (issue 16): Web Vitals and JavaScript errors reported by pages through
-- /sdk/vitals.js, and the public key scope that may do only that.

-- A `browser` key sits in public page source: it may hold no other scope (checked here as
-- well as by the API).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    cardinality(scopes) > 0
    AND scopes <@ ARRAY['ingest', 'read', 'browser']::TEXT[]
    AND (NOT 'browser' = ANY (scopes) OR cardinality(scopes) = 1)
);

-- Vitals per site, hour, page (normalised path) and vital: rating counts and the packed
-- histogram of server/src/analytics/histogram.rs (CLS in thousandths).
CREATE TABLE browser_vitals_hour (
    bucket             TIMESTAMPTZ NOT NULL,
    site               TEXT COLLATE "C" NOT NULL,
    page               TEXT COLLATE "C" NOT NULL,
    vital              TEXT COLLATE "C" NOT NULL,
    samples            BIGINT NOT NULL,
    good               BIGINT NOT NULL,
    needs_improvement  BIGINT NOT NULL,
    poor               BIGINT NOT NULL,
    value_sum          DOUBLE PRECISION NOT NULL,
    hist               BIGINT[] NOT NULL,
    last_seen          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (site, bucket, page, vital)
) PARTITION BY RANGE (bucket);
CREATE TABLE browser_vitals_hour_default PARTITION OF browser_vitals_hour DEFAULT;

-- Every error occurrence as reported (its whole stack), by day.
CREATE TABLE browser_errors (
    time       TIMESTAMPTZ NOT NULL,
    site       TEXT COLLATE "C" NOT NULL,
    page       TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    message    TEXT COLLATE "C" NOT NULL,
    stack_top  TEXT COLLATE "C" NOT NULL,
    stack      TEXT
) PARTITION BY RANGE (time);
CREATE TABLE browser_errors_default PARTITION OF browser_errors DEFAULT;
CREATE INDEX browser_errors_site_time ON browser_errors (site, time);

-- Errors grouped by message and stack top, per site, hour and page.
CREATE TABLE browser_error_hour (
    bucket        TIMESTAMPTZ NOT NULL,
    site          TEXT COLLATE "C" NOT NULL,
    page          TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    message       TEXT COLLATE "C" NOT NULL,
    stack_top     TEXT COLLATE "C" NOT NULL,
    count         BIGINT NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    sample_stack  TEXT,
    PRIMARY KEY (site, bucket, page, kind, message, stack_top)
) PARTITION BY RANGE (bucket);
CREATE TABLE browser_error_hour_default PARTITION OF browser_error_hour DEFAULT;
