//! Admission control for one component: how many of its calls may run at
//! once ([`Limits::max_instances`]) and how many may start per rolling
//! minute ([`Limits::calls_per_minute`]).
//!
//! The state lives with the loaded component, so it spans every call this
//! host makes to it; the numbers come from each call's grant. A call over
//! either limit is refused at once with [`CallError::Throttled`] (never
//! queued: a caller that wants to wait can retry), and the refusal costs
//! no instantiation.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::CallError;
use crate::grant::Limits;

/// The window of [`Limits::calls_per_minute`].
const WINDOW: Duration = Duration::from_secs(60);

/// Calls in flight and recent call starts of one component.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    running: u32,
    started: VecDeque<Instant>,
}

/// A running call; dropping it frees its instance slot.
#[derive(Debug)]
pub(crate) struct Ticket {
    admission: Arc<Admission>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self
            .admission
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        state.running = state.running.saturating_sub(1);
    }
}

impl Admission {
    /// Admits one call of `component` under `limits`, or refuses it.
    pub(crate) fn admit(
        self: &Arc<Self>,
        component: &str,
        limits: &Limits,
    ) -> Result<Ticket, CallError> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        forget_old(&mut state, now);
        if let Some(max) = limits.max_instances
            && state.running >= max
        {
            return Err(CallError::Throttled {
                component: component.to_string(),
                limit: "instances".into(),
                reason: format!(
                    "{} calls of it are already running and its limit is {max} at once; retry \
                     when one finishes",
                    state.running
                ),
            });
        }
        check_rate(&state, component, limits, now)?;
        state.running += 1;
        // Only calls made under a per-minute limit are remembered, so the
        // history stays as small as the limit.
        if limits.calls_per_minute.is_some() {
            state.started.push_back(now);
        }
        Ok(Ticket {
            admission: Arc::clone(self),
        })
    }

    /// Counts one more call start of an instance that is already running
    /// (a reused instance holds its [`Ticket`] for its whole life), or
    /// refuses it under the calls-per-minute limit.
    pub(crate) fn count_start(&self, component: &str, limits: &Limits) -> Result<(), CallError> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        forget_old(&mut state, now);
        check_rate(&state, component, limits, now)?;
        if limits.calls_per_minute.is_some() {
            state.started.push_back(now);
        }
        Ok(())
    }
}

/// Drops starts older than the rate window.
fn forget_old(state: &mut State, now: Instant) {
    while state
        .started
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        state.started.pop_front();
    }
}

/// Refuses a start over the calls-per-minute limit.
fn check_rate(
    state: &State,
    component: &str,
    limits: &Limits,
    now: Instant,
) -> Result<(), CallError> {
    if let Some(max) = limits.calls_per_minute
        && state.started.len() >= max as usize
    {
        let wait = state
            .started
            .front()
            .map(|t| WINDOW.saturating_sub(now.duration_since(*t)))
            .unwrap_or_default();
        return Err(CallError::Throttled {
            component: component.to_string(),
            limit: "calls-per-minute".into(),
            reason: format!(
                "it was called {} times in the last minute and its limit is {max} per \
                 minute; retry in {} s",
                state.started.len(),
                wait.as_secs().max(1)
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(instances: Option<u32>, per_minute: Option<u32>) -> Limits {
        Limits {
            max_instances: instances,
            calls_per_minute: per_minute,
            ..Limits::default()
        }
    }

    #[test]
    fn instances_are_freed_when_a_call_ends() {
        let a = Arc::new(Admission::default());
        let l = limits(Some(2), None);
        let one = a.admit("c", &l).expect("first");
        let _two = a.admit("c", &l).expect("second");
        let err = a.admit("c", &l).expect_err("third is over the limit");
        assert_eq!(err.kind(), "throttled");
        assert!(err.to_string().contains("limit is 2 at once"), "{err}");
        drop(one);
        a.admit("c", &l).expect("a slot was freed");
    }

    #[test]
    fn calls_per_minute_count_starts_not_running_calls() {
        let a = Arc::new(Admission::default());
        let l = limits(None, Some(3));
        for _ in 0..3 {
            drop(a.admit("c", &l).expect("within the limit"));
        }
        let err = a.admit("c", &l).expect_err("fourth in a minute");
        assert!(err.to_string().contains("3 per minute"), "{err}");
        // Without a limit nothing is counted or refused.
        let unlimited = Arc::new(Admission::default());
        for _ in 0..10 {
            drop(unlimited.admit("c", &limits(None, None)).expect("no limit"));
        }
    }
}
