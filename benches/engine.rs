//! Hot paths of the resiliency engine, with criterion: what one healthy request costs the sidecar before
//! any networking (retry + breaker [+ timeout] around an operation that is already done), the breaker's
//! admission check, `trip` evaluation, and resolving the policy for a target. Run: `cargo bench --bench engine`.

use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use resilience_tui::resiliency::events::Discard;
use resilience_tui::resiliency::trip::{Counts, TripExpr};
use resilience_tui::resiliency::{ComponentKind, Direction, Failure, OperationError, Resiliency};

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl OperationError for Never {}

const WITH_TIMEOUT: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: withtimeout}
spec:
  policies:
    timeouts: {general: 5s}
    retries: {retryForever: {policy: constant, duration: 5s, maxRetries: -1}}
    circuitBreakers: {simpleCB: {maxRequests: 1, timeout: 5s, trip: consecutiveFailures >= 5}}
  targets:
    apps:
      order-processor: {timeout: general, retry: retryForever, circuitBreaker: simpleCB}
    components:
      statestore: {outbound: {retry: retryForever, circuitBreaker: simpleCB}}
"#;

fn resiliency(yaml: &str) -> Resiliency {
    let loaded = resilience_tui::resources::load_files(vec![(PathBuf::from("r.yaml"), yaml.as_bytes().to_vec())], None);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    Resiliency::new("checkout", loaded.resiliency_configs(), Arc::new(Discard))
}

/// Polls a future that completes without waiting (a healthy call) to its end, on the current runtime context.
fn complete<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn healthy_call(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _context = runtime.enter();
    let quickstart = resiliency(resilience_tui::bench::serve::QUICKSTART_RESILIENCY);
    let timed = resiliency(WITH_TIMEOUT);
    let mut group = c.benchmark_group("healthy_call");
    for (name, r) in [("retry+breaker", &quickstart), ("retry+breaker+timeout", &timed)] {
        let policy = r.endpoint_policy("order-processor", "orders");
        group.bench_function(name, |b| {
            b.iter(|| {
                let result: Result<u32, Failure<Never>> = complete(policy.run(|attempt| async move { Ok(attempt) }));
                black_box(result)
            })
        });
    }
    group.finish();
}

fn breaker(c: &mut Criterion) {
    let r = resiliency(resilience_tui::bench::serve::QUICKSTART_RESILIENCY);
    let policy = r.endpoint_policy("order-processor", "orders");
    let breaker = policy.breaker().expect("the quickstart has a breaker").clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _context = runtime.enter();
    c.bench_function("breaker/state", |b| b.iter(|| black_box(breaker.state())));
    c.bench_function("breaker/admit+success", |b| {
        b.iter(|| breaker.admit().expect("closed").complete(black_box(true)))
    });
}

fn trip(c: &mut Criterion) {
    let counts = Counts {
        requests: 40,
        total_successes: 30,
        total_failures: 10,
        consecutive_successes: 0,
        consecutive_failures: 4,
    };
    for (name, source) in [
        ("trip/simple", "consecutiveFailures >= 5"),
        (
            "trip/compound",
            "requests > 20 && double(totalFailures) / double(requests) > 0.5 || consecutiveFailures > 10",
        ),
    ] {
        let expr = TripExpr::compile(source).unwrap();
        c.bench_function(name, |b| b.iter(|| black_box(expr.should_trip(black_box(&counts)))));
    }
    c.bench_function("trip/compile", |b| {
        b.iter(|| TripExpr::compile(black_box("consecutiveFailures >= 5")).unwrap())
    });
}

fn policy_lookup(c: &mut Criterion) {
    let r = resiliency(WITH_TIMEOUT);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _context = runtime.enter();
    c.bench_function("policy_lookup/app target", |b| {
        b.iter(|| black_box(r.endpoint_policy(black_box("order-processor"), black_box("orders"))))
    });
    c.bench_function("policy_lookup/app default", |b| {
        b.iter(|| black_box(r.endpoint_policy(black_box("other-app"), black_box("orders"))))
    });
    c.bench_function("policy_lookup/component", |b| {
        b.iter(|| {
            black_box(r.component_policy(black_box("statestore"), ComponentKind::Statestore, Direction::Outbound))
        })
    });
}

criterion_group!(benches, healthy_call, breaker, trip, policy_lookup);
criterion_main!(benches);
