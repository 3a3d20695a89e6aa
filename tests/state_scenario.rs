//! The state-management story end to end, on real loopback ports, with a policy of short durations: orders
//! are saved and read back, the store is stopped, one `Retrying` line for `component[statestore] output`,
//! `simpleCB-statestore` opens, half-open probes, the store comes back, the breaker closes, `Recovered`, and
//! every order arrives (ids consecutive, none lost) — against a redis-server the tool runs, and against the
//! in-memory store.

use crate::common;

use common::state::state_scenario;
use common::wait::{self, collect_until};

use std::time::Duration;

use resilience_tui::event::{Event, FaultChange, FaultEvent, Stamped};
use resilience_tui::lifecycle::{RunOptions, StateStoreChoice};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::FaultAction;
use resilience_tui::summary::Ledger;

const FAST: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: fastresiliency}
scopes: [order-processor]
spec:
  policies:
    retries:
      retryForever: {policy: constant, duration: 300ms, maxRetries: -1}
    circuitBreakers:
      simpleCB: {maxRequests: 1, timeout: 300ms, trip: consecutiveFailures >= 3}
  targets:
    components:
      statestore:
        outbound: {retry: retryForever, circuitBreaker: simpleCB}
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
  # The client gives up at once (no go-redis retries), so the breaker trips soon after the stop.
  - {name: redisMaxRetries, value: "-1"}
"#;

fn stop_redis() -> FaultAction {
    FaultAction::StopStateStore {
        component: "statestore".into(),
    }
}

fn label(e: &Stamped) -> Option<String> {
    match &e.event {
        Event::Fault(FaultEvent::Changing {
            what: FaultChange::Injecting,
            ..
        }) => Some("fault injecting".into()),
        Event::Fault(FaultEvent::Injected { .. }) => Some("fault injected".into()),
        Event::Fault(FaultEvent::Cleared { .. }) => Some("fault cleared".into()),
        Event::Resiliency {
            event: ResiliencyEvent::Retrying { operation, .. },
            ..
        } => Some(format!("Retrying {operation}")),
        Event::Resiliency {
            event: ResiliencyEvent::Recovered { .. },
            ..
        } => Some("Recovered".into()),
        Event::Resiliency {
            event: ResiliencyEvent::BreakerStateChanged { breaker, from, to, .. },
            ..
        } => Some(format!("{breaker} {from}->{to}")),
        _ => None,
    }
}

async fn story(choice: StateStoreChoice) -> (Vec<Stamped>, String) {
    story_with(choice, "", "localhost:6379").await
}

/// A predicate for [`collect_until`]: the ledger of the events it has seen has `n` orders that arrived (saved
/// and read back).
fn arrived(n: usize, events: &[Stamped]) -> impl FnMut(&Stamped) -> bool + use<> {
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    move |e| {
        ledger.record(e);
        ledger.received_ids().len() >= n
    }
}

