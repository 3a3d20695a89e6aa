//! The text: its lines, their width, and their words.

use super::*;
use crate::summary::breaker::KEPT_TRANSITIONS;
use crate::summary::faults::KEPT_INTERVALS;
use crate::summary::text::WIDTH;

const BREAKER: &str = "order-processor:orders";
const FAULT: &str = "stop-order-processor";

/// The README's run: fault at 10s, cleared at `clear`; order 11 is held in a retry the whole outage; the breaker
/// opens at 30s, then a probe every 5s fails `probes` times before one closes it. Returns when the run ends.
fn outage(run: &mut Run, clear: u64, probes: u64) -> u64 {
    for id in 1..=10 {
        run.order((id - 1) * 10, id, (id - 1) * 10 + 1);
    }
    run.fault(100, FAULT, true)
        .app(100, "checkout", AppEvent::OrderSent { order_id: 11 });
    run.retries(100, 7).breaker(300, BREAKER, Closed, Open);
    for k in 0..probes {
        let t = 350 + 50 * k;
        run.breaker(t, BREAKER, Open, HalfOpen)
            .breaker(t, BREAKER, HalfOpen, Open);
    }
    let closed = 350 + 50 * probes;
    run.fault(clear, FAULT, false)
        .breaker(closed, BREAKER, Open, HalfOpen)
        .breaker(closed, BREAKER, HalfOpen, Closed)
        .order(100, 11, closed + 2)
        // As in a real run: the sidecar's events often reach the ledger after the answer they led to.
        .recovered(closed + 2, "checkout", 8);
    let resumed = closed + 10;
    for (k, id) in (12..=25).enumerate() {
        run.order(resumed + 10 * k as u64, id, resumed + 10 * k as u64 + 1);
    }
    resumed + 140
}

fn readme_run() -> Run {
    let mut run = Run::default();
    let end = outage(&mut run, 450, 2);
    run.end(end);
    run
}

/// The text with each item on one line.
fn unwrapped(text: &str) -> String {
    text.replace("\n== SUMMARY ==   ", " ")
}

fn assert_fits(text: &str) {
    for line in text.lines() {
        assert!(line.chars().count() <= WIDTH, "over {WIDTH} columns: {line:?}\n{text}");
        assert!(line.starts_with("== SUMMARY =="), "{line:?}");
    }
}

#[test]
fn the_readme_run_s_summary_fits_a_screen() {
    let text = readme_run().text();
    assert_fits(&text);
    assert_eq!(
        text,
        "== SUMMARY == 60.0s: sent 25, delivered 25, lost 0, duplicated 0
== SUMMARY == failed 0, in flight 0, retries 7
== SUMMARY == longest wait: order 11, 35.2s over 8 attempts, then delivered
== SUMMARY == fault stop-order-processor: 10.0s–45.0s (35.0s)
== SUMMARY == breaker \"order-processor:orders\":
== SUMMARY ==   opened at 30.0s, 2 half-open probes failed, closed at 45.0s
== SUMMARY ==   time in state: closed 45.0s, open 15.0s, half-open 0.0s
"
    );
}

#[test]
fn a_ten_minute_outage_gives_as_many_lines_and_keeps_few_transitions() {
    let mut run = Run::default();
    let end = outage(&mut run, 6340, 120);
    run.end(end);
    let text = run.text();
    assert_fits(&text);
    assert_eq!(text.lines().count(), readme_run().text().lines().count(), "{text}");
    assert!(
        text.contains("opened at 30.0s, 120 half-open probes failed, closed at 635.0s"),
        "{text}"
    );
    assert!(
        text.contains("fault stop-order-processor: 10.0s–634.0s (624.0s)"),
        "{text}"
    );
    assert!(
        text.contains("time in state: closed 45.0s, open 605.0s, half-open 0.0s"),
        "{text}"
    );
    let json = run.0.json(run.0.end());
    let breaker = &json["breakers"][0];
    assert_eq!(breaker["transitions"].as_array().unwrap().len(), KEPT_TRANSITIONS);
    assert_eq!(breaker["transitions_total"], 243);
    assert_eq!(breaker["transitions_dropped"], 243 - KEPT_TRANSITIONS);
    assert_eq!(
        breaker["transitions"][KEPT_TRANSITIONS - 1]["to"],
        "closed",
        "the latest are kept"
    );
    assert_eq!(breaker["probes_failed"], 120);
}

