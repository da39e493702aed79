-- Alert rules, their alerts (one row per rule and label set), history, silences, channels,
-- and the notification path: outbox items (grouped per channel) -> messages (retried) ->
-- deliveries (every attempt). In-app notices feed the bell.

CREATE TABLE alert_channels (
    id                    BIGSERIAL PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    kind                  TEXT NOT NULL,
    -- Webhook and Slack URLs often carry tokens: sealed, and shown as scheme + host only.
    url_sealed            TEXT,
    url_shown             TEXT,
    secret_sealed         TEXT,
    format                TEXT NOT NULL DEFAULT 'sightline',
    -- SMTP settings without the password.
    smtp                  JSONB,
    smtp_password_sealed  TEXT,
    severities            TEXT[] NOT NULL DEFAULT '{}',
    enabled               BOOLEAN NOT NULL DEFAULT true,
    builtin               BOOLEAN NOT NULL DEFAULT false,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE alert_rules (
    id                BIGSERIAL PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    metric            TEXT NOT NULL,
    labels            JSONB NOT NULL DEFAULT '{}',
    group_by          TEXT[] NOT NULL DEFAULT '{}',
    aggregation       TEXT NOT NULL,
    window_secs       BIGINT NOT NULL,
    comparator        TEXT NOT NULL,
    threshold         FLOAT8 NOT NULL,
    for_secs          BIGINT NOT NULL,
    keep_firing_secs  BIGINT NOT NULL,
    severity          TEXT NOT NULL,
    repeat_secs       BIGINT NOT NULL,
    channels          BIGINT[] NOT NULL DEFAULT '{}',
    message           TEXT,
    enabled           BOOLEAN NOT NULL DEFAULT true,
    builtin           BOOLEAN NOT NULL DEFAULT false,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Markers of one-time set-up (the default rules), so a deleted default stays deleted.
CREATE TABLE alert_setup (
    step  TEXT PRIMARY KEY,
    at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE alert_instances (
    rule_id       BIGINT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    labels_key    TEXT NOT NULL,
    labels        JSONB NOT NULL,
    state         TEXT NOT NULL,
    value         FLOAT8,
    active_since  TIMESTAMPTZ,
    fired_at      TIMESTAMPTZ,
    last_true     TIMESTAMPTZ,
    last_sent     TIMESTAMPTZ,
    was_firing    BOOLEAN NOT NULL DEFAULT false,
    silenced      BOOLEAN NOT NULL DEFAULT false,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule_id, labels_key)
);

-- Every transition; kept when the rule is deleted (its name is copied).
CREATE TABLE alert_events (
    id          BIGSERIAL PRIMARY KEY,
    rule_id     BIGINT NOT NULL,
    rule_name   TEXT NOT NULL,
    severity    TEXT NOT NULL,
    labels      JSONB NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    value       FLOAT8,
    threshold   FLOAT8 NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    silenced    BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX alert_events_at ON alert_events (at DESC, id DESC);
CREATE INDEX alert_events_rule ON alert_events (rule_id, at DESC);

CREATE TABLE alert_silences (
    id          BIGSERIAL PRIMARY KEY,
    rule_id     BIGINT,
    matchers    JSONB NOT NULL DEFAULT '{}',
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    author      TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Alerts waiting to be grouped into a message for a channel.
CREATE TABLE alert_outbox (
    id          BIGSERIAL PRIMARY KEY,
    channel_id  BIGINT NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    item        JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    message_id  BIGINT
);
CREATE INDEX alert_outbox_waiting ON alert_outbox (channel_id) WHERE message_id IS NULL;

CREATE TABLE alert_messages (
    id               BIGSERIAL PRIMARY KEY,
    channel_id       BIGINT NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    items            JSONB NOT NULL,
    test             BOOLEAN NOT NULL DEFAULT false,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A server sending it holds it until then; after a crash another takes it over.
    claimed_until    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ,
    last_error       TEXT
);
CREATE INDEX alert_messages_due ON alert_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_messages_channel ON alert_messages (channel_id, created_at DESC);

CREATE TABLE alert_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    message_id   BIGINT NOT NULL,
    channel_id   BIGINT NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    attempt      INT NOT NULL,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    ok           BOOLEAN NOT NULL,
    status       INT,
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    alerts       INT NOT NULL
);
CREATE INDEX alert_deliveries_channel ON alert_deliveries (channel_id, at DESC);

CREATE TABLE alert_notices (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    severity  TEXT NOT NULL,
    title     TEXT NOT NULL,
    body      TEXT NOT NULL,
    read_at   TIMESTAMPTZ
);
CREATE INDEX alert_notices_unread ON alert_notices (id) WHERE read_at IS NULL;