/// The story, each step started by the event the previous one needs rather than after a stretch of time: the
/// store is stopped once orders flow, held until the breaker has tripped and its first probe has gone
/// (Docker's graceful stop takes a moment, more so on a loaded machine), and the run ends once orders flow again.
async fn story_with(choice: StateStoreChoice, container: &str, redis_host: &str) -> (Vec<Stamped>, String) {
    let opts = RunOptions {
        order_interval: Some(Duration::from_millis(50)),
        state_store: choice,
        redis_container: container.to_string(),
        ..RunOptions::default()
    };
    let scenario = || state_scenario(&format!("{choice:?}"), FAST, redis_host, stop_redis());
    let (running, mut rx) = common::start_on_free_ports(scenario, &opts).await;
    let mut events = Vec::new();
    collect_until(&mut events, &mut rx, "4 orders", arrived(4, &[])).await;
    running.faults.inject(0).await;
    collect_until(&mut events, &mut rx, "the first half-open probe", |e| {
        wait::breaker_went(e, "open", "half-open")
    })
    .await;
    running.faults.clear_all().await;
    collect_until(&mut events, &mut rx, "Recovered", wait::recovered).await;
    let mut ledger = Ledger::default();
    events.iter().for_each(|e| ledger.record(e));
    let at_least = (ledger.received_ids().len() + 1).max(8);
    let more = arrived(at_least, &events);
    collect_until(
        &mut events,
        &mut rx,
        &format!("{at_least} orders, one after the recovery"),
        more,
    )
    .await;
    running.shutdown().await;
    while let Some(e) = rx.try_recv() {
        events.push(e);
    }
    let notice = events
        .iter()
        .find_map(|e| match &e.event {
            Event::Notice { text } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default();
    (events, notice)
}

fn check(events: &[Stamped]) {
    let story: Vec<String> = events.iter().filter_map(label).collect();
    let first = |s: &str| {
        story
            .iter()
            .position(|l| l == s)
            .unwrap_or_else(|| panic!("{s} missing from {story:?}"))
    };
    // The outage starts when the change starts (`docker stop` takes a moment), so the order is checked from there.
    let injected = first("fault injecting");
    assert!(injected < first("fault injected"), "{story:?}");
    let retrying = first("Retrying component[statestore] output");
    let opened = first("simpleCB-statestore closed->open");
    let probe = first("simpleCB-statestore open->half-open");
    let cleared = first("fault cleared");
    let closed = first("simpleCB-statestore half-open->closed");
    let recovered = first("Recovered");
    assert!(
        injected < retrying && retrying < opened && opened < probe && probe < cleared,
        "{story:?}"
    );
    assert!(cleared < closed && closed < recovered, "{story:?}");
    assert_eq!(
        story.iter().filter(|l| l.starts_with("Retrying")).count(),
        1,
        "one Retrying line: {story:?}"
    );

    let mut ledger = Ledger::default();
    for e in events {
        ledger.record(e);
    }
    let s = ledger.summary();
    assert_eq!((s.lost, s.duplicated, s.failed), (0, 0, 0), "{s:?}");
    let ids = ledger.received_ids();
    assert!(ids.len() >= 8, "orders before and after the outage: {ids:?}");
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "ids consecutive from 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_redis_server_the_tool_runs() {
    drop(common::RedisServer::start()); // installs redis-server when it is missing
    let (events, notice) = story(StateStoreChoice::RedisServer).await;
    assert!(
        notice.contains("a redis-server started by resilience-tui on 127.0.0.1:"),
        "{notice}"
    );
    check(&events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_in_memory_store() {
    let (events, notice) = story(StateStoreChoice::Memory).await;
    assert!(notice.contains("the embedded in-memory store"), "{notice}");
    check(&events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_docker_container_stopped_and_started_through_bollard() {
    let container = tokio::task::spawn_blocking(common::docker::RedisContainer::create)
        .await
        .unwrap();
    let host = format!("127.0.0.1:{}", container.port);
    let (events, notice) = story_with(StateStoreChoice::Docker, &container.name, &host).await;
    assert!(
        notice.contains(&format!("Docker container {}", container.name)),
        "{notice}"
    );
    check(&events);
    assert!(container.running(), "the container is running after the run");
    // Its state, as Docker's event stream told it: running, then down while the fault held, then running again.
    let states: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Container { state, .. } => Some(state.to_string()),
            _ => None,
        })
        .collect();
    let exited = states
        .iter()
        .position(|s| *s == "exited")
        .unwrap_or_else(|| panic!("{states:?}"));
    assert_eq!(states.first().map(String::as_str), Some("running"), "{states:?}");
    assert!(
        states[exited..].iter().any(|s| s == "running"),
        "running again after the clear: {states:?}"
    );
}

/// Issue 20 item 7: a store whose container is stopped as the run starts. daprd would exit (its Redis
/// component pings at init); the run starts anyway and says so in a located warning, with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_down_at_start_is_a_located_warning() {
    let container = tokio::task::spawn_blocking(common::docker::RedisContainer::create)
        .await
        .unwrap();
    let stopped = std::process::Command::new("docker")
        .args(["stop", "-t", "0", &container.name])
        .output()
        .unwrap();
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    let host = format!("127.0.0.1:{}", container.port);
    let opts = RunOptions {
        order_interval: Some(Duration::from_millis(50)),
        state_store: StateStoreChoice::Docker,
        redis_container: container.name.clone(),
        ..RunOptions::default()
    };
    let scenario = || state_scenario("down-at-start", FAST, &host, stop_redis());
    let (running, mut rx) = common::start_on_free_ports(scenario, &opts).await;
    let mut events = Vec::new();
    collect_until(
        &mut events,
        &mut rx,
        "the store's warning",
        |e| matches!(&e.event, Event::Warning { message, .. } if message.contains("cannot be reached at start")),
    )
    .await;
    running.shutdown().await;
    let (message, location, help) = events
        .iter()
        .find_map(|e| match &e.event {
            Event::Warning {
                message,
                location,
                help,
                ..
            } => Some((message.clone(), location.clone(), help.clone())),
            _ => None,
        })
        .unwrap();
    assert!(
        message.contains(&container.name) && message.contains("is stopped"),
        "{message}"
    );
    assert!(message.contains("daprd would not start"), "{message}");
    assert!(
        location.is_some_and(|l| l.contains(".yaml:")),
        "located at the component's file and line"
    );
    assert!(help.is_some_and(|h| h.contains("docker start")), "says what to do");
}
