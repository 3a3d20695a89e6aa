//! The end-of-run summary: every order accounted for, retries, the longest wait, the faults, and each
//! breaker's story.
//!
//! [`Ledger`] watches the event stream. An order is *lost* when checkout was told it passed but
//! order-processor never saw it, and *duplicated* when order-processor saw it more than once. What it keeps
//! does not grow with the run: running counts, a window of recent and still-open orders, and the older ones
//! as ranges of ids (see `orders`).

mod breaker;
mod faults;
mod orders;
mod targets;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::event::{AppEvent, Event, FaultEvent, Recorder, Stamped};
use crate::resiliency::ResiliencyEvent;

use breaker::BreakerHistory;
use faults::Faults;
use orders::Orders;

/// Every order seen, and the summary's counts kept up to date as events arrive, so that showing them (the
/// UI does it every frame) costs nothing however long the run.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    orders: Orders,
    retries: u64,
    breakers: BTreeMap<String, BreakerHistory>,
    faults: Faults,
    /// What the sidecars saw per target (the summary of apps the tool did not write).
    targets: targets::Targets,
    /// A receiving app of the tool's (order-processor, the state app) reported an order: only then can an
    /// order be found lost (a run template's or a `kind: command` app's receipts are not counted).
    receivers_seen: bool,
    /// The answered order that waited longest for its answer.
    longest_wait: Option<Wait>,
    /// The last answered order, and when it was answered (its attempts may come after it).
    last_answered: Option<(Wait, Duration)>,
    /// The last order answered after its request was retried, and when.
    last_retried: Option<(Wait, Duration)>,
    /// Each app's last order event, to pair a sidecar's `Recovered` with its order (see [`Ledger::recovered`]).
    last_order: BTreeMap<Arc<str>, LastOrder>,
    /// A `Recovered` (order id, attempts) that came before its order's answer.
    early_recovery: Option<(u64, u32)>,
    last_at: Duration,
    /// When the run began to shut down.
    ended_at: Option<Duration>,
    /// gRPC methods an app called that its sidecar does not serve, said once each with what to use.
    unserved_grpc: Vec<String>,
    /// Routine events a display that fell behind did not get (see `event::bus`).
    pub routine_dropped: u64,
    /// News a display that fell far behind did not get (only a flood from outside fills that many places).
    pub news_dropped: u64,
}

/// The ledger as the event bus's [`Recorder`]: given every event as it is emitted, dropped for a display or
/// not; the display reads it when the stream ends.
#[derive(Debug, Default)]
pub struct SharedLedger(Mutex<Ledger>);

impl SharedLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counts of every event recorded so far: what the summary says.
    pub fn snapshot(&self) -> Ledger {
        self.lock().clone()
    }
}

impl Recorder for SharedLedger {
    fn record(&self, e: &Stamped) {
        self.lock().record(e);
    }

    fn dropped(&self, routine: bool) {
        let mut ledger = self.lock();
        match routine {
            true => ledger.routine_dropped += 1,
            false => ledger.news_dropped += 1,
        }
    }
}

/// The numbers of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sent: usize,
    pub delivered: usize,
    pub failed: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Sent but not answered when the run ended (held in a retry loop).
    pub in_flight: usize,
    pub retries: u64,
}

/// An app's last order event.
#[derive(Debug, Clone, Copy)]
enum LastOrder {
    Sent(u64),
    /// Passed, saved or failed.
    Answered(u64),
    /// Received or read back.
    Other,
}

/// How long an order waited between being sent and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub order_id: u64,
    pub waited: Duration,
    /// The attempts Dapr counted for it, when it was retried (paired with its sidecar's `Recovered`).
    pub attempts: Option<u32>,
    /// Its answer was a failure.
    pub failed: bool,
}

