//! Rates from monotonic counters (bytes, packets, operations), free of IO.
//!
//! The first sample after start has no rate (it would be everything since boot). A counter
//! that goes down either wrapped (32-bit counters near their limit) or was reset (interface
//! re-created, device hot-plugged); a wrap still gives a rate, a reset gives none for that
//! sample rather than a spike.

use std::time::Duration;

/// The last reading of one counter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter {
    last: Option<u64>,
}

/// How close to 2^32 a counter must have been to call a decrease a 32-bit wrap.
const WRAP_WINDOW: u64 = 1 << 28;

impl Counter {
    /// Takes a new reading taken `elapsed` after the previous one; returns the rate per
    /// second when one can be told.
    pub fn update(&mut self, value: u64, elapsed: Duration) -> Option<f64> {
        let prev = self.last.replace(value)?;
        let secs = elapsed.as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        let delta = if value >= prev {
            value - prev
        } else if prev <= u64::from(u32::MAX) && u64::from(u32::MAX) - prev < WRAP_WINDOW {
            // Wrapped at 2^32.
            (u64::from(u32::MAX) - prev) + value + 1
        } else {
            return None;
        };
        Some(delta as f64 / secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_sample_has_no_rate_then_deltas_over_time() {
        let mut c = Counter::default();
        assert_eq!(c.update(1_000_000, S), None);
        assert_eq!(c.update(1_000_500, S), Some(500.0));
        assert_eq!(
            c.update(1_001_500, Duration::from_millis(500)),
            Some(2000.0)
        );
        assert_eq!(c.update(1_001_500, S), Some(0.0));
    }

    #[test]
    fn a_32_bit_wrap_is_a_rate_and_a_reset_is_not() {
        let mut c = Counter::default();
        c.update(u64::from(u32::MAX) - 99, S);
        assert_eq!(c.update(100, S), Some(200.0));
        // Far from the 32-bit limit: a reset, no spike, and rates resume after it.
        let mut c = Counter::default();
        c.update(5_000_000_000, S);
        assert_eq!(c.update(10, S), None);
        assert_eq!(c.update(30, S), Some(20.0));
        assert_eq!(c.update(40, Duration::ZERO), None);
    }
}
