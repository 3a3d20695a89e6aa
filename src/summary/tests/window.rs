//! The ledger's memory stays bounded however long the run, and what it says is what an unbounded record says.

use std::collections::BTreeMap;

use super::*;
use crate::summary::orders::{Orders, WINDOW};

fn at(tenths: u64, app: &str, event: AppEvent) -> Stamped {
    Stamped {
        at: Duration::from_millis(tenths * 100),
        event: Event::App {
            app: Arc::from(app),
            event,
        },
    }
}

fn failed(order_id: u64) -> AppEvent {
    AppEvent::OrderFailed {
        order_id,
        status: 500,
        error_code: None,
        message: String::new(),
    }
}

#[test]
fn a_hundred_thousand_orders_keep_the_window_bounded() {
    let mut ledger = Ledger::default();
    let held = 5_000_000;
    ledger.record(&at(0, "checkout", AppEvent::OrderSent { order_id: held }));
    for id in 1..=100_000 {
        ledger.record(&at(id, "checkout", AppEvent::OrderSent { order_id: id }));
        ledger.record(&at(id, "order-processor", AppEvent::OrderReceived { order_id: id }));
        ledger.record(&at(id, "checkout", AppEvent::OrderPassed { order_id: id }));
        assert!(ledger.orders.window_len() <= WINDOW, "order {id}");
    }
    assert_eq!(
        ledger.oldest_waiting(),
        Some((held, Duration::ZERO)),
        "the held order is still open"
    );
    assert_eq!(
        ledger.orders.evicted.ranges(),
        1,
        "the evicted orders ended alike: one range"
    );
    let s = ledger.summary();
    assert_eq!(
        (s.sent, s.delivered, s.lost, s.duplicated, s.in_flight),
        (100_001, 100_000, 0, 0, 1)
    );
    assert_eq!(ledger.passed(), 100_000);
    // A late duplicate of an evicted order is a duplicate still.
    assert!(ledger.orders.evicted.contains(7));
    ledger.record(&at(100_001, "order-processor", AppEvent::OrderReceived { order_id: 7 }));
    assert_eq!(ledger.summary().duplicated, 1);
    assert!(!ledger.orders.evicted.contains(7), "7 is back in the window");
    assert_eq!(
        ledger.orders.evicted.ranges(),
        2,
        "the ones before it and the ones after"
    );
    assert_eq!(ledger.received_ids().len(), 100_000);
}

/// What happens to one order after it is sent, some of it much later (after the order was evicted).
#[derive(Clone, Copy)]
enum Later {
    Received,
    Passed,
    Failed,
}

/// Two senders (from 1 and from 1000001, as why-breakers), orders that pass, fail, fail after they arrived,
/// are lost, arrive twice, are held for thousands of orders, arrive twice long after (evicted by then) or
/// arrive long after they were taken for lost: the windowed ledger says what an unbounded one says.
#[test]
fn counts_equal_an_unbounded_record_for_a_mixed_stream() {
    let mut ledger = Ledger::default();
    let mut reference = Ledger {
        orders: Orders::with_window(usize::MAX),
        ..Ledger::default()
    };
    let mut rng = fastrand::Rng::with_seed(21);
    let mut later: BTreeMap<u64, Vec<(u64, Later)>> = BTreeMap::new();
    let (mut late_after_eviction, mut held_max) = (0, 0);
    let steps = 20_000;
    for step in 1..=steps + 8000 {
        let mut events = Vec::new();
        for first in [0, 1_000_000] {
            let id = first + step;
            if step > steps {
                break;
            }
            events.push(("checkout", AppEvent::OrderSent { order_id: id }));
            let mut schedule = |after: u64, what: Later| later.entry(step + after).or_default().push((id, what));
            match rng.u8(0..100) {
                0..70 => {
                    events.push(("order-processor", AppEvent::OrderReceived { order_id: id }));
                    events.push(("checkout", AppEvent::OrderPassed { order_id: id }));
                }
                70..78 => events.push(("checkout", failed(id))),
                78..83 => {
                    events.push(("order-processor", AppEvent::OrderReceived { order_id: id }));
                    events.push(("checkout", failed(id)));
                }
                83..86 => events.push(("checkout", AppEvent::OrderPassed { order_id: id })),
                86..88 => {
                    // Taken for lost, then it arrives after all.
                    events.push(("checkout", AppEvent::OrderPassed { order_id: id }));
                    schedule(rng.u64(5000..8000), Later::Received);
                }
                88..92 => {
                    for _ in 0..2 {
                        events.push(("order-processor", AppEvent::OrderReceived { order_id: id }));
                    }
                    events.push(("checkout", AppEvent::OrderPassed { order_id: id }));
                }
                92..96 => {
                    // Held in a retry for thousands of orders.
                    let after = rng.u64(100..6000);
                    schedule(after, Later::Received);
                    schedule(after, if rng.bool() { Later::Passed } else { Later::Failed });
                }
                _ => {
                    events.push(("order-processor", AppEvent::OrderReceived { order_id: id }));
                    events.push(("checkout", AppEvent::OrderPassed { order_id: id }));
                    schedule(rng.u64(5000..8000), Later::Received);
                }
            }
        }
        for (id, what) in later.remove(&step).unwrap_or_default() {
            late_after_eviction += usize::from(ledger.orders.evicted.contains(id));
            events.push(match what {
                Later::Received => ("order-processor", AppEvent::OrderReceived { order_id: id }),
                Later::Passed => ("checkout", AppEvent::OrderPassed { order_id: id }),
                Later::Failed => ("checkout", failed(id)),
            });
        }
        for (app, event) in events {
            let e = at(step, app, event);
            ledger.record(&e);
            reference.record(&e);
        }
        assert!(ledger.orders.window_len() <= WINDOW, "step {step}");
        held_max = held_max.max(ledger.summary().in_flight);
        assert_eq!(ledger.summary(), reference.summary(), "step {step}");
        assert_eq!(ledger.passed(), reference.passed(), "step {step}");
        assert_eq!(ledger.oldest_waiting(), reference.oldest_waiting(), "step {step}");
        if step % 2000 == 0 {
            let end = Duration::from_millis(step * 100);
            assert_eq!(ledger.json(end), reference.json(end), "step {step}");
            assert_eq!(ledger.received_ids(), reference.received_ids(), "step {step}");
        }
    }
    let end = ledger.end();
    assert_eq!(ledger.json(end), reference.json(end));
    assert_eq!(ledger.text(end), reference.text(end));
    let s = ledger.summary();
    assert!(
        s.lost > 0 && s.duplicated > 0 && s.failed > 0 && held_max > 100,
        "the stream exercised every case: {s:?}, {held_max} held at most"
    );
    assert!(
        late_after_eviction > 100,
        "late events for evicted orders: {late_after_eviction}"
    );
    assert_eq!(
        reference.orders.window_len(),
        2 * steps as usize,
        "the reference kept every order"
    );
    assert!(
        ledger.orders.evicted.ranges() < steps as usize,
        "ranges: {}",
        ledger.orders.evicted.ranges()
    );
}
