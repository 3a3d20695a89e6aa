//! Acceptance cases 22–24 and 35–37 of `dapr-resiliency.md` §5.2: which policies apply to which target
//! (named targets, default chains, built-ins, scopes), loaded from YAML as a user would write it.

use crate::common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use resilience_tui::resiliency::events::Recorder;
use resilience_tui::resiliency::registry::*;
use resilience_tui::resiliency::{ComponentKind, Direction, Resiliency};
use resilience_tui::resources::{Resources, Severity, load_files};

fn load(docs: &[&str]) -> Resources {
    let files = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (PathBuf::from(format!("r{i}.yaml")), d.as_bytes().to_vec()))
        .collect();
    load_files(files, None)
}

fn resiliency(app_id: &str, docs: &[&str]) -> (Resiliency, std::sync::Arc<Recorder>) {
    let res = load(docs);
    assert!(!res.has_errors(), "{}", res.render_diagnostics());
    let rec = Recorder::new();
    (Resiliency::new(app_id, res.resiliency_configs(), rec.clone()), rec)
}

async fn calls_until_done(r: &Resiliency, app: &str) -> u32 {
    let calls = AtomicU32::new(0);
    let _ = r
        .endpoint_policy(app, "method")
        .run(|_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(REFUSED) }
        })
        .await;
    calls.load(Ordering::SeqCst)
}

const DEFAULTS: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: defaults}
spec:
  policies:
    timeouts:
      DefaultTimeoutPolicy: 100ms
    retries:
      DefaultAppRetryPolicy: {policy: constant, duration: 10ms, maxRetries: 10}
      fiveRetries: {policy: constant, duration: 10ms, maxRetries: 5}
    circuitBreakers:
      DefaultAppCircuitBreakerPolicy: {trip: consecutiveFailures > 15}
  targets:
    apps:
      testApp: {retry: fiveRetries}
"#;

/// Case 22: a named target gets only its own policies (6 calls), no defaults merged in.
/// Case 23: an unknown app gets the default chain (`DefaultAppRetryPolicy`: 11 calls).
#[tokio::test(start_paused = true)]
async fn cases_22_23_named_target_replaces_defaults() {
    let (r, _) = resiliency("caller", &[DEFAULTS]);
    assert_eq!(calls_until_done(&r, "testApp").await, 6);
    let named = r.endpoint_policy("testApp", "method");
    assert!(
        named.timeout().is_none() && named.breaker().is_none(),
        "no defaults for a named target"
    );
    assert_eq!(calls_until_done(&r, "someOtherApp").await, 11);
    let other = r.endpoint_policy("someOtherApp", "method");
    assert_eq!(
        other.timeout(),
        Some(std::time::Duration::from_millis(100)),
        "DefaultTimeoutPolicy applies"
    );
    assert_eq!(&**other.breaker().unwrap().name(), "someOtherApp:method");
}

/// Case 24: with a default breaker that trips on the 2nd failure, the 3rd attempt is rejected: 2 calls.
#[tokio::test(start_paused = true)]
async fn case_24_breaker_ends_default_retries() {
    let doc = r#"
kind: Resiliency
metadata: {name: r}
spec:
  policies:
    retries:
      DefaultRetryPolicy: {duration: 10ms, maxRetries: 3}
    circuitBreakers:
      DefaultCircuitBreakerPolicy: {trip: consecutiveFailures > 1}
"#;
    let (r, _) = resiliency("caller", &[doc]);
    assert_eq!(calls_until_done(&r, "anyApp").await, 2);
}

/// The default chains, resolved per kind; components follow `<Type>Component<Dir>`, `Component<Dir>`, ….
#[tokio::test(start_paused = true)]
async fn default_chains_per_kind() {
    let doc = r#"
kind: Resiliency
metadata: {name: r}
spec:
  policies:
    timeouts: {DefaultComponentOutboundTimeoutPolicy: 3s}
    retries:
      DefaultStatestoreComponentOutboundRetryPolicy: {maxRetries: 1}
      DefaultRetryPolicy: {maxRetries: 2}
    circuitBreakers:
      DefaultComponentCircuitBreakerPolicy: {}
"#;
    let (r, _) = resiliency("app", &[doc]);
    let state = r.component_policy("store", ComponentKind::Statestore, Direction::Outbound);
    assert_eq!(state.retry().unwrap().max_retries, 1);
    assert_eq!(state.timeout(), Some(std::time::Duration::from_secs(3)));
    assert_eq!(
        &**state.breaker().unwrap().name(),
        "DefaultComponentCircuitBreakerPolicy-store"
    );
    let pubsub = r.component_policy("bus", ComponentKind::Pubsub, Direction::Inbound);
    assert_eq!(
        pubsub.retry().unwrap().max_retries,
        2,
        "falls through to DefaultRetryPolicy"
    );
    assert!(
        pubsub.timeout().is_none(),
        "the outbound timeout does not apply inbound"
    );
    let app = r.endpoint_policy("x", "y");
    assert!(app.breaker().is_none(), "component defaults do not apply to apps");
}

