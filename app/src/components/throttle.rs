//! Live reloads at a bounded rate: a page reloads its figures on live ticks at most once
//! per interval, and a tick inside the interval schedules one reload for its end, so the
//! last change is never missed.

use leptos::prelude::*;

use crate::format;

#[derive(Clone, Copy)]
pub struct Throttle {
    every_ms: i64,
    last: StoredValue<i64>,
    pending: StoredValue<bool>,
}

impl Throttle {
    pub fn new(every_ms: i64) -> Self {
        Throttle {
            every_ms,
            last: StoredValue::new(0),
            pending: StoredValue::new(false),
        }
    }

    /// Notes a reload that just started (whatever caused it).
    pub fn mark(&self) {
        self.last.set_value(format::now().timestamp_millis());
    }

    /// A tick: runs `reload` now, at the end of the interval, or not at all when one is
    /// already scheduled.
    pub fn tick(&self, reload: impl Fn() + 'static) {
        if self.pending.get_value() {
            return;
        }
        let wait = self.every_ms - (format::now().timestamp_millis() - self.last.get_value());
        if wait <= 0 {
            reload();
            return;
        }
        let pending = self.pending;
        pending.set_value(true);
        set_timeout(
            move || {
                pending.set_value(false);
                reload();
            },
            std::time::Duration::from_millis(wait as u64),
        );
    }
}
