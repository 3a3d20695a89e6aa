//! Nothing is lost across many faults: ten inject/clear cycles in each scenario (order-processor stopped and
//! started; the state store's redis-server stopped and started), with short policies so it runs in seconds.
//! After the last clear every order has arrived exactly once, with ids strictly consecutive.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::free_port;
use common::wait::{self, collect_until};
use resilience_tui::event::{Event, FaultEvent};
use resilience_tui::lifecycle::{RunOptions, StateStoreChoice};
use resilience_tui::scenario::{AppSpec, FaultAction, FaultSpec, Scenario};
use resilience_tui::summary::Ledger;

const CYCLES: usize = 10;

const INVOKE_POLICY: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: fast}
scopes: [checkout]
spec:
  policies:
    retries: {retryForever: {policy: constant, duration: 100ms, maxRetries: -1}}
    circuitBreakers: {simpleCB: {maxRequests: 1, timeout: 100ms, trip: consecutiveFailures >= 3}}
  targets:
    apps:
      order-processor: {retry: retryForever, circuitBreaker: simpleCB}
"#;

const STATE_RESOURCES: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: fast}
scopes: [order-processor]
spec:
  policies:
    retries: {retryForever: {policy: constant, duration: 100ms, maxRetries: -1}}
    circuitBreakers: {simpleCB: {maxRequests: 1, timeout: 100ms, trip: consecutiveFailures >= 3}}
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
"#;

fn resources(tag: &str, yaml: &str) -> PathBuf {
    let dir = common::temp_dir(&format!("cycles-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("resources.yaml"), yaml).unwrap();
    dir
}

fn scenario(name: &str, resources: PathBuf, apps: Vec<AppSpec>, action: FaultAction) -> Scenario {
    Scenario {
        name: name.into(),
        title: name.into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(resources),
        apps,
        faults: vec![FaultSpec {
            name: "fault".into(),
            key: 'f',
            action,
            explain: String::new(),
        }],
        file: PathBuf::from(format!("{name}.yaml")),
    }
}

/// Runs `CYCLES` inject/clear cycles, lets the last held order through, and checks the ledger. Each step waits
/// for the event that shows it took effect, not for a stretch of time: an order delivered before the first
/// fault, a retry (an order held back) after each inject, an order delivered after each clear (the held one:
/// checkout sends one order at a time).
async fn cycles(scenario: impl Fn() -> Scenario, opts: RunOptions) {
    let (running, mut rx) = common::start_on_free_ports(scenario, &opts).await;
    let mut events = Vec::new();
    collect_until(&mut events, &mut rx, "a first order delivered", wait::delivered).await;
    for cycle in 1..=CYCLES {
        running.faults.inject(0).await;
        collect_until(&mut events, &mut rx, &format!("inject {cycle}"), wait::injected).await;
        let held = format!("an order held back by fault {cycle}");
        collect_until(&mut events, &mut rx, &held, wait::retry_scheduled).await;
        running.faults.clear_all().await;
        collect_until(&mut events, &mut rx, &format!("clear {cycle}"), wait::cleared).await;
        let through = format!("an order delivered after clear {cycle}");
        collect_until(&mut events, &mut rx, &through, wait::delivered).await;
    }
    running.shutdown().await;
    while let Some(e) = rx.try_recv() {
        events.push(e);
    }
    let count = |f: fn(&FaultEvent) -> bool| {
        events
            .iter()
            .filter(|e| matches!(&e.event, Event::Fault(fe) if f(fe)))
            .count()
    };
    assert_eq!(
        count(|e| matches!(e, FaultEvent::Injected { .. })),
        CYCLES,
        "every inject took"
    );
    assert_eq!(
        count(|e| matches!(e, FaultEvent::Cleared { .. })),
        CYCLES,
        "every clear took"
    );

    let mut ledger = Ledger::default();
    for e in &events {
        ledger.record(e);
    }
    let s = ledger.summary();
    assert_eq!(
        (s.lost, s.duplicated, s.failed),
        (0, 0, 0),
        "{s:?} lost {:?}",
        ledger.lost_ids()
    );
    assert!(s.retries > 0, "the faults held orders back: {s:?}");
    let ids = ledger.received_ids();
    assert!(ids.len() >= CYCLES, "orders flowed between the faults: {ids:?}");
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "ids strictly consecutive from 1"
    );
    assert!(
        s.in_flight <= 1,
        "at most the order being sent at the end is unanswered: {s:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_order_processor_outages_lose_nothing() {
    let resources = resources("invoke", INVOKE_POLICY);
    let scenario = || {
        let apps = vec![
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
        ];
        let action = FaultAction::StopAppAndSidecar {
            app_id: "order-processor".into(),
        };
        scenario("invoke-cycles", resources.clone(), apps, action)
    };
    let opts = RunOptions {
        order_interval: Some(Duration::from_millis(40)),
        ..RunOptions::default()
    };
    cycles(scenario, opts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_redis_outages_lose_nothing() {
    drop(common::RedisServer::start()); // installs redis-server when it is missing
    let resources = resources("state", STATE_RESOURCES);
    let scenario = || {
        let apps = vec![AppSpec::StateOrderProcessor {
            app_id: "order-processor".into(),
            dapr_http_port: free_port(),
            store: "statestore".into(),
        }];
        let action = FaultAction::StopStateStore {
            component: "statestore".into(),
        };
        scenario("state-cycles", resources.clone(), apps, action)
    };
    let opts = RunOptions {
        order_interval: Some(Duration::from_millis(40)),
        state_store: StateStoreChoice::RedisServer,
        ..RunOptions::default()
    };
    cycles(scenario, opts).await;
}
