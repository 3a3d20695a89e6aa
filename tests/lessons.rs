//! Each lesson's story, on a paused clock over real TCP: the built-in lesson scenario with its own resources,
//! its fault injected and cleared at exact times, and what its `explain` tells a learner to watch checked
//! event by event.

use crate::common;

use std::time::Duration;

use common::story::{run_scenario, story};
use resilience_tui::event::{AppEvent, Event, Stamped};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::summary::Ledger;

/// When each attempt failed, and why.
fn failed_attempts(events: &[Stamped]) -> Vec<(f64, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Resiliency {
                event: ResiliencyEvent::AttemptFailed { error, .. },
                ..
            } => Some((e.at.as_secs_f64(), error.clone())),
            _ => None,
        })
        .collect()
}

/// When each order failed, with the status and message checkout got.
fn failed_orders(events: &[Stamped]) -> Vec<(f64, u16, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::App {
                event: AppEvent::OrderFailed { status, message, .. },
                ..
            } => Some((e.at.as_secs_f64(), *status, message.clone())),
            _ => None,
        })
        .collect()
}

fn ledger(events: &[Stamped]) -> Ledger {
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    ledger
}

const OPEN: &str = "failed to invoke, id: order-processor, err: circuit breaker is open";

/// `timeouts`: with a 1s timeout and a 2s (or hanging) order-processor, each attempt ends in `context deadline
/// exceeded` one second after it starts, the next comes 2s later, the third in a row opens the breaker;
/// while it is open calls fail fast; once the fault is cleared the next probe closes it.
#[tokio::test(start_paused = true)]
async fn timeouts_fire_are_retried_and_open_the_breaker() {
    for (fault, injected) in [
        (0, "3.0s injected: calls to order-processor wait 2s"),
        (1, "3.0s injected: order-processor accepts calls and never answers"),
    ] {
        let events = run_scenario("timeouts", None, fault, (3, Some(25)), 40).await;
        let expected = [
            injected,
            "4.0s retrying in 2s",
            "10.0s closed -> open",
            "20.0s open -> half-open",
            "21.0s half-open -> open",
            "21.0s retrying in 2s",
            "25.0s cleared: calls to order-processor pass again",
            "31.0s open -> half-open",
            "31.0s half-open -> closed",
        ];
        assert_eq!(story(&events), expected, "fault {fault}");
        let timeouts: Vec<(f64, String)> = [4.0, 7.0, 10.0, 21.0]
            .into_iter()
            .map(|t| (t, "context deadline exceeded".to_string()))
            .collect();
        assert_eq!(
            failed_attempts(&events),
            timeouts,
            "one second after each attempt (fault {fault})"
        );
        let failed = failed_orders(&events);
        assert!(
            !failed.is_empty() && failed.iter().all(|(_, status, m)| *status == 500 && m == OPEN),
            "{failed:?}"
        );
        let s = ledger(&events).summary();
        assert_eq!(
            (s.lost, s.duplicated),
            (0, 0),
            "a timed-out call never reached the app: {s:?}"
        );
        let delivered_after = events.iter().any(|e| {
            e.at >= Duration::from_secs(31)
                && matches!(
                    &e.event,
                    Event::App {
                        event: AppEvent::OrderReceived { .. },
                        ..
                    }
                )
        });
        assert!(delivered_after, "orders pass once the breaker closes");
    }
}