#[test]
fn many_fault_cycles_keep_the_same_lines_and_few_intervals() {
    let cycles = |n: u64| {
        let mut run = Run::default();
        for k in 0..n {
            let t = 100 * k;
            run.fault(t, FAULT, true)
                .breaker(t + 10, BREAKER, Closed, Open)
                .breaker(t + 60, BREAKER, Open, HalfOpen)
                .breaker(t + 61, BREAKER, HalfOpen, Open)
                .fault(t + 80, FAULT, false)
                .breaker(t + 90, BREAKER, Open, HalfOpen)
                .breaker(t + 91, BREAKER, HalfOpen, Closed);
        }
        run.end(100 * n);
        run
    };
    let (few, many) = (cycles(12), cycles(120));
    let text = many.text();
    assert_fits(&text);
    assert_eq!(text.lines().count(), few.text().lines().count(), "{text}");
    assert!(text.lines().count() <= 15, "{text}");
    assert!(
        unwrapped(&text)
            .contains("fault stop-order-processor: injected 120 times, first 0.0s–8.0s (8.0s), 960.0s in all\n"),
        "{text}"
    );
    assert!(
        unwrapped(&text)
            .contains("opened 120 times (first at 1.0s), 120 half-open probes failed, last closed at 1199.1s"),
        "{text}"
    );
    let json = many.0.json(many.0.end());
    assert_eq!(json["faults"].as_array().unwrap().len(), KEPT_INTERVALS);
    assert_eq!(json["faults_dropped"], 120 - KEPT_INTERVALS);
    assert_eq!(
        json["faults"][0],
        json!({"fault": FAULT, "injected": 0.0, "cleared": 8.0, "seconds": 8.0})
    );
}

#[test]
fn a_fault_injected_at_the_end_says_it_was_cleared_on_exit() {
    let mut run = Run::default();
    run.order(0, 1, 1)
        .fault(100, FAULT, true)
        .app(100, "checkout", AppEvent::OrderSent { order_id: 2 });
    // The shutdown clears the fault after the run ends.
    run.end(300).fault(305, FAULT, false);
    let text = run.text();
    assert!(
        unwrapped(&text).contains("fault stop-order-processor: 10.0s–end (20.0s), cleared on exit\n"),
        "{text}"
    );
    assert!(!text.contains("still injected"), "{text}");
    assert!(
        text.contains("order 2 still waiting after 20.0s when the run ended"),
        "held longer than any answered order: {text}"
    );
    assert_fits(&text);
}

#[test]
fn a_fault_the_exit_could_not_clear_says_so() {
    let mut run = Run::default();
    run.order(0, 1, 1).fault(100, FAULT, true);
    // Clearing failed, or the user stopped waiting for it: no clear event comes.
    run.end(300);
    let text = run.text();
    assert!(
        unwrapped(&text)
            .contains("fault stop-order-processor: 10.0s–end (20.0s), still injected: not cleared on exit\n"),
        "{text}"
    );
    assert_fits(&text);
}

