//! The JSONL schema, pinned: one line for an event of every kind. The lines come from the events' serde
//! derives, so a renamed field or kind shows up here as a snapshot change (and in the README's schema).

use std::sync::Arc;
use std::time::Duration;

use resilience_tui::event::{
    AppEvent, ContainerState, Event, FaultChange, FaultEvent, ResourceChange, Stamped, StopReason,
};
use resilience_tui::headless::json_line;
use resilience_tui::resiliency::events::{FailureCause, Rejection};
use resilience_tui::resiliency::in_force::{RetryInForce, TimeoutInForce};
use resilience_tui::resiliency::trip::Counts;
use resilience_tui::resiliency::{BreakerState, Direction, PolicyInForce, PolicySource, ResiliencyEvent, RetryPolicy};

/// `pinned![PATTERN => SAMPLE, …]`: the samples, in order, each checked to be of its pattern's variant; the
/// patterns also form one match with no wildcard over `Event` (and the `AppEvent`, `ResiliencyEvent` and
/// `FaultEvent` inside it), so a variant without a line here does not compile.
macro_rules! pinned {
    ($($pattern:pat => $sample:expr),+ $(,)?) => {{
        #[deny(unreachable_patterns)]
        let exhaustive = |e: &Event| match e {
            $($pattern => {})+
        };
        let samples: Vec<Event> = vec![$($sample),+];
        let mut i = 0;
        $(
            assert!(matches!(&samples[i], $pattern), "sample {i} is not a {}", stringify!($pattern));
            i += 1;
        )+
        assert_eq!(i, samples.len());
        samples.iter().for_each(exhaustive);
        samples
    }};
}

