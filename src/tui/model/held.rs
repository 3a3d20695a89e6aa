//! Orders held in a retry: which wait, since when, and how long the last one waited when it was let through.
//!
//! "No order is lost" is the quickstart's lesson, and it is invisible unless someone names the order that
//! waits: the header says `19 sent · 18 delivered` for forty seconds and the checkout log just stops.

use std::collections::BTreeMap;
use std::time::Duration;

/// The most orders remembered as waiting (the quickstart's checkout has one in flight at a time).
pub const WAITING_CAPACITY: usize = 1024;

/// An order answered after its request was retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub order: u64,
    pub at: Duration,
    pub waited: Duration,
    /// Dapr's count of attempts for the request that carried it (`Recovered … after N attempts`).
    pub attempts: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Saved,
    Failed,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Saved => "saved",
            Outcome::Failed => "failed",
        }
    }
}

/// The order whose request is being retried. Its answer (from the app) and its request's attempt count (from
/// the sidecar, whose events come in batches: `sidecar/batch.rs`) arrive in either order; it is released
/// when both are known.
#[derive(Debug, Clone, Copy)]
struct Retried {
    order: u64,
    attempts: Option<u32>,
    answer: Option<(Duration, Duration, Outcome)>,
}

#[derive(Debug, Clone, Default)]
pub struct HeldOrders {
    /// Orders sent and not answered yet, and when each was sent.
    waiting: BTreeMap<u64, Duration>,
    /// The built-in apps send one order at a time, so the order waiting when a retry starts is the one held.
    retried: Option<Retried>,
    pub last_released: Option<Released>,
    pub longest: Option<Released>,
}

impl HeldOrders {
    pub(super) fn sent(&mut self, order: u64, at: Duration) {
        if self.waiting.len() < WAITING_CAPACITY {
            self.waiting.insert(order, at);
        }
    }

    /// A request failed and will be retried (Dapr's `Retrying in …` line).
    pub(super) fn retrying(&mut self) {
        if self.retried.is_none() {
            self.retried = self.oldest().map(|(order, _)| Retried {
                order,
                attempts: None,
                answer: None,
            });
        }
    }

    /// A request ended after `attempts` (Dapr's count).
    pub(super) fn finished(&mut self, attempts: u32) {
        if let Some(r) = self.retried.as_mut().filter(|_| attempts > 1) {
            r.attempts.get_or_insert(attempts);
            self.try_release();
        }
    }

    pub(super) fn answered(&mut self, order: u64, at: Duration, outcome: Outcome) {
        let Some(sent) = self.waiting.remove(&order) else {
            return;
        };
        if let Some(r) = self.retried.as_mut().filter(|r| r.order == order) {
            r.answer = Some((at, at.saturating_sub(sent), outcome));
            self.try_release();
        }
    }

    fn try_release(&mut self) {
        let Some(Retried {
            order,
            attempts: Some(attempts),
            answer: Some((at, waited, outcome)),
        }) = self.retried
        else {
            return;
        };
        let released = Released {
            order,
            at,
            waited,
            attempts,
            outcome,
        };
        self.retried = None;
        self.last_released = Some(released);
        if self.longest.is_none_or(|l| released.waited > l.waited) {
            self.longest = Some(released);
        }
    }

    /// The oldest order still waiting, and since when.
    pub fn oldest(&self) -> Option<(u64, Duration)> {
        self.waiting.iter().next().map(|(id, at)| (*id, *at))
    }

    pub fn count(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_order_answered_after_retries_says_how_long_and_how_many_attempts() {
        let mut held = HeldOrders::default();
        held.sent(18, secs(1));
        held.finished(1);
        held.answered(18, secs(1), Outcome::Delivered);
        assert_eq!(held.last_released, None, "answered at once: not held");
        held.sent(19, secs(2));
        assert_eq!(held.oldest(), Some((19, secs(2))));
        held.retrying();
        held.finished(9);
        held.answered(19, secs(42), Outcome::Delivered);
        let r = held.last_released.unwrap();
        assert_eq!((r.order, r.waited, r.attempts), (19, secs(40), 9));
        assert_eq!(held.oldest(), None);
        assert_eq!(held.longest, Some(r));
    }

    #[test]
    fn the_attempts_may_arrive_after_the_answer() {
        let mut held = HeldOrders::default();
        held.sent(5, secs(4));
        held.retrying();
        held.answered(5, secs(34), Outcome::Delivered);
        assert_eq!(held.last_released, None, "not yet known to have waited in a retry");
        held.finished(7);
        let r = held.last_released.unwrap();
        assert_eq!((r.order, r.waited, r.attempts), (5, secs(30), 7));
        held.sent(6, secs(35));
        held.answered(6, secs(35), Outcome::Delivered);
        held.finished(1);
        assert_eq!(held.last_released.map(|r| r.order), Some(5), "order 6 passed at once");
    }
}
