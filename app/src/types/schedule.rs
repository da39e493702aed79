//! Scheduled reports on the wire: the PDF report of the last whole day, week or month, sent
//! through alert channels (email with the PDF attached, a webhook with the figures and the
//! PDF, Slack or an in-app notice) when the period closes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How often a report goes out, each time for the period that just closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportCadence {
    /// Each day after midnight, for the day before.
    Daily,
    /// Each Monday after midnight, for the week before (Monday to Sunday).
    Weekly,
    /// On the 1st after midnight, for the month before.
    #[default]
    Monthly,
}

impl ReportCadence {
    pub const ALL: [ReportCadence; 3] = [
        ReportCadence::Daily,
        ReportCadence::Weekly,
        ReportCadence::Monthly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportCadence::Daily => "daily",
            ReportCadence::Weekly => "weekly",
            ReportCadence::Monthly => "monthly",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReportCadence::Daily => "Daily, for the day before",
            ReportCadence::Weekly => "Mondays, for the week before",
            ReportCadence::Monthly => "On the 1st, for the month before",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

fn utc() -> String {
    "UTC".to_owned()
}

/// `POST /api/v1/reports/schedules`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportScheduleInput {
    pub name: String,
    #[serde(default)]
    pub cadence: ReportCadence,
    /// IANA zone whose midnights end the periods.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Alert channels to send through (Settings › Alert channels).
    pub channel_ids: Vec<i64>,
}

/// A schedule as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportSchedule {
    pub id: i64,
    pub name: String,
    pub cadence: ReportCadence,
    pub timezone: String,
    pub channel_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    /// The start of the last period sent (or current when the schedule was made).
    pub last_period_start: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Why the last sending failed on some channel; None when all went.
    pub last_error: Option<String>,
    /// When the next report goes out.
    pub next_at: DateTime<Utc>,
}

/// What one sending did, per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportSent {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub deliveries: Vec<ReportDelivery>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportDelivery {
    pub channel_id: i64,
    pub channel: String,
    pub ok: bool,
    pub error: Option<String>,
}
