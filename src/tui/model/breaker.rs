//! What the UI knows of each circuit breaker: its policy, state, live counts and recent history, and the
//! history strip drawn from it.
//!
//! Half-open lasts as long as one probe (a millisecond on localhost), so a display that only showed the
//! current state would never show it. The strip keeps every probe of the recent past visible as a mark.

use std::collections::VecDeque;
use std::time::Duration;

use crate::resiliency::BreakerState;
use crate::resiliency::trip::Counts;

/// How many transitions each breaker keeps (a strip of 200 s with a probe every 5 s needs 80).
pub const TRANSITION_CAPACITY: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub at: Duration,
    pub from: BreakerState,
    pub to: BreakerState,
    pub counts: Counts,
}

#[derive(Debug, Clone)]
pub struct BreakerView {
    pub name: String,
    /// The app whose sidecar keeps it (its calls are the ones it stops).
    pub owner: String,
    /// The policy in one line (`trip consecutiveFailures >= 5 · stays open 5s · maxRequests 1`).
    pub policy: String,
    pub trip: String,
    /// How long it stays open before one call may probe.
    pub timeout: Duration,
    /// Successes needed in half-open to close.
    pub max_requests: u32,
    pub created: Duration,
    pub state: BreakerState,
    pub since: Duration,
    pub counts: Counts,
    pub transitions: VecDeque<Transition>,
}

/// One cell of the history strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The state at the end of the cell's time; None before the breaker existed.
    pub state: Option<BreakerState>,
    /// A probe went through in this cell (the breaker was half-open at some moment in it).
    pub probe: bool,
    /// A fault was injected during some of this cell.
    pub fault: bool,
}

impl BreakerView {
    pub(super) fn transition(&mut self, at: Duration, from: BreakerState, to: BreakerState, counts: Counts) {
        self.state = to;
        self.since = at;
        // gobreaker clears the counts on every state change (a new generation).
        self.counts = Counts::default();
        if self.transitions.len() == TRANSITION_CAPACITY {
            self.transitions.pop_front();
        }
        self.transitions.push_back(Transition { at, from, to, counts });
    }

    /// When an open breaker lets its next probe through: once its timeout has passed, on the next call (a
    /// retry due at `next_call`, when one is known). gobreaker moves to half-open lazily, on that call.
    pub fn next_probe(&self, next_call: Option<Duration>) -> Option<Duration> {
        (self.state == BreakerState::Open).then(|| {
            let due = self.since + self.timeout;
            next_call.map_or(due, |call| call.max(due))
        })
    }

    /// The state just before `t` (the first kept transition's `from` before it).
    fn state_at(&self, t: Duration) -> BreakerState {
        self.transitions
            .iter()
            .rev()
            .find(|tr| tr.at < t)
            .map(|tr| tr.to)
            .or_else(|| self.transitions.front().map(|tr| tr.from))
            .unwrap_or(self.state)
    }

    /// `cells` cells of `step` each, the last ending at `now`; `faults` are the fault intervals (end None: on).
    pub fn strip(
        &self,
        now: Duration,
        cells: usize,
        step: Duration,
        faults: &[(Duration, Option<Duration>)],
    ) -> Vec<Cell> {
        (0..cells)
            .map(|i| {
                let back = step * (cells - i) as u32;
                let start = now.saturating_sub(back);
                let end = now.saturating_sub(back - step);
                if now < back || end <= self.created {
                    return Cell {
                        state: None,
                        probe: false,
                        fault: false,
                    };
                }
                let probe = self
                    .transitions
                    .iter()
                    .any(|t| t.to == BreakerState::HalfOpen && t.at >= start && t.at < end);
                let fault = faults
                    .iter()
                    .any(|(from, to)| *from < end && to.is_none_or(|to| to > start));
                Cell {
                    state: Some(self.state_at(end)),
                    probe,
                    fault,
                }
            })
            .collect()
    }

    /// How many probes failed (half-open -> open) among the kept transitions.
    pub fn failed_probes(&self) -> usize {
        self.transitions
            .iter()
            .filter(|t| t.from == BreakerState::HalfOpen && t.to == BreakerState::Open)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BreakerState::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn breaker() -> BreakerView {
        BreakerView {
            name: "b".into(),
            owner: "checkout".into(),
            policy: String::new(),
            trip: "consecutiveFailures >= 5".into(),
            timeout: secs(5),
            max_requests: 1,
            created: secs(1),
            state: Closed,
            since: secs(1),
            counts: Counts::default(),
            transitions: VecDeque::new(),
        }
    }

    #[test]
    fn a_millisecond_half_open_still_marks_its_second() {
        let mut b = breaker();
        b.transition(secs(4), Closed, Open, Counts::default());
        b.transition(Duration::from_millis(9_000), Open, HalfOpen, Counts::default());
        b.transition(Duration::from_millis(9_001), HalfOpen, Open, Counts::default());
        let faults = [(secs(3), None)];
        let cells = b.strip(secs(11), 11, secs(1), &faults);
        let states: String = cells
            .iter()
            .map(|c| match (c.probe, c.state) {
                (true, _) => 'P',
                (_, None) => ' ',
                (_, Some(Closed)) => 'c',
                (_, Some(Open)) => 'o',
                (_, Some(HalfOpen)) => 'h',
            })
            .collect();
        assert_eq!(states, " cccoooooPo");
        assert_eq!(cells.iter().filter(|c| c.fault).count(), 8, "seconds 3..11");
    }

    #[test]
    fn the_next_probe_waits_for_the_timeout_and_the_next_call() {
        let mut b = breaker();
        assert_eq!(b.next_probe(None), None, "closed: no probe");
        b.transition(secs(20), Closed, Open, Counts::default());
        assert_eq!(b.next_probe(None), Some(secs(25)));
        assert_eq!(
            b.next_probe(Some(secs(23))),
            Some(secs(25)),
            "a call before the timeout is refused"
        );
        assert_eq!(b.next_probe(Some(secs(27))), Some(secs(27)));
    }
}
