//! The end-of-run summary: every order accounted for, retries, and each breaker's story.
//!
//! [`Ledger`] watches the event stream. An order is *lost* when checkout was told it passed but
//! order-processor never saw it, and *duplicated* when order-processor saw it more than once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::event::{AppEvent, Event, Stamped};
use crate::resiliency::{BreakerState, ResiliencyEvent};

#[derive(Debug, Default, Clone)]
struct BreakerHistory {
    transitions: Vec<(Duration, BreakerState, BreakerState)>,
}

/// What the stream said about one order.
#[derive(Debug, Default, Clone, Copy)]
struct Order {
    sent: bool,
    passed: bool,
    /// Passed by the state app (saved); verified by reading it back.
    saved: bool,
    failed: bool,
    received: u32,
}

impl Order {
    /// Ids the sender was told passed that never arrived: for checkout, never received by order-processor; for
    /// the state app, saved but then not found when read back (a save whose read-back the end of the run cut
    /// off is in flight, not lost).
    fn lost(&self) -> bool {
        self.passed && self.received == 0 && (!self.saved || self.failed)
    }

    fn in_flight(&self) -> bool {
        let unanswered = !self.passed && !self.failed;
        let unverified = self.saved && self.received == 0 && !self.failed;
        self.sent && (unanswered || unverified)
    }

    /// This order's share of each count of the summary.
    fn tally(&self) -> [usize; 6] {
        [
            usize::from(self.sent),
            usize::from(self.received > 0),
            usize::from(self.failed),
            usize::from(self.lost()),
            usize::from(self.received > 1),
            usize::from(self.in_flight()),
        ]
    }
}

/// Every order seen, and the summary's counts kept up to date as events arrive, so that showing them (the
/// UI does it every frame) costs nothing however long the run.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    orders: BTreeMap<u64, Order>,
    /// sent, delivered, failed, lost, duplicated, in flight.
    tally: [usize; 6],
    retries: u64,
    breakers: BTreeMap<String, BreakerHistory>,
    last_at: Duration,
    /// When the run began to shut down.
    ended_at: Option<Duration>,
    /// Routine events a display that fell behind did not get (see `event::bus`).
    pub routine_dropped: u64,
    /// News a display that fell far behind did not get (only a flood from outside fills that many places).
    pub news_dropped: u64,
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

impl Ledger {
    pub fn record(&mut self, e: &Stamped) {
        self.last_at = self.last_at.max(e.at);
        match &e.event {
            Event::App { event, .. } => match event {
                AppEvent::OrderSent { order_id } => self.update(*order_id, |o| o.sent = true),
                AppEvent::OrderPassed { order_id } => self.update(*order_id, |o| o.passed = true),
                AppEvent::OrderSaved { order_id } => self.update(*order_id, |o| {
                    o.passed = true;
                    o.saved = true;
                }),
                AppEvent::OrderFailed { order_id, .. } => self.update(*order_id, |o| o.failed = true),
                AppEvent::OrderReceived { order_id } | AppEvent::OrderRead { order_id } => {
                    self.update(*order_id, |o| o.received += 1)
                }
                _ => {}
            },
            Event::Resiliency { event, .. } => match event {
                ResiliencyEvent::RetryScheduled { .. } => self.retries += 1,
                ResiliencyEvent::BreakerStateChanged { breaker, from, to, .. } => self
                    .breakers
                    .entry(breaker.to_string())
                    .or_default()
                    .transitions
                    .push((e.at, *from, *to)),
                _ => {}
            },
            Event::ShuttingDown { .. } => {
                self.ended_at.get_or_insert(e.at);
            }
            Event::Fault(_) | Event::Notice { .. } | Event::Container { .. } => {}
        }
    }

    fn update(&mut self, id: u64, change: impl FnOnce(&mut Order)) {
        let order = self.orders.entry(id).or_default();
        let before = order.tally();
        change(order);
        for (total, (now, was)) in self.tally.iter_mut().zip(order.tally().into_iter().zip(before)) {
            *total = *total + now - was;
        }
    }

