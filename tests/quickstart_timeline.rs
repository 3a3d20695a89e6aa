//! The service-invocation quickstart's story (case 32), exactly, on a paused clock, with the policy loaded
//! from `resources/service-invoke` as the checkout sidecar loads it.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use resilience_tui::resiliency::events::Recorder;
use resilience_tui::resiliency::{BreakerState, Resiliency, ResiliencyEvent};
use resilience_tui::resources::load_dir;
use tokio::time::Instant;

fn quickstart(app_id: &str, folder: &str) -> (Resiliency, Arc<Recorder>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("resources").join(folder);
    let loaded = load_dir(&dir, Some(app_id)).expect("resources folder");
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.render_diagnostics());
    let recorder = Recorder::new();
    let r = Resiliency::new(app_id, loaded.resiliency_configs(), recorder.clone());
    (r, recorder)
}

#[tokio::test(start_paused = true)]
async fn order_processor_down_then_back() {
    let (resiliency, rec) = quickstart("checkout", "service-invoke");
    rec.clear();
    let policy = resiliency.endpoint_policy("order-processor", "orders");
    assert_eq!(&**policy.name(), "endpoint[order-processor, order-processor:orders]");
    let start = Instant::now();
    let back_at = start + Duration::from_secs(42); // order-processor restarts 42s in
    let calls = AtomicU32::new(0);
    let result = policy
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            let up = Instant::now() >= back_at;
            async move { if up { Ok("Order received") } else { Err(REFUSED) } }
        })
        .await;

    // The same request completes, with no error returned to the caller.
    assert_eq!(result, Ok("Order received"));
    // Attempts at 0, 5, ..., 45s: the one at 45s is the half-open probe that succeeds.
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    assert_eq!(start.elapsed(), Duration::from_secs(45));

    let at = |t: Instant| (t - start).as_secs();
    let timeline: Vec<(u64, String)> = rec
        .events()
        .into_iter()
        .filter_map(|(t, e)| match e {
            ResiliencyEvent::BreakerStateChanged {
                breaker,
                from,
                to,
                counts,
            } => {
                assert_eq!(&*breaker, "order-processor:orders");
                Some((
                    at(t),
                    format!("{from}->{to} ({} failures)", counts.consecutive_failures),
                ))
            }
            ResiliencyEvent::Recovered { attempts, .. } => Some((at(t), format!("recovered after {attempts}"))),
            _ => None,
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (20, "closed->open (5 failures)"), // exactly 20s after the first failure
        (25, "open->half-open (0 failures)"),
        (25, "half-open->open (1 failures)"),
        (30, "open->half-open (0 failures)"),
        (30, "half-open->open (1 failures)"),
        (35, "open->half-open (0 failures)"),
        (35, "half-open->open (1 failures)"),
        (40, "open->half-open (0 failures)"),
        (40, "half-open->open (1 failures)"),
        (45, "open->half-open (0 failures)"),
        (45, "half-open->closed (0 failures)"),
        (45, "recovered after 10"),
    ]
    .into_iter()
    .map(|(t, s)| (t, s.to_string()))
    .collect();
    assert_eq!(timeline, expected);

    // Dapr's own lines, verbatim: exactly one "Retrying" line for the whole request.
    let logs: Vec<(u64, String)> = rec.dapr_logs().into_iter().map(|(t, l)| (at(t), l.message)).collect();
    let retrying: Vec<_> = logs.iter().filter(|(_, m)| m.contains("Retrying")).collect();
    assert_eq!(
        retrying,
        [&(
            0,
            "Error processing operation endpoint[order-processor, order-processor:orders]. Retrying in 5s\u{2026}"
                .to_string()
        )]
    );
    assert_eq!(
        logs.last().unwrap(),
        &(
            45,
            "Recovered processing operation endpoint[order-processor, order-processor:orders] after 10 attempts"
                .to_string()
        )
    );
    assert!(logs.contains(&(
        20,
        "Circuit breaker \"order-processor:orders\" changed state from closed to open".to_string()
    )));
    assert_eq!(resiliency.breakers()[0].state(), BreakerState::Closed);
}

/// While one request holds the half-open probe, another one fails at once with "too many requests"; while
/// the breaker is open, with "circuit breaker is open".
#[tokio::test(start_paused = true)]
async fn concurrent_requests_during_an_outage() {
    let (resiliency, _rec) = quickstart("checkout", "service-invoke");
    let policy = resiliency.endpoint_policy("order-processor", "orders");
    let first = tokio::spawn({
        let policy = policy.clone();
        async move { policy.run(|_| async { Err::<(), _>(REFUSED) }).await }
    });
    tokio::time::sleep(Duration::from_secs(21)).await; // tripped at 20s
    let second = policy.run(|_| async { Ok::<_, OpError>(()) }).await;
    assert_eq!(second.unwrap_err().to_string(), "circuit breaker is open");
    first.abort();
}

/// The state-management quickstart shares one `simpleCB-statestore` breaker for every state call.
#[tokio::test(start_paused = true)]
async fn statestore_breaker_name_and_operation() {
    use resilience_tui::resiliency::{ComponentKind, Direction};
    let (resiliency, rec) = quickstart("order-processor", "state-management");
    let save = resiliency.component_policy("statestore", ComponentKind::Statestore, Direction::Outbound);
    let get = resiliency.component_policy("statestore", ComponentKind::Statestore, Direction::Outbound);
    assert_eq!(&**save.name(), "component[statestore] output");
    assert!(Arc::ptr_eq(save.breaker().unwrap(), get.breaker().unwrap()));
    assert_eq!(&**save.breaker().unwrap().name(), "simpleCB-statestore");
    let logs: Vec<String> = rec.dapr_logs().into_iter().map(|(_, l)| l.message).collect();
    assert_eq!(logs, ["Loading Resiliency configuration: myresiliency"]);
    // The checkout sidecar does not load the state-management resource (scopes).
    let (other, _) = {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/state-management");
        let loaded = load_dir(&dir, None).unwrap();
        let rec = Recorder::new();
        (
            Resiliency::new("checkout", loaded.resiliency_configs(), rec.clone()),
            rec,
        )
    };
    assert!(other.loaded().is_empty());
    assert!(
        other
            .component_policy("statestore", ComponentKind::Statestore, Direction::Outbound)
            .breaker()
            .is_none()
    );
}

/// Every breaker is announced when it is made (displays learn of it from events, never by reading it).
#[tokio::test(start_paused = true)]
async fn breakers_are_announced_with_their_policy() {
    use resilience_tui::resiliency::{ComponentKind, Direction};
    for (app_id, folder, expected) in [
        ("checkout", "service-invoke", "order-processor:orders"),
        ("order-processor", "state-management", "simpleCB-statestore"),
    ] {
        let (resiliency, rec) = quickstart(app_id, folder);
        match app_id {
            "checkout" => drop(resiliency.endpoint_policy("order-processor", "orders")),
            _ => drop(resiliency.component_policy("statestore", ComponentKind::Statestore, Direction::Outbound)),
        }
        let announced: Vec<(String, String)> = rec
            .events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                ResiliencyEvent::BreakerCreated { breaker, policy, .. } => Some((breaker.to_string(), policy)),
                _ => None,
            })
            .collect();
        let policy = "trip consecutiveFailures >= 5 \u{b7} stays open 5s \u{b7} maxRequests 1".to_string();
        assert_eq!(announced, [(expected.to_string(), policy)], "{app_id}");
    }
}
