//! A warning that can repeat thousands of times a second (a full queue under load) is
//! logged at most once per interval, with how many times it happened since.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

pub struct Throttle {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    count: AtomicU64,
}

impl Throttle {
    pub const fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last: Mutex::new(None),
            count: AtomicU64::new(0),
        }
    }

    /// Counts one occurrence at `now`; returns how many to report when it is time to log.
    pub fn hit(&self, now: Instant) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            return None;
        }
        *last = Some(now);
        Some(self.count.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_once_per_interval_with_the_count() {
        let t = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(t.hit(start), Some(1));
        for i in 1..1000 {
            assert_eq!(t.hit(start + Duration::from_millis(i)), None);
        }
        assert_eq!(t.hit(start + Duration::from_secs(11)), Some(1000));
    }
}
