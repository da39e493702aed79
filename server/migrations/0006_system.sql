-- System and GPU metrics (issue 5): hosts, raw samples by day, minute and hour rollups.
-- Retention drops whole partitions (raw and minute by day, hour by month); the default
-- partitions only catch rows whose partition could not be made, and are pruned by DELETE.

CREATE TABLE system_hosts (
    host        TEXT PRIMARY KEY,
    info        JSONB NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen   TIMESTAMPTZ NOT NULL,
    -- The newest sample in full (top processes and GPUs included).
    latest      JSONB,
    -- Whether the server itself runs on this host (its own collector).
    local       BOOLEAN NOT NULL DEFAULT false
);

-- The series names of raw samples, stored once per distinct list (a host's list changes
-- only when a disk, interface or GPU comes or goes).
CREATE TABLE system_series_sets (
    id      SERIAL PRIMARY KEY,
    digest  TEXT NOT NULL UNIQUE,
    names   TEXT[] NOT NULL
);

CREATE TABLE system_samples (
    host    TEXT NOT NULL,
    time    TIMESTAMPTZ NOT NULL,
    set_id  INT NOT NULL,
    vals    FLOAT8[] NOT NULL,
    -- Also the idempotency key: a replayed batch is stored (and rolled up) once.
    PRIMARY KEY (host, time)
) PARTITION BY RANGE (time);
CREATE TABLE system_samples_default PARTITION OF system_samples DEFAULT;

CREATE TABLE system_rollup_minute (
    host       TEXT NOT NULL,
    bucket     TIMESTAMPTZ NOT NULL,
    series     TEXT NOT NULL,
    min        FLOAT8 NOT NULL,
    max        FLOAT8 NOT NULL,
    sum        FLOAT8 NOT NULL,
    count      BIGINT NOT NULL,
    last       FLOAT8 NOT NULL,
    last_time  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host, bucket, series)
) PARTITION BY RANGE (bucket);
CREATE TABLE system_rollup_minute_default PARTITION OF system_rollup_minute DEFAULT;

CREATE TABLE system_rollup_hour (
    host       TEXT NOT NULL,
    bucket     TIMESTAMPTZ NOT NULL,
    series     TEXT NOT NULL,
    min        FLOAT8 NOT NULL,
    max        FLOAT8 NOT NULL,
    sum        FLOAT8 NOT NULL,
    count      BIGINT NOT NULL,
    last       FLOAT8 NOT NULL,
    last_time  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (host, bucket, series)
) PARTITION BY RANGE (bucket);
CREATE TABLE system_rollup_hour_default PARTITION OF system_rollup_hour DEFAULT;