/// `status-codes`, 503: retried (it is in `httpStatusCodes`) 3 times 2s apart, then checkout gets the app's own
/// 503; the sixth failure in a row opens the breaker.
#[tokio::test(start_paused = true)]
async fn a_503_is_retried_and_then_the_app_s_answer_comes_back() {
    let events = run_scenario("status-codes", None, 0, (3, Some(25)), 40).await;
    let expected = [
        "3.0s injected: order-processor answers 503 to 100% of calls (its sidecar does, in its place)",
        "3.0s retrying in 2s",
        "10.0s retrying in 2s",
        "12.0s closed -> open",
        "22.0s open -> half-open",
        "22.0s half-open -> open",
        "22.0s retrying in 2s",
        "25.0s cleared: calls to order-processor pass again",
        "32.0s open -> half-open",
        "32.0s half-open -> closed",
    ];
    assert_eq!(story(&events), expected);
    let attempts: Vec<f64> = failed_attempts(&events).iter().map(|(t, _)| *t).take(6).collect();
    assert_eq!(
        attempts,
        [3.0, 5.0, 7.0, 9.0, 10.0, 12.0],
        "1 + 3 retries for order 4, then order 5"
    );
    let failed = failed_orders(&events);
    let (at, status, message) = &failed[0];
    assert_eq!(
        (*at, *status),
        (9.0, 503),
        "after 3 retries checkout gets the app's answer: {failed:?}"
    );
    assert!(message.contains("503 Service Unavailable"), "{message}");
    assert!(
        failed[1..].iter().all(|(_, _, m)| m == OPEN),
        "then calls fail fast: {failed:?}"
    );
    assert_eq!(ledger(&events).summary().duplicated, 0);
}

/// `status-codes`, 404: not in `httpStatusCodes`, so never retried; each order fails at once with the app's
/// 404, and the failures still count: the sixth in a row opens the breaker.
#[tokio::test(start_paused = true)]
async fn a_404_is_not_retried_but_counts_toward_the_breaker() {
    let events = run_scenario("status-codes", None, 1, (3, Some(25)), 32).await;
    let expected = [
        "3.0s injected: order-processor answers 404 to 100% of calls (its sidecar does, in its place)",
        "8.0s closed -> open",
        "18.0s open -> half-open",
        "18.0s half-open -> open",
        "25.0s cleared: calls to order-processor pass again",
        "28.0s open -> half-open",
        "28.0s half-open -> closed",
    ];
    assert_eq!(story(&events), expected, "no `retrying` line at all");
    let failed = failed_orders(&events);
    let not_found: Vec<f64> = failed.iter().filter(|(_, s, _)| *s == 404).map(|(t, ..)| *t).collect();
    assert_eq!(
        not_found,
        [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 18.0],
        "one attempt each: {failed:?}"
    );
    let ledger = ledger(&events);
    assert_eq!(ledger.summary().retries, 0);
    let text = ledger.text(ledger.end());
    assert!(!text.contains("longest wait"), "no order waited for anything: {text}");
}

/// The waits the retry policy chose, in order.
fn waits(events: &[Stamped], operation: &str) -> Vec<Duration> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Resiliency {
                event: ResiliencyEvent::RetryScheduled {
                    operation: op, wait, ..
                },
                ..
            } if &**op == operation => Some(*wait),
            _ => None,
        })
        .collect()
}

const ENDPOINT: &str = "endpoint[order-processor, order-processor:orders]";

/// `exponential-backoff`: each wait is its nominal interval (500ms, x1.5 each retry, capped at maxInterval 10s)
/// randomized by at most ±50%, so they grow; the held order is delivered after the clear.
#[tokio::test(start_paused = true)]
async fn exponential_waits_grow_by_half_with_jitter_up_to_max_interval() {
    let events = run_scenario("exponential-backoff", None, 0, (3, Some(60)), 78).await;
    let waits = waits(&events, ENDPOINT);
    assert!(waits.len() >= 10, "{waits:?}");
    let mut nominal = 0.5f64;
    for (i, w) in waits.iter().enumerate() {
        let w = w.as_secs_f64();
        assert!(
            w >= nominal * 0.5 - 1e-9 && w <= nominal * 1.5 + 1e-9,
            "wait {i} {w}s for nominal {nominal}s: {waits:?}"
        );
        nominal = (nominal * 1.5).min(10.0);
    }
    let (first, last) = (
        waits[..3].iter().sum::<Duration>(),
        waits[waits.len() - 3..].iter().sum::<Duration>(),
    );
    assert!(last > first * 4, "the waits grow: {waits:?}");
    let recovered = story(&events).into_iter().any(|l| l.contains("recovered after"));
    assert!(recovered, "{:?}", story(&events));
    assert_eq!(ledger(&events).summary().lost, 0);
}

