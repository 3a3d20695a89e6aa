//! Faults on the state store's side, for real: a Redis container paused and unpaused through bollard (Redis
//! holds its connections and answers nothing, so the policy's timeout fires), undone on every exit path; and
//! the store-call faults (latency, errors) on the in-memory store.

use crate::common;

use common::state::{collect_for, state_scenario};
use common::story::attempt_errors;

use std::time::Duration;

use resilience_tui::event::{Event, Stamped};
use resilience_tui::lifecycle::{RunOptions, StateStoreChoice, start};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{FaultAction, Scenario, StoreFault};
use resilience_tui::summary::Ledger;

/// Half a second per attempt, a retry every 300ms, the breaker open after 3 failures for 300ms.
const TIMED: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: timed}
scopes: [order-processor]
spec:
  policies:
    timeouts:
      halfSecond: 500ms
    retries:
      retryForever: {policy: constant, duration: 300ms, maxRetries: -1}
    circuitBreakers:
      simpleCB: {maxRequests: 1, timeout: 300ms, trip: consecutiveFailures >= 3}
  targets:
    components:
      statestore:
        outbound: {timeout: halfSecond, retry: retryForever, circuitBreaker: simpleCB}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: "localhost:6379"}
  - {name: redisPassword, value: ""}
"#;

fn happened(events: &[Stamped], what: impl Fn(&ResiliencyEvent) -> bool) -> bool {
    events
        .iter()
        .any(|e| matches!(&e.event, Event::Resiliency { event, .. } if what(event)))
}

/// Runs `scenario`, injects its fault after 400ms, clears it `hold` later, and returns what happened.
async fn outage(scenario: Scenario, opts: RunOptions, hold: Duration) -> Vec<Stamped> {
    let (running, mut rx) = start(scenario, &opts).await.expect("scenario starts");
    let mut events = Vec::new();
    collect_for(Duration::from_millis(400), &mut events, &mut rx).await;
    running.faults.inject(0).await;
    collect_for(hold, &mut events, &mut rx).await;
    running.faults.clear_all().await;
    collect_for(Duration::from_millis(1500), &mut events, &mut rx).await;
    running.shutdown().await;
    while let Some(e) = rx.try_recv() {
        events.push(e);
    }
    events
}

fn opts(choice: StateStoreChoice, container: &str) -> RunOptions {
    RunOptions {
        order_interval: Some(Duration::from_millis(50)),
        state_store: choice,
        redis_container: container.to_string(),
        ..RunOptions::default()
    }
}

fn nothing_lost(events: &[Stamped]) {
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    let s = ledger.summary();
    assert_eq!((s.lost, s.duplicated, s.failed), (0, 0, 0), "{s:?}");
    assert!(
        happened(events, |e| matches!(e, ResiliencyEvent::Recovered { .. })),
        "recovered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_container_times_out_and_recovers_and_is_never_left_paused() {
    let container = tokio::task::spawn_blocking(common::docker::RedisContainer::create)
        .await
        .unwrap();
    let host = format!("127.0.0.1:{}", container.port);
    let pause = || FaultAction::PauseStateStore {
        component: "statestore".into(),
    };
    let choice = opts(StateStoreChoice::Docker, &container.name);
    let events = outage(
        state_scenario("pause", TIMED, &host, pause()),
        choice.clone(),
        Duration::from_secs(3),
    )
    .await;
    let errs = attempt_errors(&events);
    assert!(
        errs.iter().any(|e| e == "context deadline exceeded"),
        "the timeout fired: {errs:?}"
    );
    assert!(happened(&events, |e| matches!(
        e,
        ResiliencyEvent::BreakerStateChanged {
            to: resilience_tui::resiliency::BreakerState::Open,
            ..
        }
    )));
    nothing_lost(&events);
    let states: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Container { state, .. } => Some(state.to_string()),
            _ => None,
        })
        .collect();
    let paused = states
        .iter()
        .position(|s| s == "paused")
        .unwrap_or_else(|| panic!("{states:?}"));
    assert!(states[paused..].iter().any(|s| s == "running"), "{states:?}");
    assert!(container.running() && !container.paused());

    // q pressed mid-pause: the run's end clears the fault, so the container is unpaused.
    let (running, _rx) = start(state_scenario("pause-q", TIMED, &host, pause()), &choice)
        .await
        .unwrap();
    running.faults.inject(0).await;
    assert!(container.paused(), "the fault paused it");
    let warnings = running.shutdown().await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(container.running() && !container.paused(), "unpaused by the run's end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_latency_and_errors_on_the_in_memory_store() {
    let latency = FaultAction::StoreCall {
        component: "statestore".into(),
        fault: StoreFault::Latency {
            delay: Duration::from_secs(1),
            jitter: Duration::ZERO,
        },
    };
    let events = outage(
        state_scenario("latency", TIMED, "localhost:6379", latency),
        opts(StateStoreChoice::Memory, ""),
        Duration::from_secs(2),
    )
    .await;
    let errs = attempt_errors(&events);
    assert!(
        !errs.is_empty() && errs.iter().all(|e| e == "context deadline exceeded"),
        "{errs:?}"
    );
    nothing_lost(&events);

    let error = FaultAction::StoreCall {
        component: "statestore".into(),
        fault: StoreFault::Error {
            message: "LOADING Redis is loading the dataset in memory".into(),
        },
    };
    let events = outage(
        state_scenario("error", TIMED, "localhost:6379", error),
        opts(StateStoreChoice::Memory, ""),
        Duration::from_secs(2),
    )
    .await;
    let errs = attempt_errors(&events);
    assert!(
        errs.iter()
            .any(|e| e.contains("LOADING Redis is loading the dataset in memory")),
        "{errs:?}"
    );
    nothing_lost(&events);

    let pause = FaultAction::PauseStateStore {
        component: "statestore".into(),
    };
    let events = outage(
        state_scenario("mem-pause", TIMED, "localhost:6379", pause),
        opts(StateStoreChoice::Memory, ""),
        Duration::from_secs(2),
    )
    .await;
    assert!(attempt_errors(&events).iter().any(|e| e == "context deadline exceeded"));
    nothing_lost(&events);
}
