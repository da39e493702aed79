-- Scheduled reports (issue 17): the PDF report of the last whole day, week or month, sent
-- through alert channels when the period closes. `last_period_start` is claimed with a
-- conditional UPDATE, so one server sends each period however many run.

CREATE TABLE report_schedules (
    id                 BIGSERIAL PRIMARY KEY,
    name               TEXT NOT NULL,
    cadence            TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly', 'monthly')),
    timezone           TEXT NOT NULL,
    channel_ids        BIGINT[] NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_period_start  TIMESTAMPTZ,
    last_sent_at       TIMESTAMPTZ,
    last_error         TEXT
);