/// `defaults`: with no target, DefaultAppRetryPolicy (1s, 3 retries) is chosen over DefaultRetryPolicy (5s, 2
/// retries); a named target replaces both. With order-processor's sidecar down too, each default attempt holds
/// Dapr's built-in service retries (a default does not switch them off; a named target does).
#[tokio::test(start_paused = true)]
async fn defaults_are_picked_by_name_and_a_named_target_replaces_them() {
    let events = run_scenario("defaults", None, 0, (3, Some(30)), 32).await;
    let failed = failed_orders(&events);
    let (at, status, message) = &failed[0];
    assert_eq!((*at, *status), (6.0, 500), "1 attempt + 3 retries 1s apart: {failed:?}");
    assert!(message.contains("error invoking app channel"), "{message}");
    assert!(waits(&events, ENDPOINT).iter().all(|w| *w == Duration::from_secs(1)));
    assert!(
        waits(&events, "DaprBuiltInServiceRetries").is_empty(),
        "Internal is not retried by the built-in policy"
    );

    let events = run_scenario("defaults", None, 1, (3, Some(30)), 32).await;
    let failed = failed_orders(&events);
    assert_eq!(
        failed[0].0, 18.0,
        "4 default attempts, each 1 + 3 built-in tries, 1s apart: {failed:?}"
    );
    assert!(
        failed[0]
            .2
            .contains("failed to invoke target order-processor after 3 retries"),
        "{failed:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let named = include_str!("../resources/defaults/resiliency.yaml").to_string()
        + "\n  targets:\n    apps:\n      order-processor:\n        retry: twoSeconds\n";
    let named = named.replace(
        "    retries:\n",
        "    retries:\n      twoSeconds:\n        policy: constant\n        duration: 2s\n        maxRetries: 1\n",
    );
    std::fs::write(dir.path().join("resiliency.yaml"), named).unwrap();
    let events = run_scenario("defaults", Some(dir.path().to_path_buf()), 1, (3, Some(30)), 32).await;
    assert!(waits(&events, ENDPOINT).iter().all(|w| *w == Duration::from_secs(2)));
    assert!(
        waits(&events, "DaprBuiltInServiceRetries").is_empty(),
        "a named target switches the built-in retries off"
    );
    assert_eq!(failed_orders(&events)[0].0, 5.0, "1 attempt + 1 retry 2s later");
}

/// `no-resiliency`: with no Resiliency resource, an unreachable callee sidecar is retried by Dapr's built-in
/// service retries (3 retries, 1s apart) and the order then fails; an app that is down behind a running sidecar,
/// or that answers 503, fails the order at once. No breaker is ever made.
#[tokio::test(start_paused = true)]
async fn without_a_policy_only_the_built_in_retries_act_and_orders_fail() {
    let events = run_scenario("no-resiliency", None, 0, (3, Some(12)), 15).await;
    let failed = failed_orders(&events);
    let times: Vec<f64> = failed.iter().map(|(t, ..)| *t).collect();
    assert_eq!(
        &times[..2],
        [6.0, 10.0],
        "1 + 3 built-in tries 1s apart per order: {failed:?}"
    );
    assert!(
        failed[0]
            .2
            .contains("failed to invoke target order-processor after 3 retries"),
        "{failed:?}"
    );
    assert!(
        waits(&events, "DaprBuiltInServiceRetries")
            .iter()
            .all(|w| *w == Duration::from_secs(1))
    );
    assert!(waits(&events, ENDPOINT).is_empty(), "no policy of its own");
    let breakers = events.iter().any(|e| {
        matches!(
            &e.event,
            Event::Resiliency {
                event: ResiliencyEvent::BreakerCreated { .. },
                ..
            }
        )
    });
    assert!(!breakers, "no circuit breaker without a policy");

    for fault in [1, 2] {
        let events = run_scenario("no-resiliency", None, fault, (3, Some(6)), 8).await;
        let failed: Vec<f64> = failed_orders(&events).iter().map(|(t, ..)| *t).collect();
        assert_eq!(failed, [3.0, 4.0, 5.0], "each order fails at once (fault {fault})");
        assert!(waits(&events, "DaprBuiltInServiceRetries").is_empty(), "fault {fault}");
    }
}

/// `+` / `-` on an injected latency: the `timeouts` lesson's 2s made 500ms, so the next attempt fits in the 1s
/// timeout and the held order goes through; each change is an event saying the new delay.
#[tokio::test(start_paused = true)]
async fn an_injected_latency_made_shorter_lets_the_order_through() {
    let scenario = resilience_tui::scenario::find("timeouts").unwrap().load().unwrap();
    let port = common::free_port;
    let opts = resilience_tui::lifecycle::RunOptions {
        ports: resilience_tui::scenario::PortOverrides {
            dapr_http: vec![("checkout".into(), port()), ("order-processor".into(), port())],
            app: vec![("order-processor".into(), port())],
        },
        sidecars_on_this_runtime: true,
        ..Default::default()
    };
    let t0 = tokio::time::Instant::now();
    let (running, mut rx) = resilience_tui::lifecycle::start(scenario, &opts).await.unwrap();
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(e) = rx.recv().await {
            all.push(e);
        }
        all
    });
    tokio::time::sleep_until(t0 + Duration::from_secs(3)).await;
    running.faults.inject(0).await;
    tokio::time::sleep_until(t0 + Duration::from_millis(3500)).await;
    for _ in 0..3 {
        running
            .faults
            .adjust_latency(resilience_tui::lifecycle::LATENCY_STEP, false)
            .await;
    }
    tokio::time::sleep_until(t0 + Duration::from_secs(9)).await;
    running.shutdown().await;
    let events = collector.await.unwrap();
    let adjusted: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Fault(resilience_tui::event::FaultEvent::Adjusted { description, .. }) => Some(description.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(adjusted.len(), 3, "{adjusted:?}");
    assert!(
        adjusted[2].ends_with("calls to order-processor now wait 500ms"),
        "{adjusted:?}"
    );
    let story = story(&events);
    assert!(
        story.contains(&"4.0s retrying in 2s".to_string()),
        "the first attempt met the 2s: {story:?}"
    );
    assert!(
        story.contains(&"6.5s recovered after 2 attempts".to_string()),
        "{story:?}"
    );
}

