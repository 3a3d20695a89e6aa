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

#[derive(Debug, Clone, Default)]
pub struct HeldOrders {
    /// Orders sent and not answered yet, and when each was sent.
    waiting: BTreeMap<u64, Duration>,
    /// Attempts of the last request that needed more than one, until the order it carried is answered.
    /// The built-in apps send one order at a time, so the next answer is that order's.
    pending_attempts: Option<u32>,
    pub last_released: Option<Released>,
    pub longest: Option<Released>,
}

impl HeldOrders {
    pub(super) fn sent(&mut self, order: u64, at: Duration) {
        if self.waiting.len() < WAITING_CAPACITY {
            self.waiting.insert(order, at);
        }
    }

    pub(super) fn finished(&mut self, attempts: u32) {
        if attempts > 1 {
            self.pending_attempts = Some(attempts);
        }
    }

    pub(super) fn answered(&mut self, order: u64, at: Duration, outcome: Outcome) {
        let Some(sent) = self.waiting.remove(&order) else {
            return;
        };
        let Some(attempts) = self.pending_attempts.take() else {
            return;
        };
        let released = Released {
            order,
            at,
            waited: at.saturating_sub(sent),
            attempts,
            outcome,
        };
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
        held.finished(9);
        held.answered(19, secs(42), Outcome::Delivered);
        let r = held.last_released.unwrap();
        assert_eq!((r.order, r.waited, r.attempts), (19, secs(40), 9));
        assert_eq!(held.oldest(), None);
        assert_eq!(held.longest, Some(r));
    }
}