/// Case 35: a resource with a bad `matching` does not load; the others still do.
#[test]
fn case_35_bad_resource_is_skipped() {
    let bad = "kind: Resiliency\nmetadata: {name: myresiliency}\nspec:\n  policies:\n    retries:\n      r:\n        matching:\n          gRPCStatusCodes: 400\n";
    let good = "kind: Resiliency\nmetadata: {name: good}\nspec: {policies: {timeouts: {t: 1s}}}\n";
    let res = load(&[bad, good]);
    assert!(res.has_errors());
    let names: Vec<&str> = res.resiliencies.iter().map(|r| r.config.name.as_str()).collect();
    assert_eq!(names, ["good"]);
    let e = res.diagnostics.iter().find(|d| d.severity == Severity::Error).unwrap();
    assert_eq!((e.line, e.column), (8, 28));
    assert_eq!(
        e.field.as_deref(),
        Some("spec.policies.retries.r.matching.gRPCStatusCodes")
    );
}

/// Case 36: built-in overrides: below 3 retries is reset to 3; the protected one keeps its 5.
#[test]
fn case_36_built_in_overrides() {
    let doc = r#"
kind: Resiliency
metadata: {name: r}
spec:
  policies:
    retries:
      DaprBuiltInServiceRetries: {maxRetries: 1}
      DaprBuiltInActorNotFoundRetries: {maxRetries: 10}
"#;
    let (r, rec) = resiliency("app", &[doc]);
    assert_eq!(r.retry_policy(BUILT_IN_SERVICE_RETRIES).unwrap().max_retries, 3);
    assert_eq!(r.retry_policy(BUILT_IN_ACTOR_NOT_FOUND_RETRIES).unwrap().max_retries, 5);
    assert_eq!(r.retry_policy(BUILT_IN_ACTOR_RETRIES).unwrap().max_retries, 3);
    // daprd leaves MaxRetries unset for the reminder retries: Go's zero, no retries.
    assert_eq!(r.retry_policy(BUILT_IN_ACTOR_REMINDER_RETRIES).unwrap().max_retries, 0);
    let logs: Vec<String> = rec.dapr_logs().into_iter().map(|(_, l)| l.message).collect();
    assert!(
        logs.contains(
            &"Attempted override of DaprBuiltInServiceRetries did not meet minimum retry count, resetting to 3."
                .to_string()
        )
    );
    assert!(
        logs.iter()
            .any(|l| { l.starts_with("Attempted to override protected policy DaprBuiltInActorNotFoundRetries") })
    );
}

/// Case 37: scopes: app1 loads both resources, app3 only the unscoped one.
#[test]
fn case_37_scopes() {
    let scoped =
        "kind: Resiliency\nmetadata: {name: scoped}\nscopes: [app1, app2]\nspec: {policies: {timeouts: {t: 1s}}}\n";
    let unscoped = "kind: Resiliency\nmetadata: {name: everyone}\nspec: {policies: {timeouts: {u: 1s}}}\n";
    let (app1, _) = resiliency("app1", &[scoped, unscoped]);
    let (app3, _) = resiliency("app3", &[scoped, unscoped]);
    assert_eq!(app1.loaded(), ["scoped", "everyone"]);
    assert_eq!(app3.loaded(), ["everyone"]);
}

/// A later resource overrides a same-named policy (and we say so in a note).
#[test]
fn later_resources_override() {
    let first = "kind: Resiliency\nmetadata: {name: a}\nspec: {policies: {timeouts: {general: 1s}}}\n";
    let second = "kind: Resiliency\nmetadata: {name: b}\nspec: {policies: {timeouts: {general: 9s}}}\n";
    let res = load(&[first, second]);
    let r = Resiliency::new(
        "x",
        res.resiliency_configs(),
        std::sync::Arc::new(resilience_tui::resiliency::events::Discard),
    );
    assert_eq!(r.timeout_policy("general"), Some(std::time::Duration::from_secs(9)));
    let note = res.diagnostics.iter().find(|d| d.severity == Severity::Note).unwrap();
    assert_eq!(
        note.message,
        "policy `general` replaces the one defined at r0.yaml:3:30"
    );
}

/// App breakers are an LRU per app of `circuitBreakerCacheSize`: an evicted breaker loses its state.
#[tokio::test(start_paused = true)]
async fn app_breaker_cache_is_lru() {
    let doc = r#"
kind: Resiliency
metadata: {name: r}
spec:
  policies:
    circuitBreakers: {cb: {trip: consecutiveFailures >= 1}}
  targets:
    apps:
      app: {circuitBreaker: cb, circuitBreakerCacheSize: 2}
"#;
    let (r, _) = resiliency("caller", &[doc]);
    let _ = r
        .endpoint_policy("app", "a")
        .run(|_| async { Err::<(), _>(REFUSED) })
        .await;
    assert_eq!(
        r.endpoint_policy("app", "a").breaker().unwrap().state(),
        resilience_tui::resiliency::BreakerState::Open
    );
    r.endpoint_policy("app", "b");
    r.endpoint_policy("app", "c"); // evicts "a"
    assert_eq!(
        r.endpoint_policy("app", "a").breaker().unwrap().state(),
        resilience_tui::resiliency::BreakerState::Closed
    );
}