/// `why-breakers`: with order-processor failing, the retry-only caller sends every retry to it (10 orders a
/// second, 6 calls each: 60 calls a second) and its callers wait 5s for a failure; the caller with a breaker
/// stops reaching it once the breaker opens (a probe every 5s) and its callers learn at once.
#[tokio::test(start_paused = true)]
async fn a_breaker_stops_a_sick_service_being_buried_under_retries() {
    let events = run_scenario("why-breakers", None, 0, (3, None), 24).await;
    let seconds: Vec<(u64, Vec<resilience_tui::event::CallerTraffic>)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Traffic { callers, .. } => Some((e.at.as_secs(), callers.clone())),
            _ => None,
        })
        .collect();
    let late: Vec<&(u64, Vec<_>)> = seconds.iter().filter(|(t, _)| (12..=23).contains(t)).collect();
    assert!(late.len() >= 10, "{seconds:?}");
    let of = |callers: &[resilience_tui::event::CallerTraffic], name: &str| {
        callers.iter().find(|c| c.caller == name).cloned().unwrap()
    };
    for (t, callers) in &late {
        let (retry, breaker) = (of(callers, "checkout-retry"), of(callers, "checkout-breaker"));
        assert!(
            retry.reached >= 50,
            "{t}s: every retry reaches the sick service: {retry:?}"
        );
        assert!(
            retry.mean_ms >= 4000,
            "{t}s: its callers wait for 6 attempts: {retry:?}"
        );
        assert!(breaker.reached <= 1, "{t}s: only a probe gets through: {breaker:?}");
    }
    let probes: u64 = late.iter().map(|(_, c)| of(c, "checkout-breaker").reached).sum();
    assert!((1..=3).contains(&probes), "a probe every 5s: {probes}");
    let fast = late
        .iter()
        .filter(|(_, c)| of(c, "checkout-breaker").mean_ms < 200)
        .count();
    assert!(
        fast * 2 > late.len(),
        "the breaker's callers mostly learn at once: {seconds:?}"
    );
    assert_eq!(ledger(&events).summary().duplicated, 0);
}
