//! One alert's state machine, with Prometheus' semantics: inactive → pending (the condition
//! holds, `for` has not passed) → firing → resolved; `keep_firing_for` holds a firing alert
//! up after its condition stops; a firing alert is sent again only each repeat interval;
//! missing data is its own state, never "resolved". Pure: time comes in as `now`.

use app::types::alert::AlertState;
use chrono::{DateTime, Duration, Utc};

/// What is remembered of one alert between evaluations.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub state: AlertState,
    /// When the condition began to hold (pending or firing).
    pub active_since: Option<DateTime<Utc>>,
    pub fired_at: Option<DateTime<Utc>>,
    /// The last evaluation at which the condition held (for keep-firing).
    pub last_true: Option<DateTime<Utc>>,
    /// When a firing notification last went out (for the repeat interval).
    pub last_sent: Option<DateTime<Utc>>,
    /// In no-data: whether it was firing before the data stopped.
    pub was_firing: bool,
}

impl Default for Instance {
    fn default() -> Self {
        Self {
            state: AlertState::Inactive,
            active_since: None,
            fired_at: None,
            last_true: None,
            last_sent: None,
            was_firing: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub repeat: Duration,
}

/// What one evaluation saw for this alert's label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    NoData,
    /// The condition holds (`true`) or not.
    Value(bool),
}

/// What should be sent after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Firing,
    /// Still firing, and the repeat interval has passed.
    Repeat,
    Resolved,
    /// A firing alert lost its data.
    NoData,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub next: Instance,
    /// (from, to) when the state changed.
    pub transition: Option<(AlertState, AlertState)>,
    pub notify: Option<Notify>,
}

fn fire(prev: &Instance, now: DateTime<Utc>, since: Option<DateTime<Utc>>) -> Instance {
    Instance {
        state: AlertState::Firing,
        active_since: since.or(Some(now)),
        fired_at: prev.fired_at.filter(|_| prev.was_firing).or(Some(now)),
        last_true: Some(now),
        last_sent: Some(now),
        was_firing: false,
    }
}

fn resolved() -> Instance {
    Instance {
        state: AlertState::Resolved,
        ..Instance::default()
    }
}

