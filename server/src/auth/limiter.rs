//! Attempts per client address (logins, browser reports): a keyed GCRA limiter (governor)
//! with a burst of N and N replenished per minute.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{clock::DefaultClock, state::keyed::DefaultKeyedStateStore, Quota, RateLimiter};

pub struct AddressLimiter {
    inner: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
}

impl AddressLimiter {
    pub fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// Ok when an attempt from `ip` may go ahead now; otherwise how long to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.inner.check_key(&ip).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(&DefaultClock::default()))
        })
    }

    /// Forgets addresses whose budget is full again, bounding memory.
    pub fn prune(&self) {
        self.inner.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refuses_per_address() {
        let l = AddressLimiter::per_minute(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(l.check(b).is_ok(), "another address has its own budget");
    }
}
