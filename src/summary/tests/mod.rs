//! The ledger's counts, and a `Run` to write a run's events in a few lines; the text's tests are in `text`.

mod text;
mod window;

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::event::StopReason;
use crate::resiliency::BreakerState::{self, Closed, HalfOpen, Open};

/// A run's events, stamped in tenths of a second.
#[derive(Default)]
struct Run(Ledger);

impl Run {
    fn at(&mut self, tenths: u64, event: Event) -> &mut Self {
        self.0.record(&Stamped {
            at: Duration::from_millis(tenths * 100),
            event,
        });
        self
    }

    fn app(&mut self, tenths: u64, app: &str, event: AppEvent) -> &mut Self {
        let app = Arc::from(app);
        self.at(tenths, Event::App { app, event })
    }

    fn sidecar(&mut self, tenths: u64, app_id: &str, event: ResiliencyEvent) -> &mut Self {
        let app_id = Arc::from(app_id);
        self.at(tenths, Event::Resiliency { app_id, event })
    }

    fn breaker(&mut self, tenths: u64, name: &str, from: BreakerState, to: BreakerState) -> &mut Self {
        let breaker = Arc::from(name);
        let counts = Default::default();
        self.sidecar(
            tenths,
            "checkout",
            ResiliencyEvent::BreakerStateChanged {
                breaker,
                from,
                to,
                counts,
            },
        )
    }

    fn fault(&mut self, tenths: u64, fault: &str, injected: bool) -> &mut Self {
        let (fault, description) = (fault.to_string(), String::new());
        self.at(
            tenths,
            Event::Fault(match injected {
                true => FaultEvent::Injected { fault, description },
                false => FaultEvent::Cleared { fault, description },
            }),
        )
    }

    /// checkout sends an order, order-processor receives it, checkout is told it passed.
    fn order(&mut self, tenths: u64, id: u64, answered: u64) -> &mut Self {
        self.app(tenths, "checkout", AppEvent::OrderSent { order_id: id })
            .app(answered, "order-processor", AppEvent::OrderReceived { order_id: id })
            .app(answered, "checkout", AppEvent::OrderPassed { order_id: id })
    }

    fn retries(&mut self, tenths: u64, n: u32) -> &mut Self {
        for next_attempt in 2..2 + n {
            let (operation, wait) = (Arc::from("op"), Duration::from_secs(5));
            self.sidecar(
                tenths,
                "checkout",
                ResiliencyEvent::RetryScheduled {
                    operation,
                    next_attempt,
                    wait,
                },
            );
        }
        self
    }

    fn recovered(&mut self, tenths: u64, app_id: &str, attempts: u32) -> &mut Self {
        let operation = Arc::from("op");
        self.sidecar(tenths, app_id, ResiliencyEvent::Recovered { operation, attempts })
    }

    fn end(&mut self, tenths: u64) -> &mut Self {
        self.at(
            tenths,
            Event::ShuttingDown {
                reason: StopReason::Duration,
            },
        )
    }

    fn text(&self) -> String {
        self.0.text(self.0.end())
    }
}

#[test]
fn the_longest_wait_gets_the_attempts_of_its_own_app_s_recovery() {
    let mut run = Run::default();
    run.order(0, 1, 1)
        .app(10, "checkout", AppEvent::OrderSent { order_id: 2 });
    // order-processor's sidecar recovered something of its own: not checkout's order.
    run.recovered(200, "order-processor", 3).order(10, 2, 201);
    assert_eq!(
        run.0.longest_wait(),
        Some(Wait {
            order_id: 2,
            waited: Duration::from_millis(19_100),
            attempts: None,
            failed: false,
        })
    );
    run.app(300, "checkout", AppEvent::OrderSent { order_id: 3 })
        .recovered(800, "checkout", 4);
    run.order(300, 3, 800);
    let json = run.0.json(Duration::from_secs(90));
    assert_eq!(
        json["longest_wait"],
        json!({"order_id": 3, "seconds": 50.0, "attempts": 4})
    );
    assert!(
        run.text()
            .contains("longest wait: order 3, 50.0s over 4 attempts, then delivered")
    );
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
    let text = ledger.text(Duration::from_secs(1));
    assert!(text.contains("LOST orders (passed but never received): [2]"), "{text}");
    assert!(text.lines().next().unwrap().contains("lost 1, duplicated 1"), "{text}");
    assert_eq!(ledger.json(Duration::from_secs(1))["lost"], 1);
}

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
        let mut recount = [0usize; 7];
        for o in ledger.orders.window().values() {
            for (total, n) in recount.iter_mut().zip(o.tally()) {
                *total += n;
            }
        }
        assert_eq!(ledger.orders.tally(), recount);
    }
    assert!(
        ledger.summary().lost > 0 && ledger.summary().duplicated > 0,
        "the sequence exercised both"
    );
}

/// The last order let through after retries (the UI's held-orders pane and story line say it): its attempts
/// may come before or after its answer (the sidecar's events come in batches), a failure after retries counts
/// too, and an order answered at once later does not hide it.
#[test]
fn the_last_retried_order_with_its_attempts() {
    let op: Arc<str> = Arc::from("endpoint[order-processor, order-processor:orders]");
    let mut run = Run::default();
    run.app(10, "checkout", AppEvent::OrderSent { order_id: 5 })
        .app(310, "checkout", AppEvent::OrderPassed { order_id: 5 })
        .sidecar(
            310,
            "checkout",
            ResiliencyEvent::Recovered {
                operation: op.clone(),
                attempts: 7,
            },
        );
    let (w, at) = run.0.last_retried().unwrap();
    assert_eq!(
        (w.order_id, w.waited, w.attempts, at),
        (5, Duration::from_secs(30), Some(7), Duration::from_secs(31))
    );
    run.app(320, "checkout", AppEvent::OrderSent { order_id: 6 }).app(
        320,
        "checkout",
        AppEvent::OrderPassed { order_id: 6 },
    );
    assert_eq!(run.0.last_retried().unwrap().0.order_id, 5, "order 6 passed at once");
    let error = Some("context deadline exceeded".to_string());
    run.app(330, "checkout", AppEvent::OrderSent { order_id: 7 }).sidecar(
        360,
        "checkout",
        ResiliencyEvent::Finished {
            operation: op,
            attempts: 2,
            error,
        },
    );
    let failed = AppEvent::OrderFailed {
        order_id: 7,
        status: 500,
        error_code: None,
        message: String::new(),
    };
    run.app(360, "checkout", failed);
    let (w, _) = run.0.last_retried().unwrap();
    assert_eq!(
        (w.order_id, w.attempts, w.failed),
        (7, Some(2), true),
        "failed after 2 attempts"
    );
}