#[test]
fn the_state_scenario_s_orders_are_saved_and_read_back() {
    let mut run = Run::default();
    let app = "order-processor";
    run.app(0, app, AppEvent::OrderSent { order_id: 1 })
        .recovered(40, app, 3)
        .app(40, app, AppEvent::OrderSaved { order_id: 1 })
        .app(41, app, AppEvent::OrderRead { order_id: 1 })
        .app(50, app, AppEvent::OrderSent { order_id: 2 })
        .recovered(60, app, 2)
        .app(60, app, AppEvent::OrderSaved { order_id: 2 })
        // This recovery is the read-back's: the next save must not get it.
        .recovered(70, app, 5)
        .app(70, app, AppEvent::OrderRead { order_id: 2 })
        .app(80, app, AppEvent::OrderSent { order_id: 3 })
        .app(150, app, AppEvent::OrderSaved { order_id: 3 })
        .app(151, app, AppEvent::OrderRead { order_id: 3 })
        .end(160);
    let text = run.text();
    assert!(text.contains("sent 3, saved and read back 3, lost 0"), "{text}");
    assert!(text.contains("longest wait: order 3, 7.0s, then saved"), "{text}");
    assert!(!text.contains("delivered"), "{text}");
}

#[test]
fn long_names_are_wrapped_within_80_columns() {
    let (breaker, fault) = (
        "b".repeat(100),
        "a fault with a rather long name for a learner to read".to_string(),
    );
    let mut run = Run::default();
    run.fault(10, &fault, true)
        .breaker(20, &breaker, Closed, Open)
        .fault(30, &fault, false)
        .end(40);
    let text = run.text();
    assert_fits(&text);
    assert!(text.replace("\n== SUMMARY ==   ", "").contains(&breaker), "{text}");
}

#[test]
fn many_lost_orders_are_named_in_a_few_lines() {
    let mut ledger = Ledger::default();
    for id in 1..=500 {
        ledger.record(&app("checkout", AppEvent::OrderSent { order_id: id }));
        ledger.record(&app("checkout", AppEvent::OrderPassed { order_id: id }));
    }
    // order-processor reports receipts (it is the tool's), just not these.
    ledger.record(&app("order-processor", AppEvent::OrderReceived { order_id: 501 }));
    let text = ledger.text(Duration::from_secs(1));
    assert_fits(&text);
    assert!(text.lines().count() <= 8, "{text}");
    assert!(unwrapped(&text).contains("19, 20] and 480 more\n"), "{text}");
    assert_eq!(
        ledger.json(Duration::from_secs(1))["lost_ids"]
            .as_array()
            .unwrap()
            .len(),
        500
    );
}

#[test]
fn time_in_each_breaker_state() {
    let mut run = Run::default();
    run.breaker(200, "b", Closed, Open)
        .breaker(250, "b", Open, HalfOpen)
        .breaker(260, "b", HalfOpen, Closed);
    let text = run.0.text(Duration::from_secs(30));
    assert!(
        text.contains("opened at 20.0s, 0 half-open probes failed, closed at 26.0s\n"),
        "{text}"
    );
    assert!(
        text.contains("time in state: closed 24.0s, open 5.0s, half-open 1.0s\n"),
        "{text}"
    );
}

#[test]
fn a_breaker_still_open_at_the_end_says_so() {
    let mut run = Run::default();
    run.breaker(200, "b", Closed, Open)
        .breaker(250, "b", Open, HalfOpen)
        .breaker(251, "b", HalfOpen, Open);
    let text = run.0.text(Duration::from_secs(30));
    assert!(
        text.contains("  opened at 20.0s, 1 half-open probe failed, still open at the end\n"),
        "{text}"
    );
}

#[test]
fn a_receiver_that_is_not_the_tool_s_makes_no_order_lost() {
    let mut ledger = Ledger::default();
    for id in 1..=3 {
        ledger.record(&app("checkout", AppEvent::OrderSent { order_id: id }));
        ledger.record(&app("checkout", AppEvent::OrderPassed { order_id: id }));
    }
    assert_eq!(
        ledger.summary().lost,
        0,
        "your app's arrivals are not counted, so none is lost"
    );
    let text = ledger.text(Duration::from_secs(1));
    assert!(
        unwrapped(&text).contains("passed 3 (arrivals not counted: your app)"),
        "{text}"
    );
}