/// The next state of an alert after one evaluation at `now`.
pub fn step(prev: &Instance, obs: Observation, t: &Timing, now: DateTime<Utc>) -> Step {
    use AlertState::*;
    let (next, notify) = match (prev.state, obs) {
        (NoData, Observation::NoData) => (prev.clone(), None),
        (state, Observation::NoData) => (
            Instance {
                state: NoData,
                was_firing: state == Firing,
                active_since: None,
                ..prev.clone()
            },
            (state == Firing).then_some(Notify::NoData),
        ),
        (NoData, Observation::Value(true)) if prev.was_firing => {
            (fire(prev, now, None), Some(Notify::Firing))
        }
        (NoData, Observation::Value(false)) if prev.was_firing => {
            (resolved(), Some(Notify::Resolved))
        }
        (NoData, Observation::Value(false)) => (Instance::default(), None),
        (Inactive | Resolved | NoData, Observation::Value(true)) => {
            if t.for_ <= Duration::zero() {
                (fire(prev, now, None), Some(Notify::Firing))
            } else {
                (
                    Instance {
                        state: Pending,
                        active_since: Some(now),
                        last_true: Some(now),
                        ..Instance::default()
                    },
                    None,
                )
            }
        }
        (Inactive | Resolved, Observation::Value(false)) => (prev.clone(), None),
        (Pending, Observation::Value(true)) => {
            let since = prev.active_since.unwrap_or(now);
            if now - since >= t.for_ {
                (fire(prev, now, Some(since)), Some(Notify::Firing))
            } else {
                (
                    Instance {
                        last_true: Some(now),
                        ..prev.clone()
                    },
                    None,
                )
            }
        }
        (Pending, Observation::Value(false)) => (Instance::default(), None),
        (Firing, Observation::Value(holds)) => {
            let last_true = if holds { Some(now) } else { prev.last_true };
            let kept = !holds
                && t.keep_firing_for > Duration::zero()
                && last_true.is_some_and(|lt| now - lt < t.keep_firing_for);
            if holds || kept {
                let due = prev.last_sent.is_none_or(|s| now - s >= t.repeat);
                let next = Instance {
                    last_true,
                    last_sent: if due { Some(now) } else { prev.last_sent },
                    ..prev.clone()
                };
                (next, due.then_some(Notify::Repeat))
            } else {
                (resolved(), Some(Notify::Resolved))
            }
        }
    };
    let transition = (next.state != prev.state).then_some((prev.state, next.state));
    Step {
        next,
        transition,
        notify,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use AlertState::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(s)
    }

    const T: Timing = Timing {
        for_: Duration::seconds(60),
        keep_firing_for: Duration::zero(),
        repeat: Duration::seconds(3600),
    };

    fn run(t: &Timing, obs: &[(i64, Observation)]) -> Vec<Step> {
        let mut cur = Instance::default();
        obs.iter()
            .map(|(s, o)| {
                let st = step(&cur, *o, t, at(*s));
                cur = st.next.clone();
                st
            })
            .collect()
    }

    const Y: Observation = Observation::Value(true);
    const N: Observation = Observation::Value(false);
    const ND: Observation = Observation::NoData;

    #[test]
    fn inactive_stays_inactive_while_the_condition_is_false() {
        let s = run(&T, &[(0, N)]);
        assert_eq!(s[0].next.state, Inactive);
        assert_eq!(s[0].transition, None);
        assert_eq!(s[0].notify, None);
    }

    #[test]
    fn inactive_to_pending_then_firing_after_for() {
        let s = run(&T, &[(0, Y), (30, Y), (60, Y)]);
        assert_eq!(s[0].transition, Some((Inactive, Pending)));
        assert_eq!(s[0].notify, None);
        assert_eq!(s[1].transition, None);
        assert_eq!(s[2].transition, Some((Pending, Firing)));
        assert_eq!(s[2].notify, Some(Notify::Firing));
        assert_eq!(s[2].next.active_since, Some(at(0)));
        assert_eq!(s[2].next.fired_at, Some(at(60)));
    }

    #[test]
    fn for_zero_fires_at_once() {
        let t = Timing {
            for_: Duration::zero(),
            ..T
        };
        let s = run(&t, &[(0, Y)]);
        assert_eq!(s[0].transition, Some((Inactive, Firing)));
        assert_eq!(s[0].notify, Some(Notify::Firing));
    }

    #[test]
    fn pending_back_to_inactive_without_a_notification() {
        let s = run(&T, &[(0, Y), (30, N)]);
        assert_eq!(s[1].transition, Some((Pending, Inactive)));
        assert_eq!(s[1].notify, None);
    }

    #[test]
    fn firing_to_resolved_then_pending_again() {
        let s = run(&T, &[(0, Y), (60, Y), (75, N), (90, N), (100, Y)]);
        assert_eq!(s[2].transition, Some((Firing, Resolved)));
        assert_eq!(s[2].notify, Some(Notify::Resolved));
        assert_eq!(s[3].transition, None, "resolved stays resolved");
        assert_eq!(s[3].notify, None);
        assert_eq!(s[4].transition, Some((Resolved, Pending)));
    }

    #[test]
    fn no_repeat_while_firing_except_on_the_repeat_interval() {
        let t = Timing {
            for_: Duration::zero(),
            repeat: Duration::seconds(100),
            ..T
        };
        let s = run(
            &t,
            &[(0, Y), (15, Y), (99, Y), (100, Y), (150, Y), (200, Y)],
        );
        let n: Vec<_> = s.iter().map(|s| s.notify).collect();
        assert_eq!(
            n,
            vec![
                Some(Notify::Firing),
                None,
                None,
                Some(Notify::Repeat),
                None,
                Some(Notify::Repeat)
            ]
        );
        assert!(s[1..].iter().all(|s| s.transition.is_none()));
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert_up() {
        let t = Timing {
            for_: Duration::zero(),
            keep_firing_for: Duration::seconds(60),
            ..T
        };
        let s = run(&t, &[(0, Y), (30, N), (59, N), (60, N)]);
        assert_eq!(s[1].next.state, Firing);
        assert_eq!(s[2].next.state, Firing);
        assert_eq!(s[3].transition, Some((Firing, Resolved)));
        assert_eq!(s[3].notify, Some(Notify::Resolved));
    }

    #[test]
    fn keep_firing_restarts_when_the_condition_holds_again() {
        let t = Timing {
            for_: Duration::zero(),
            keep_firing_for: Duration::seconds(60),
            ..T
        };
        let s = run(&t, &[(0, Y), (50, N), (55, Y), (100, N), (116, N)]);
        assert_eq!(s[3].next.state, Firing, "55 + 60 > 100");
        assert_eq!(s[4].next.state, Resolved);
    }

    #[test]
    fn missing_data_is_its_own_state_never_resolved() {
        let t = Timing {
            for_: Duration::zero(),
            ..T
        };
        let s = run(&t, &[(0, Y), (15, ND), (30, ND)]);
        assert_eq!(s[1].transition, Some((Firing, NoData)));
        assert_eq!(s[1].notify, Some(Notify::NoData));
        assert!(s[1].next.was_firing);
        assert_eq!(s[2].transition, None);
        assert_eq!(s[2].notify, None);
    }

    #[test]
    fn inactive_and_pending_lose_data_silently() {
        let s = run(&T, &[(0, ND)]);
        assert_eq!(s[0].transition, Some((Inactive, NoData)));
        assert_eq!(s[0].notify, None);
        let s = run(&T, &[(0, Y), (10, ND)]);
        assert_eq!(s[1].transition, Some((Pending, NoData)));
        assert_eq!(s[1].notify, None);
        assert!(!s[1].next.was_firing);
    }

    #[test]
    fn data_back_after_firing_resolves_or_fires_again() {
        let t = Timing {
            for_: Duration::zero(),
            ..T
        };
        let s = run(&t, &[(0, Y), (15, ND), (30, N)]);
        assert_eq!(s[2].transition, Some((NoData, Resolved)));
        assert_eq!(s[2].notify, Some(Notify::Resolved));
        let s = run(&T, &[(0, Y), (60, Y), (75, ND), (90, Y)]);
        assert_eq!(s[3].transition, Some((NoData, Firing)));
        assert_eq!(s[3].notify, Some(Notify::Firing));
        assert_eq!(s[3].next.fired_at, Some(at(60)), "the same firing goes on");
    }

    #[test]
    fn data_back_without_firing_goes_inactive_or_pending() {
        let s = run(&T, &[(0, ND), (15, N)]);
        assert_eq!(s[1].transition, Some((NoData, Inactive)));
        let s = run(&T, &[(0, ND), (15, Y)]);
        assert_eq!(s[1].transition, Some((NoData, Pending)));
        assert_eq!(s[1].notify, None);
    }
}
