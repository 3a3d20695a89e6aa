//! The service-invocation quickstart end to end on a paused clock: the built-in scenario with its real
//! `resiliency.yaml` (retry every 5 s forever, breaker open after 5 consecutive failures for 5 s), real
//! checkout and order-processor apps and sidecars on real loopback ports, all on the test's runtime, so the
//! minute-long story runs exactly and in well under a second (mini-redis's way of testing over real TCP).

use crate::common;

use std::time::Duration;

use common::story::{attempt_errors, failed_orders, retrying_lines, run_story, story, without_ports};
use resilience_tui::event::{AppEvent, Event};
use resilience_tui::summary::Ledger;

#[tokio::test(start_paused = true)]
async fn the_quickstart_story_exactly_over_real_tcp() {
    let events = run_story(None, 0, (10, Some(45)), 60).await;

    let story: Vec<String> = story(&events);
    let expected = [
        "10.0s injected: stop order-processor and its sidecar (127.0.0.1:PORT and 127.0.0.1:PORT refuse connections)",
        "10.0s retrying in 5s",
        "30.0s closed -> open",
        "35.0s open -> half-open",
        "35.0s half-open -> open",
        "40.0s open -> half-open",
        "40.0s half-open -> open",
        "45.0s cleared: order-processor and its sidecar listen again on 127.0.0.1:PORT and 127.0.0.1:PORT",
        "45.0s open -> half-open",
        "45.0s half-open -> closed",
        "45.0s recovered after 8 attempts",
    ];
    let port_free: Vec<String> = story.iter().map(|l| without_ports(l)).collect();
    assert_eq!(port_free, expected);
    // The quickstart's fault stops the sidecar too: checkout's sidecar meets daprd's Unavailable.
    let errors = attempt_errors(&events);
    assert!(!errors.is_empty());
    for e in errors {
        assert_eq!(without_ports(&e), UNAVAILABLE);
    }

    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    let s = ledger.summary();
    assert_eq!((s.lost, s.duplicated, s.failed), (0, 0, 0), "{s:?}");
    // One order a second: 10 before the fault (0-9 s), the one held from 10 s to 45 s, 14 after (46-59 s).
    assert_eq!(s.delivered, 10 + 1 + 14, "{s:?}");
    let held = events.iter().find_map(|e| match &e.event {
        Event::App {
            event: AppEvent::OrderReceived { order_id },
            ..
        } if e.at >= Duration::from_secs(45) => Some(*order_id),
        _ => None,
    });
    assert_eq!(
        held,
        Some(11),
        "the order held in the retry loop is the first one delivered after the clear"
    );
}

const UNAVAILABLE: &str = "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:PORT: connect: connection refused\"";
const INTERNAL: &str = "rpc error: code = Internal desc = error invoking app channel: Post \"http://127.0.0.1:PORT/orders\": dial tcp 127.0.0.1:PORT: connect: connection refused";

/// With no Resiliency resource, daprd's built-in service retries still retry an unreachable sidecar: 3
/// retries, 1 s apart, then the order fails with daprd's message.
#[tokio::test(start_paused = true)]
async fn without_a_resiliency_resource_the_built_in_retries_try_three_more_times() {
    let empty = tempfile::tempdir().unwrap();
    let events = run_story(Some(empty.path().to_path_buf()), 0, (2, None), 6).await;
    let retrying = retrying_lines(&events);
    let line = "Error processing operation DaprBuiltInServiceRetries. Retrying in 1s\u{2026}";
    assert_eq!(retrying.first(), Some(&(2.0, line.to_string())), "{retrying:?}");
    let failed = failed_orders(&events);
    let message = format!(
        "failed to invoke, id: order-processor, err: failed to invoke target order-processor after 3 retries. Error: {UNAVAILABLE}"
    );
    assert_eq!(
        failed.first(),
        Some(&(5.0, message)),
        "attempts at 2, 3, 4 and 5 s, then the order fails: {failed:?}"
    );
}

/// With only the app stopped, the callee's sidecar answers Internal: the quickstart's policy retries it
/// like any failure, but the built-in retries do not (daprd retries only Unavailable).
#[tokio::test(start_paused = true)]
async fn with_only_the_app_stopped_its_sidecar_answers_internal() {
    let events = run_story(None, 1, (2, None), 12).await;
    let errors = attempt_errors(&events);
    assert!(errors.len() >= 2, "retried by the policy: {errors:?}");
    assert!(errors.iter().all(|e| without_ports(e) == INTERNAL), "{errors:?}");
    assert!(failed_orders(&events).is_empty(), "retried for ever, never failed");

    let empty = tempfile::tempdir().unwrap();
    let events = run_story(Some(empty.path().to_path_buf()), 1, (2, None), 4).await;
    assert!(
        retrying_lines(&events).is_empty(),
        "Internal is not retried by the built-in retries"
    );
    let failed = failed_orders(&events);
    let message = format!("failed to invoke, id: order-processor, err: {INTERNAL}");
    assert_eq!(failed.first(), Some(&(2.0, message)), "{failed:?}");
}

/// The loader's warnings about the resources in use reach the displays (the UI's sidecar log, headless
/// output), located, so a learner sees them without running `validate`.
#[tokio::test(start_paused = true)]
async fn the_resources_warnings_are_shown_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "kind: Resiliency\nmetadata: {name: typo}\nscopes: [checkout]\nspec:\n  policies:\n    retries:\n      r: {duration: 5}\n  targets:\n    apps:\n      order-processor: {retry: r}\n";
    std::fs::write(dir.path().join("resiliency.yaml"), policy).unwrap();
    let events = run_story(Some(dir.path().to_path_buf()), 0, (1, None), 2).await;
    let warnings: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Warning { .. } => e.event.text(),
            _ => None,
        })
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("bare number") && w.contains("resiliency.yaml:7:")),
        "{warnings:?}"
    );
}