impl Ledger {
    pub fn record(&mut self, e: &Stamped) {
        self.last_at = self.last_at.max(e.at);
        match &e.event {
            Event::App { app, event } => self.record_app(app, event, e.at),
            Event::Resiliency { app_id, event } => match event {
                ResiliencyEvent::RetryScheduled { operation, .. } => {
                    self.retries += 1;
                    self.targets.retried(operation);
                }
                ResiliencyEvent::Finished {
                    operation,
                    attempts,
                    error,
                } => {
                    self.targets.finished(operation, *attempts, error.is_some());
                    // A request that failed after retries: its order's attempts, as Recovered says them on success.
                    if error.is_some() && *attempts > 1 {
                        self.recovered(app_id, *attempts);
                    }
                }
                ResiliencyEvent::Recovered { attempts, .. } => self.recovered(app_id, *attempts),
                ResiliencyEvent::BreakerStateChanged { breaker, from, to, .. } => self
                    .breakers
                    .entry(breaker.to_string())
                    .or_default()
                    .record(e.at, *from, *to),
                _ => {}
            },
            Event::Fault(FaultEvent::Injected { fault, .. }) => self.faults.injected(fault, e.at),
            Event::Fault(FaultEvent::Cleared { fault, .. }) => self.faults.cleared(fault, e.at),
            Event::ShuttingDown { .. } => {
                self.ended_at.get_or_insert(e.at);
            }
            Event::Warning {
                message,
                field: Some(field),
                help,
                ..
            } if field.starts_with(crate::event::UNSERVED_GRPC) => {
                let help = help.as_deref().map(|h| format!(": {h}")).unwrap_or_default();
                self.unserved_grpc.push(format!("{message}{help}"));
            }
            Event::Fault(_)
            | Event::Notice { .. }
            | Event::Warning { .. }
            | Event::ResiliencyReloaded { .. }
            | Event::SidecarRestarting { .. }
            | Event::Container { .. }
            | Event::Traffic { .. } => {}
        }
    }

    /// Orders the sender was told passed (for a receiver whose receipts are not counted).
    pub fn passed(&self) -> usize {
        self.orders.tally()[6]
    }

    /// Whether a receiving app of the tool's reported orders (see `receivers_seen`).
    pub fn receipts_counted(&self) -> bool {
        self.receivers_seen
    }

    fn record_app(&mut self, app: &Arc<str>, event: &AppEvent, at: Duration) {
        if matches!(event, AppEvent::OrderReceived { .. } | AppEvent::OrderRead { .. }) {
            self.receivers_seen = true;
        }
        let last = match event {
            AppEvent::OrderSent { order_id } => LastOrder::Sent(*order_id),
            AppEvent::OrderPassed { order_id }
            | AppEvent::OrderSaved { order_id }
            | AppEvent::OrderFailed { order_id, .. } => LastOrder::Answered(*order_id),
            AppEvent::OrderReceived { .. } | AppEvent::OrderRead { .. } => LastOrder::Other,
            AppEvent::Listening { .. } | AppEvent::Stopped | AppEvent::Output { .. } | AppEvent::Exited { .. } => {
                return;
            }
        };
        self.last_order.insert(app.clone(), last);
        match event {
            AppEvent::OrderSent { order_id } => self.orders.update(*order_id, |o| {
                o.sent = true;
                o.sent_at.get_or_insert(at);
            }),
            AppEvent::OrderPassed { order_id } => {
                self.answered(*order_id, at, false);
                self.orders.update(*order_id, |o| o.passed = true)
            }
            AppEvent::OrderSaved { order_id } => {
                self.answered(*order_id, at, false);
                self.orders.update(*order_id, |o| {
                    o.passed = true;
                    o.saved = true;
                })
            }
            AppEvent::OrderFailed { order_id, .. } => {
                self.answered(*order_id, at, true);
                self.orders.update(*order_id, |o| o.failed = true)
            }
            AppEvent::OrderReceived { order_id } | AppEvent::OrderRead { order_id } => {
                self.orders.update(*order_id, |o| o.received += 1)
            }
            // A real app's lines are not parsed for orders: the ledger counts only the built-in apps' orders.
            AppEvent::Listening { .. } | AppEvent::Stopped | AppEvent::Output { .. } | AppEvent::Exited { .. } => {}
        }
    }

    /// Pairs a sidecar's `Recovered` with its app's order. The event carries no order id, but the quickstarts'
    /// apps send one order at a time, so it is the app's latest: still waiting for its answer when the event
    /// comes first, or just answered when it comes after (a sidecar hands its events over in batches, when its
    /// thread goes idle, which is often after its answer reached the app). An approximation: the state app saves
    /// then reads back, and a read-back's `Recovered` that arrives before `OrderRead` is taken for the save's.
    fn recovered(&mut self, app_id: &str, attempts: u32) {
        match self.last_order.get(app_id) {
            Some(LastOrder::Sent(id)) => self.early_recovery = Some((*id, attempts)),
            Some(LastOrder::Answered(id)) => {
                if let Some(w) = self.longest_wait.as_mut().filter(|w| w.order_id == *id) {
                    w.attempts.get_or_insert(attempts);
                }
                if let Some((w, at)) = self.last_answered.as_mut().filter(|(w, _)| w.order_id == *id) {
                    w.attempts.get_or_insert(attempts);
                    self.last_retried = Some((*w, *at)).filter(|_| attempts > 1);
                }
            }
            Some(LastOrder::Other) | None => {}
        }
    }