    /// Orders the sender was told passed that never arrived (see [`Order::lost`]).
    pub fn lost_ids(&self) -> Vec<u64> {
        self.orders
            .iter()
            .filter(|(_, o)| o.lost())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The oldest order still waiting for its answer (held in a retry loop, say).
    pub fn first_waiting(&self) -> Option<u64> {
        self.orders.iter().find(|(_, o)| o.in_flight()).map(|(id, _)| *id)
    }

    /// Ids received in order, for checking they are consecutive.
    pub fn received_ids(&self) -> Vec<u64> {
        self.orders
            .iter()
            .filter(|(_, o)| o.received > 0)
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let [sent, delivered, failed, lost, duplicated, in_flight] = self.tally;
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

    /// Time each breaker spent in each state, up to `end`.
    fn time_in_states(&self, history: &BreakerHistory, end: Duration) -> [(BreakerState, Duration); 3] {
        let mut spent = [
            (BreakerState::Closed, Duration::ZERO),
            (BreakerState::Open, Duration::ZERO),
            (BreakerState::HalfOpen, Duration::ZERO),
        ];
        let mut state = BreakerState::Closed;
        let mut since = Duration::ZERO;
        for (at, _, to) in &history.transitions {
            if let Some(slot) = spent.iter_mut().find(|(s, _)| *s == state) {
                slot.1 += at.saturating_sub(since);
            }
            state = *to;
            since = *at;
        }
        if let Some(slot) = spent.iter_mut().find(|(s, _)| *s == state) {
            slot.1 += end.saturating_sub(since);
        }
        spent
    }

    /// When the run ended: when it began to shut down, else the last event seen.
    pub fn end(&self) -> Duration {
        self.ended_at.unwrap_or(self.last_at)
    }

    /// The summary for people.
    pub fn text(&self, end: Duration) -> String {
        let s = self.summary();
        // The state app's orders are saved and read back, not delivered.
        let state = self.orders.values().any(|o| o.saved);
        let delivered = if state { "saved and read back" } else { "delivered" };
        let mut out = format!(
            "== SUMMARY == {:.1}s: orders sent {}, {delivered} {}, failed {}, lost {}, duplicated {}, in flight {}; retries {}\n",
            end.as_secs_f64(),
            s.sent,
            s.delivered,
            s.failed,
            s.lost,
            s.duplicated,
            s.in_flight,
            s.retries
        );
        for (name, history) in &self.breakers {
            let times: Vec<String> = self
                .time_in_states(history, end)
                .iter()
                .map(|(state, d)| format!("{state} {:.1}s", d.as_secs_f64()))
                .collect();
            let _ = writeln!(
                out,
                "== SUMMARY == breaker \"{name}\": {} transitions; {}",
                history.transitions.len(),
                times.join(", ")
            );
            for (at, from, to) in &history.transitions {
                let _ = writeln!(out, "               {:>7.1}s  {from} -> {to}", at.as_secs_f64());
            }
        }
        if self.routine_dropped > 0 || self.news_dropped > 0 {
            let _ = writeln!(
                out,
                "== SUMMARY == {} routine events dropped: the output could not keep up ({}); the counts above are exact",
                self.routine_dropped,
                match self.news_dropped {
                    0 => "orders, retries, breaker changes and faults are all above".to_string(),
                    n => format!("nor could it show {n} other events, orders among them"),
                }
            );
        }
        if s.lost > 0 {
            let _ = writeln!(
                out,
                "== SUMMARY == LOST orders (passed but never received): {:?}",
                self.lost_ids()
            );
        }
        out
    }

    /// The summary as one JSON object (`source: "summary"`).
    pub fn json(&self, end: Duration) -> serde_json::Value {
        let s = self.summary();
        let breakers: Vec<_> = self
            .breakers
            .iter()
            .map(|(name, h)| {
                let time: serde_json::Map<_, _> = self
                    .time_in_states(h, end)
                    .iter()
                    .map(|(state, d)| (state.to_string(), json!(d.as_secs_f64())))
                    .collect();
                let transitions: Vec<_> = h
                    .transitions
                    .iter()
                    .map(
                        |(at, from, to)| json!({"t": at.as_secs_f64(), "from": from.to_string(), "to": to.to_string()}),
                    )
                    .collect();
                json!({"name": name, "transitions": transitions, "seconds_in_state": time})
            })
            .collect();
        json!({
            "t": (end.as_secs_f64() * 1000.0).round() / 1000.0,
            "source": "summary",
            "kind": "summary",
            "msg": self.text(end).lines().next().unwrap_or_default(),
            "sent": s.sent, "delivered": s.delivered, "failed": s.failed, "lost": s.lost,
            "duplicated": s.duplicated, "in_flight": s.in_flight, "retries": s.retries,
            "lost_ids": self.lost_ids(),
            "breakers": breakers,
            "routine_events_dropped": self.routine_dropped,
            "news_events_dropped": self.news_dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn app(app: &str, event: AppEvent) -> Stamped {
        Stamped {
            at: Duration::ZERO,
            event: Event::App {
                app: Arc::from(app),
                event,
            },
        }
    }

    #[test]
    fn lost_and_duplicated_orders_are_counted() {
        let mut ledger = Ledger::default();
        for id in 1..=3 {
            ledger.record(&app("checkout", AppEvent::OrderSent { order_id: id }));
            ledger.record(&app("checkout", AppEvent::OrderPassed { order_id: id }));
        }
        ledger.record(&app("order-processor", AppEvent::OrderReceived { order_id: 1 }));
        ledger.record(&app("order-processor", AppEvent::OrderReceived { order_id: 3 }));
        ledger.record(&app("order-processor", AppEvent::OrderReceived { order_id: 3 }));
        ledger.record(&app("checkout", AppEvent::OrderSent { order_id: 4 }));
        let s = ledger.summary();
        assert_eq!(
            (s.sent, s.delivered, s.lost, s.duplicated, s.in_flight),
            (4, 2, 1, 1, 1)
        );
        assert_eq!(ledger.lost_ids(), [2]);
        assert!(
            ledger
                .text(Duration::from_secs(1))
                .contains("LOST orders (passed but never received): [2]")
        );
        assert_eq!(ledger.json(Duration::from_secs(1))["lost"], 1);
    }

    #[test]
    fn a_saved_order_is_lost_only_when_its_read_back_fails() {
        let mut ledger = Ledger::default();
        for id in 1..=3 {
            ledger.record(&app("order-processor", AppEvent::OrderSent { order_id: id }));
            ledger.record(&app("order-processor", AppEvent::OrderSaved { order_id: id }));
        }
        ledger.record(&app("order-processor", AppEvent::OrderRead { order_id: 1 }));
        let missing = AppEvent::OrderFailed {
            order_id: 2,
            status: 204,
            error_code: None,
            message: "not found".into(),
        };
        ledger.record(&app("order-processor", missing));
        let s = ledger.summary();
        assert_eq!(
            (s.delivered, s.lost, s.in_flight),
            (1, 1, 1),
            "2 was lost; 3's read-back was cut off"
        );
        assert_eq!(ledger.lost_ids(), [2]);
    }

    #[test]
    fn running_counts_equal_a_recount_after_any_sequence() {
        let mut ledger = Ledger::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..5000 {
            let order_id = rng.u64(1..2000);
            let event = match rng.u8(0..6) {
                0 => AppEvent::OrderSent { order_id },
                1 => AppEvent::OrderPassed { order_id },
                2 => AppEvent::OrderSaved { order_id },
                3 => AppEvent::OrderFailed {
                    order_id,
                    status: 500,
                    error_code: None,
                    message: String::new(),
                },
                4 => AppEvent::OrderReceived { order_id },
                _ => AppEvent::OrderRead { order_id },
            };
            ledger.record(&app("x", event));
            let mut recount = [0usize; 6];
            for o in ledger.orders.values() {
                for (total, n) in recount.iter_mut().zip(o.tally()) {
                    *total += n;
                }
            }
            assert_eq!(ledger.tally, recount);
        }
        assert!(
            ledger.summary().lost > 0 && ledger.summary().duplicated > 0,
            "the sequence exercised both"
        );
    }

    #[test]
    fn time_in_each_breaker_state() {
        let mut ledger = Ledger::default();
        let change = |at: u64, from, to| Stamped {
            at: Duration::from_secs(at),
            event: Event::Resiliency {
                app_id: Arc::from("checkout"),
                event: ResiliencyEvent::BreakerStateChanged {
                    breaker: Arc::from("b"),
                    from,
                    to,
                    counts: Default::default(),
                },
            },
        };
        ledger.record(&change(20, BreakerState::Closed, BreakerState::Open));
        ledger.record(&change(25, BreakerState::Open, BreakerState::HalfOpen));
        ledger.record(&change(26, BreakerState::HalfOpen, BreakerState::Closed));
        let text = ledger.text(Duration::from_secs(30));
        assert!(
            text.contains("breaker \"b\": 3 transitions; closed 24.0s, open 5.0s, half-open 1.0s"),
            "{text}"
        );
    }
}

#[cfg(test)]
mod words_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Ledger;
    use crate::event::{AppEvent, Event, Stamped};

    #[test]
    fn the_state_scenario_s_orders_are_saved_not_delivered() {
        let mut ledger = Ledger::default();
        for event in [
            AppEvent::OrderSent { order_id: 1 },
            AppEvent::OrderSaved { order_id: 1 },
            AppEvent::OrderRead { order_id: 1 },
        ] {
            ledger.record(&Stamped {
                at: Duration::ZERO,
                event: Event::App {
                    app: Arc::from("order-processor"),
                    event,
                },
            });
        }
        let text = ledger.text(Duration::from_secs(1));
        assert!(text.contains("orders sent 1, saved and read back 1,"), "{text}");
        assert!(!text.contains("delivered"), "{text}");
    }
}
