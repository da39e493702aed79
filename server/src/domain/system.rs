//! System samples as storage keeps them: one series' aggregate in a rollup bucket, and how
//! long each tier is kept.

use chrono::{DateTime, Utc};

/// One series in one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub last: f64,
    pub last_time: DateTime<Utc>,
}

impl Agg {
    pub fn of(v: f64, t: DateTime<Utc>) -> Self {
        Agg {
            min: v,
            max: v,
            sum: v,
            count: 1,
            last: v,
            last_time: t,
        }
    }

    /// Combines two aggregates of the same series and bucket (what the upsert does in SQL).
    pub fn merge(&mut self, o: &Agg) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
        if o.last_time >= self.last_time {
            self.last = o.last;
            self.last_time = o.last_time;
        }
    }

    pub fn avg(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }
}

/// How long each tier is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: chrono::Duration,
    pub minute: chrono::Duration,
    pub hour: chrono::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw: chrono::Duration::days(7),
            minute: chrono::Duration::days(90),
            hour: chrono::Duration::days(730),
        }
    }
}