fn every_kind() -> Vec<Event> {
    let app = |event| Event::App {
        app: Arc::from("checkout"),
        event,
    };
    let sidecar = |event| Event::Resiliency {
        app_id: Arc::from("checkout"),
        event,
    };
    let op: Arc<str> = Arc::from("endpoint[order-processor, order-processor:orders]");
    let cb: Arc<str> = Arc::from("order-processor:orders");
    let counts = Counts {
        requests: 5,
        total_successes: 0,
        total_failures: 5,
        consecutive_successes: 0,
        consecutive_failures: 5,
    };
    let fault = || "stop-order-processor".to_string();
    pinned![
        Event::App { event: AppEvent::Listening { .. }, .. } =>
            app(AppEvent::Listening {
                addr: "127.0.0.1:8001".parse().unwrap(),
            }),
        Event::App { event: AppEvent::Stopped, .. } =>
            app(AppEvent::Stopped),
        Event::App { event: AppEvent::OrderSent { .. }, .. } =>
            app(AppEvent::OrderSent { order_id: 7 }),
        Event::App { event: AppEvent::OrderPassed { .. }, .. } =>
            app(AppEvent::OrderPassed { order_id: 7 }),
        Event::App { event: AppEvent::OrderFailed { .. }, .. } =>
            app(AppEvent::OrderFailed {
                order_id: 7,
                status: 500,
                error_code: Some("ERR_DIRECT_INVOKE".into()),
                message: "circuit breaker is open".into(),
            }),
        Event::App { event: AppEvent::OrderReceived { .. }, .. } =>
            app(AppEvent::OrderReceived { order_id: 7 }),
        Event::App { event: AppEvent::OrderSaved { .. }, .. } =>
            app(AppEvent::OrderSaved { order_id: 7 }),
        Event::App { event: AppEvent::OrderRead { .. }, .. } =>
            app(AppEvent::OrderRead { order_id: 7 }),
        Event::Resiliency { event: ResiliencyEvent::PolicyResolved { .. }, .. } =>
            sidecar(ResiliencyEvent::PolicyResolved {
                operation: op.clone(),
                policy: Box::new(PolicyInForce {
                    target: "order-processor".into(),
                    target_field: "targets.apps.order-processor".into(),
                    source: PolicySource::Target,
                    timeout: Some(TimeoutInForce {
                        name: "general".into(),
                        duration: Duration::from_secs(5),
                    }),
                    retry: Some(RetryInForce::new("retryForever", &RetryPolicy::default())),
                    circuit_breaker: Some("simpleCB".into()),
                    shadowed: Vec::new(),
                    built_in_retries: false,
                }),
            }),
        Event::Resiliency { event: ResiliencyEvent::ResourceLoaded { .. }, .. } =>
            sidecar(ResiliencyEvent::ResourceLoaded {
                name: "myresiliency".into(),
                namespace: String::new(),
            }),
        Event::Resiliency { event: ResiliencyEvent::BuiltInOverrideReset { .. }, .. } =>
            sidecar(ResiliencyEvent::BuiltInOverrideReset {
                policy: "DaprBuiltInServiceRetries".into(),
            }),
        Event::Resiliency { event: ResiliencyEvent::ProtectedOverrideIgnored { .. }, .. } =>
            sidecar(ResiliencyEvent::ProtectedOverrideIgnored {
                policy: "DaprBuiltInActorNotFoundRetries".into(),
            }),
        Event::Resiliency { event: ResiliencyEvent::BreakerCreated { .. }, .. } =>
            sidecar(ResiliencyEvent::BreakerCreated {
                breaker: cb.clone(),
                policy: "trip consecutiveFailures >= 5".into(),
                max_requests: 1,
                trip: "consecutiveFailures >= 5".into(),
                timeout: Duration::from_secs(5),
            }),
        Event::Resiliency { event: ResiliencyEvent::BreakerCounted { .. }, .. } =>
            sidecar(ResiliencyEvent::BreakerCounted {
                breaker: cb.clone(),
                state: BreakerState::Closed,
                counts,
            }),
        Event::Resiliency { event: ResiliencyEvent::AttemptStarted { .. }, .. } =>
            sidecar(ResiliencyEvent::AttemptStarted {
                operation: op.clone(),
                attempt: 2,
            }),
        Event::Resiliency { event: ResiliencyEvent::AttemptFailed { .. }, .. } =>
            sidecar(ResiliencyEvent::AttemptFailed {
                operation: op.clone(),
                attempt: 2,
                error: "connection refused".into(),
                cause: FailureCause::Operation { status: None },
            }),
        Event::Resiliency { event: ResiliencyEvent::Rejected { .. }, .. } =>
            sidecar(ResiliencyEvent::Rejected {
                operation: op.clone(),
                breaker: cb.clone(),
                attempt: 6,
                reason: Rejection::Open,
            }),
        Event::Resiliency { event: ResiliencyEvent::Retrying { .. }, .. } =>
            sidecar(ResiliencyEvent::Retrying {
                operation: op.clone(),
                wait: Duration::from_secs(5),
                error: "connection refused".into(),
            }),
        Event::Resiliency { event: ResiliencyEvent::RetryScheduled { .. }, .. } =>
            sidecar(ResiliencyEvent::RetryScheduled {
                operation: op.clone(),
                next_attempt: 3,
                wait: Duration::from_secs(5),
            }),
        Event::Resiliency { event: ResiliencyEvent::Recovered { .. }, .. } =>
            sidecar(ResiliencyEvent::Recovered {
                operation: op.clone(),
                attempts: 8,
            }),
        Event::Resiliency { event: ResiliencyEvent::BreakerStateChanged { .. }, .. } =>
            sidecar(ResiliencyEvent::BreakerStateChanged {
                breaker: cb,
                from: BreakerState::Closed,
                to: BreakerState::Open,
                counts,
            }),
        Event::Resiliency { event: ResiliencyEvent::Finished { .. }, .. } =>
            sidecar(ResiliencyEvent::Finished {
                operation: op,
                attempts: 8,
                error: None,
            }),
        Event::Fault(FaultEvent::Changing { .. }) =>
            Event::Fault(FaultEvent::Changing {
                fault: fault(),
                what: FaultChange::Injecting,
                description: "stop order-processor".into(),
            }),
        Event::Fault(FaultEvent::Injected { .. }) =>
            Event::Fault(FaultEvent::Injected {
                fault: fault(),
                description: "stop order-processor".into(),
            }),
        Event::Fault(FaultEvent::Cleared { .. }) =>
            Event::Fault(FaultEvent::Cleared {
                fault: fault(),
                description: "order-processor listens again".into(),
            }),
        Event::Traffic { .. } =>
            Event::Traffic {
                callee: "order-processor".into(),
                callers: vec![resilience_tui::event::CallerTraffic {
                    caller: "checkout-retry".into(),
                    reached: 60,
                    answered: 10,
                    mean_ms: 5012,
                    max_ms: 5016,
                }],
            },
        Event::Fault(FaultEvent::Adjusted { .. }) =>
            Event::Fault(FaultEvent::Adjusted {
                fault: "slow-order-processor".into(),
                description: "every call to order-processor now waits 1.5s on its sidecar's hop".into(),
                action: "latency 1.5s".into(),
                delay: Duration::from_millis(1500),
            }),
        Event::Fault(FaultEvent::Failed { .. }) =>
            Event::Fault(FaultEvent::Failed {
                fault: fault(),
                error: "Docker did not answer within 10s".into(),
            }),
        Event::Warning { .. } =>
            Event::Warning {
                message:
                    "circuit breaker policy `simpleCb` is not defined, so Dapr silently applies no circuit breaker here"
                        .into(),
                location: Some("resources/resiliency.yaml:31:25".into()),
                field: Some("spec.targets.apps.order-processor.circuitBreaker".into()),
                help: Some("did you mean `simpleCB`?".into()),
            },
        Event::ResiliencyReloaded { .. } =>
            Event::ResiliencyReloaded {
                app_id: "checkout".into(),
                change: ResourceChange::Updated,
                resource: "myresiliency".into(),
            },
        Event::SidecarRestarting { .. } =>
            Event::SidecarRestarting {
                app_id: "checkout".into(),
            },
        Event::Notice { .. } =>
            Event::Notice {
                text: "state store `statestore`: the embedded in-memory store".into(),
            },
        Event::Container { .. } =>
            Event::Container {
                name: "dapr_redis".into(),
                state: ContainerState::Exited,
            },
        Event::ShuttingDown { .. } =>
            Event::ShuttingDown {
                reason: StopReason::Signal("SIGTERM"),
            },
        // Unpinned until the kinds came from the enums:
        Event::App { event: AppEvent::Output { .. }, .. } =>
            app(AppEvent::Output {
                line: "got {\"orderId\":7}".into(),
            }),
        Event::App { event: AppEvent::Exited { .. }, .. } =>
            app(AppEvent::Exited { code: Some(1) }),
        // The metrics' input, which stops there (src/metrics/mod.rs): no display writes it; pinned all the same.
        Event::Resiliency { event: ResiliencyEvent::PolicyApplied { .. }, .. } =>
            sidecar(ResiliencyEvent::PolicyApplied {
                operation: Arc::from("endpoint[order-processor, order-processor:orders]"),
                target: Arc::from("app_order-processor"),
                direction: Direction::Outbound,
                timeout: true,
                retry: true,
                breaker: Some(Arc::from("order-processor:orders")),
                breaker_state: Some(BreakerState::Closed),
            }),
    ]
}

#[test]
fn one_line_per_kind() {
    let lines: Vec<String> = every_kind()
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            let stamped = Stamped {
                at: Duration::from_millis(1500 + i as u64),
                event,
            };
            let line = json_line(&stamped);
            let parsed: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
            assert!(parsed["kind"].is_string(), "every line has a kind: {line}");
            line
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}
