//! The service-invoke story end to end, on real loopback ports, with a policy of short durations (100ms
//! instead of 5s) so it runs in about two seconds: orders pass, the fault, one `Retrying` line, the breaker
//! opens after 5 failures, half-open probes, the clear, half-open→closed, `Recovered`, and every order
//! arrives: ids consecutive, none lost, none duplicated.

use crate::common;

use common::free_port;
use std::path::PathBuf;
use std::time::Duration;

use resilience_tui::event::{AppEvent, Event, FaultEvent, Stamped};
use resilience_tui::lifecycle::{RunOptions, start};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{AppSpec, FaultAction, FaultSpec, Scenario};
use resilience_tui::summary::Ledger;

const FAST_POLICY: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: fastresiliency}
scopes: [checkout]
spec:
  policies:
    retries:
      retryForever: {policy: constant, duration: 100ms, maxRetries: -1}
    circuitBreakers:
      simpleCB: {maxRequests: 1, timeout: 100ms, trip: consecutiveFailures >= 5}
  targets:
    apps:
      order-processor: {retry: retryForever, circuitBreaker: simpleCB}
"#;

fn scenario() -> Scenario {
    let dir = common::temp_dir("e2e");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("resiliency.yaml"), FAST_POLICY).unwrap();
    Scenario {
        name: "fast".into(),
        title: "fast".into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(dir),
        apps: vec![
            AppSpec::Checkout {
                app_id: "checkout".into(),
                dapr_http_port: free_port(),
                target: "order-processor".into(),
            },
            AppSpec::OrderProcessor {
                app_id: "order-processor".into(),
                app_port: free_port(),
                dapr_http_port: free_port(),
            },
        ],
        faults: vec![FaultSpec {
            name: "stop-order-processor".into(),
            key: 'f',
            action: FaultAction::StopApp {
                app_id: "order-processor".into(),
            },
            explain: String::new(),
        }],
        file: PathBuf::from("fast.yaml"),
    }
}

/// A readable label for the events the story is made of.
fn label(e: &Stamped) -> Option<String> {
    match &e.event {
        Event::Fault(FaultEvent::Injected { .. }) => Some("fault injected".into()),
        Event::Fault(FaultEvent::Cleared { .. }) => Some("fault cleared".into()),
        Event::Resiliency {
            event: ResiliencyEvent::Retrying { .. },
            ..
        } => Some("Retrying".into()),
        Event::Resiliency {
            event: ResiliencyEvent::Recovered { .. },
            ..
        } => Some("Recovered".into()),
        Event::Resiliency {
            event: ResiliencyEvent::BreakerStateChanged { from, to, .. },
            ..
        } => Some(format!("{from}->{to}")),
        _ => None,
    }
}

/// Collects events for `d`.
async fn collect_for(d: Duration, events: &mut Vec<Stamped>, rx: &mut resilience_tui::event::Events) {
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        events.push(e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_invoke_story_in_order() {
    let opts = RunOptions {
        order_interval: Some(Duration::from_millis(50)),
        ..RunOptions::default()
    };
    let (running, mut rx) = start(scenario(), &opts).await.expect("scenario starts");
    let mut events = Vec::new();
    collect_for(Duration::from_millis(400), &mut events, &mut rx).await;
    running.faults.inject(0).await;
    collect_for(Duration::from_millis(1200), &mut events, &mut rx).await;
    running.faults.clear_all().await;
    collect_for(Duration::from_millis(600), &mut events, &mut rx).await;
    running.shutdown().await;
    while let Some(e) = rx.try_recv() {
        events.push(e);
    }

    let story: Vec<String> = events.iter().filter_map(label).collect();
    // Squash repeated failed probe cycles (open->half-open, half-open->open) so the shape of the story is compared.
    let probe = ["open->half-open".to_string(), "half-open->open".to_string()];
    let mut shape: Vec<String> = Vec::new();
    let mut i = 0;
    while i < story.len() {
        let is_probe = story.get(i..i + 2) == Some(&probe[..]);
        if is_probe && shape.len() >= 2 && shape[shape.len() - 2..] == probe[..] {
            i += 2;
            continue;
        }
        shape.push(story[i].clone());
        i += 1;
    }
    assert_eq!(
        shape,
        [
            "fault injected",
            "Retrying",
            "closed->open",
            "open->half-open",
            "half-open->open",
            "fault cleared",
            "open->half-open",
            "half-open->closed",
            "Recovered",
        ],
        "the story, in order"
    );
    let retrying = events
        .iter()
        .filter(|e| label(e).as_deref() == Some("Retrying"))
        .count();
    assert_eq!(retrying, 1, "one Retrying line for the one blocked request");

    let mut ledger = Ledger::default();
    for e in &events {
        ledger.record(e);
    }
    let summary = ledger.summary();
    assert_eq!(
        (summary.lost, summary.duplicated, summary.failed),
        (0, 0, 0),
        "{summary:?}"
    );
    let ids = ledger.received_ids();
    assert!(ids.len() >= 8, "orders flowed before and after the fault: {ids:?}");
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "ids consecutive from 1"
    );
    // The order that was blocked during the outage arrived after the clear.
    let cleared_at = events
        .iter()
        .find(|e| label(e).as_deref() == Some("fault cleared"))
        .unwrap()
        .at;
    let received_after = events.iter().any(|e| {
        e.at >= cleared_at
            && matches!(
                e.event,
                Event::App {
                    event: AppEvent::OrderReceived { .. },
                    ..
                }
            )
    });
    assert!(received_after);
}
