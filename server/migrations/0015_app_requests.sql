-- Monitored applications (issue 16): the HTTP requests services report (batch API, OTLP
-- server spans, Sightline's own), raw by day and rolled up per minute and hour by service,
-- route template and method. Retention drops whole partitions, as for system samples.

CREATE TABLE app_requests (
    time         TIMESTAMPTZ NOT NULL,
    service      TEXT COLLATE "C" NOT NULL,
    route        TEXT COLLATE "C" NOT NULL,
    method       TEXT COLLATE "C" NOT NULL,
    status       SMALLINT NOT NULL,
    duration_ms  DOUBLE PRECISION NOT NULL,
    timeout      BOOLEAN NOT NULL,
    user_id      TEXT,
    trace_id     TEXT
) PARTITION BY RANGE (time);
CREATE TABLE app_requests_default PARTITION OF app_requests DEFAULT;
-- The slowest requests of a service in a range (with their trace ids).
CREATE INDEX app_requests_service_time ON app_requests (service, time);

CREATE TABLE app_rollup_minute (
    bucket           TIMESTAMPTZ NOT NULL,
    service          TEXT COLLATE "C" NOT NULL,
    route            TEXT COLLATE "C" NOT NULL,
    method           TEXT COLLATE "C" NOT NULL,
    requests         BIGINT NOT NULL,
    err_4xx          BIGINT NOT NULL,
    err_5xx          BIGINT NOT NULL,
    timeouts         BIGINT NOT NULL,
    duration_sum_ms  DOUBLE PRECISION NOT NULL,
    duration_max_ms  DOUBLE PRECISION NOT NULL,
    -- Packed like llm_rollup_minute.latency_hist (server/src/analytics/histogram.rs).
    duration_hist    BIGINT[] NOT NULL,
    PRIMARY KEY (service, bucket, route, method)
) PARTITION BY RANGE (bucket);
CREATE TABLE app_rollup_minute_default PARTITION OF app_rollup_minute DEFAULT;

CREATE TABLE app_rollup_hour (
    bucket           TIMESTAMPTZ NOT NULL,
    service          TEXT COLLATE "C" NOT NULL,
    route            TEXT COLLATE "C" NOT NULL,
    method           TEXT COLLATE "C" NOT NULL,
    requests         BIGINT NOT NULL,
    err_4xx          BIGINT NOT NULL,
    err_5xx          BIGINT NOT NULL,
    timeouts         BIGINT NOT NULL,
    duration_sum_ms  DOUBLE PRECISION NOT NULL,
    duration_max_ms  DOUBLE PRECISION NOT NULL,
    duration_hist    BIGINT[] NOT NULL,
    PRIMARY KEY (service, bucket, route, method)
) PARTITION BY RANGE (bucket);
CREATE TABLE app_rollup_hour_default PARTITION OF app_rollup_hour DEFAULT;