    /// Times the wait of an order getting its first answer.
    fn answered(&mut self, id: u64, at: Duration, failed: bool) {
        let attempts = self.early_recovery.take_if(|(order, _)| *order == id).map(|(_, n)| n);
        let Some(sent_at) = self.orders.get(id).filter(|o| o.unanswered()).and_then(|o| o.sent_at) else {
            return;
        };
        let wait = Wait {
            order_id: id,
            waited: at.saturating_sub(sent_at),
            attempts,
            failed,
        };
        if self.longest_wait.is_none_or(|w| wait.waited > w.waited) {
            self.longest_wait = Some(wait);
        }
        self.last_answered = Some((wait, at));
        if attempts.is_some_and(|n| n > 1) {
            self.last_retried = Some((wait, at));
        }
    }

    /// Orders the sender was told passed that never arrived (see [`orders::Order::lost`]).
    pub fn lost_ids(&self) -> Vec<u64> {
        match self.receivers_seen {
            true => self.orders.ids(|o| o.lost()),
            false => Vec::new(),
        }
    }

    /// The oldest order still waiting for its answer (held in a retry loop, say).
    pub fn first_waiting(&self) -> Option<u64> {
        self.oldest_waiting().map(|(id, _)| id)
    }

    /// The oldest order still waiting for its answer, and when it was sent.
    pub fn oldest_waiting(&self) -> Option<(u64, Duration)> {
        self.orders.oldest_waiting()
    }

    /// The last order answered after its request was retried (Dapr's count of attempts known), and when.
    pub fn last_retried(&self) -> Option<(Wait, Duration)> {
        self.last_retried
    }

    /// Ids received in order, for checking they are consecutive.
    pub fn received_ids(&self) -> Vec<u64> {
        self.orders.ids(|o| o.received > 0)
    }

    pub fn summary(&self) -> Summary {
        let [sent, delivered, failed, lost, duplicated, in_flight, _] = self.orders.tally();
        let lost = if self.receivers_seen { lost } else { 0 };
        Summary {
            sent,
            delivered,
            failed,
            lost,
            duplicated,
            in_flight,
            retries: self.retries,
        }
    }

    /// The answered order that waited longest for its answer.
    pub fn longest_wait(&self) -> Option<Wait> {
        self.longest_wait
    }

    /// The order still unanswered at `end` that has waited longest, and how long.
    fn oldest_unanswered(&self, end: Duration) -> Option<(u64, Duration)> {
        self.orders.oldest_unanswered(end)
    }

    /// When the run ended: when it began to shut down, else the last event seen.
    pub fn end(&self) -> Duration {
        self.ended_at.unwrap_or(self.last_at)
    }

    /// The summary as one JSON object (`source: "summary"`).
    pub fn json(&self, end: Duration) -> serde_json::Value {
        let s = self.summary();
        let breakers: Vec<_> = self.breakers.iter().map(|(name, h)| h.json(name, end)).collect();
        let longest_wait = self
            .longest_wait
            .map(|w| json!({"order_id": w.order_id, "seconds": w.waited.as_secs_f64(), "attempts": w.attempts}));
        json!({
            "t": (end.as_secs_f64() * 1000.0).round() / 1000.0,
            "source": "summary",
            "kind": "summary",
            "msg": self.text(end).lines().next().unwrap_or_default(),
            "sent": s.sent, "delivered": s.delivered, "failed": s.failed, "lost": s.lost,
            "duplicated": s.duplicated, "in_flight": s.in_flight, "retries": s.retries,
            "lost_ids": self.lost_ids(),
            "longest_wait": longest_wait,
            "faults": self.faults.json(),
            "faults_dropped": self.faults.intervals_dropped,
            "breakers": breakers,
            "targets": self.targets.json(),
            "routine_events_dropped": self.routine_dropped,
            "news_events_dropped": self.news_dropped,
        })
    }
}
