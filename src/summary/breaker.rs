//! One breaker's story, kept as running totals: what it takes in memory does not grow with the run, however
//! many times the breaker opens and probes.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::json;

use crate::resiliency::BreakerState;

/// Transitions kept for the JSON summary: the latest ones (the story's counts and times cover them all).
pub(super) const KEPT_TRANSITIONS: usize = 50;

/// The states in the order the summary shows them.
const STATES: [BreakerState; 3] = [BreakerState::Closed, BreakerState::Open, BreakerState::HalfOpen];

fn slot(state: BreakerState) -> usize {
    match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    }
}

#[derive(Debug, Clone)]
pub(super) struct BreakerHistory {
    /// The state now, and since when (a breaker starts closed at the start of the run).
    state: BreakerState,
    since: Duration,
    /// Time spent in each state before `since`, in [`STATES`] order.
    spent: [Duration; 3],
    /// The first closed -> open.
    pub first_opened: Option<Duration>,
    /// closed -> open transitions.
    pub times_opened: u64,
    /// half-open -> open transitions: a probe let through failed.
    pub probes_failed: u64,
    /// The last half-open -> closed: a probe succeeded.
    pub last_closed: Option<Duration>,
    /// Every transition, counted.
    pub transitions: u64,
    /// The latest [`KEPT_TRANSITIONS`] transitions.
    recent: VecDeque<(Duration, BreakerState, BreakerState)>,
}

impl Default for BreakerHistory {
    fn default() -> Self {
        Self {
            state: BreakerState::Closed,
            since: Duration::ZERO,
            spent: [Duration::ZERO; 3],
            first_opened: None,
            times_opened: 0,
            probes_failed: 0,
            last_closed: None,
            transitions: 0,
            recent: VecDeque::new(),
        }
    }
}

impl BreakerHistory {
    pub fn record(&mut self, at: Duration, from: BreakerState, to: BreakerState) {
        self.spent[slot(self.state)] += at.saturating_sub(self.since);
        self.state = to;
        self.since = self.since.max(at);
        self.transitions += 1;
        match (from, to) {
            (BreakerState::Closed, BreakerState::Open) => {
                self.times_opened += 1;
                self.first_opened.get_or_insert(at);
            }
            (BreakerState::HalfOpen, BreakerState::Open) => self.probes_failed += 1,
            (BreakerState::HalfOpen, BreakerState::Closed) => self.last_closed = Some(at),
            _ => {}
        }
        if self.recent.len() == KEPT_TRANSITIONS {
            self.recent.pop_front();
        }
        self.recent.push_back((at, from, to));
    }

    /// The state when the run ended.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Time spent in each state, up to `end`.
    pub fn time_in_states(&self, end: Duration) -> [(BreakerState, Duration); 3] {
        let mut spent = self.spent;
        spent[slot(self.state)] += end.saturating_sub(self.since);
        [0, 1, 2].map(|i| (STATES[i], spent[i]))
    }

    /// Transitions not in the JSON's list (the earliest ones).
    pub fn transitions_dropped(&self) -> u64 {
        self.transitions - self.recent.len() as u64
    }

    /// The breaker as one JSON object of the summary's `breakers`.
    pub fn json(&self, name: &str, end: Duration) -> serde_json::Value {
        let time: serde_json::Map<_, _> = self
            .time_in_states(end)
            .iter()
            .map(|(state, d)| (state.to_string(), json!(d.as_secs_f64())))
            .collect();
        let transitions: Vec<_> = self
            .recent
            .iter()
            .map(|(at, from, to)| json!({"t": at.as_secs_f64(), "from": from.to_string(), "to": to.to_string()}))
            .collect();
        json!({
            "name": name,
            "transitions": transitions,
            "transitions_total": self.transitions,
            "transitions_dropped": self.transitions_dropped(),
            "seconds_in_state": time,
            "first_opened": self.first_opened.map(|t| t.as_secs_f64()),
            "times_opened": self.times_opened,
            "probes_failed": self.probes_failed,
            "last_closed": self.last_closed.map(|t| t.as_secs_f64()),
            "state_at_end": self.state.to_string(),
        })
    }
}
