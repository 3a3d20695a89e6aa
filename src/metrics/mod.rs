//! daprd's Prometheus metrics for one sidecar: the resiliency metrics built from the engine's events, the
//! service-invocation counters of a caller, and the HTTP server's request count. Names, types and labels are
//! daprd's (`pkg/diagnostics/*_monitoring.go`); `server.rs` serves them as daprd's exporter does.
//!
//! The engine knows nothing of this module: [`SidecarMetrics`] is an [`Observer`], and [`Tee`] puts it in front
//! of the observer that feeds the displays, so every event is counted on the thread that emits it, before any
//! batching (a scrape right after a call sees it).

pub mod http;
pub mod server;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::resiliency::events::FailureCause;
use crate::resiliency::{BreakerState, Direction, Observer, ResiliencyEvent, SharedObserver};

/// The `status` values of `dapr_resiliency_cb_state`, one series each (`resiliency_monitoring.go` `cbStatuses`).
const CB_STATUSES: [&str; 4] = ["closed", "half-open", "open", "unknown"];
/// The labels every resiliency metric but `loaded` carries, in daprd's order.
const POLICY_LABELS: [&str; 7] = [
    "app_id",
    "name",
    "policy",
    "namespace",
    "flow_direction",
    "target",
    "status",
];
/// daprd's `defaultLatencyDistribution` (`http_monitoring.go`), in milliseconds.
const LATENCY_BUCKETS_MS: [f64; 34] = [
    1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 30.0, 40.0, 50.0, 65.0, 80.0, 100.0, 130.0, 160.0,
    200.0, 250.0, 300.0, 400.0, 500.0, 650.0, 800.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0, 100000.0,
];

/// Which policy a resiliency metric is about (daprd's `policy` label).
#[derive(Debug, Clone, Copy)]
enum Policy {
    Timeout,
    Retry,
    CircuitBreaker,
}

impl Policy {
    fn label(self) -> &'static str {
        match self {
            Policy::Timeout => "timeout",
            Policy::Retry => "retry",
            Policy::CircuitBreaker => "circuitbreaker",
        }
    }
}

/// Where a policy applies: daprd's `target` and `flow_direction` labels.
#[derive(Debug, Clone)]
struct Target {
    label: Arc<str>,
    direction: Direction,
}

/// What the events so far said that later events need for their labels.
#[derive(Default)]
struct Seen {
    /// daprd labels every resiliency metric with the name and namespace of the *last* resource it loaded
    /// (`r.name` and `r.namespace` are overwritten by each one, `pkg/resiliency/resiliency.go`
    /// `DecodeConfiguration`); the namespace is the resource's `metadata.namespace`, empty when it has none.
    resource: String,
    namespace: String,
    operations: HashMap<Arc<str>, Target>,
    breakers: HashMap<Arc<str>, Target>,
}

/// The resource's name and namespace, as labels.
type Resource<'a> = (&'a str, &'a str);

impl Seen {
    fn resource(&self) -> Resource<'_> {
        (&self.resource, &self.namespace)
    }
}

/// One sidecar's metrics.
pub struct SidecarMetrics {
    app_id: String,
    registry: Registry,
    loaded: IntCounterVec,
    count: IntCounterVec,
    activations: IntCounterVec,
    cb_state: IntGaugeVec,
    req_sent: IntCounterVec,
    res_recv: IntCounterVec,
    res_recv_latency: HistogramVec,
    req_recv: IntCounterVec,
    res_sent: IntCounterVec,
    http: http::HttpServerMetrics,
    seen: Mutex<Seen>,
}

impl fmt::Debug for SidecarMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SidecarMetrics")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric registered once");
    metric
}

impl SidecarMetrics {
    /// Every metric daprd defines for these families, registered and empty (daprd shows a family once it has
    /// a sample, and so do we).
    pub fn new(app_id: &str) -> Arc<Self> {
        let r = Registry::new();
        let cb_state = IntGaugeVec::new(
            Opts::new(
                "dapr_resiliency_cb_state",
                "A resiliency policy's current CircuitBreakerState state. 0 is closed, 1 is half-open, 2 is open, and -1 is unknown.",
            ),
            &POLICY_LABELS,
        )
        .expect("a valid metric definition");
        r.register(Box::new(cb_state.clone())).expect("registered once");
        let res_recv_latency = HistogramVec::new(
            HistogramOpts::new(
                "dapr_runtime_service_invocation_res_recv_latency_ms",
                "The latency of service invocation response.",
            )
            .buckets(LATENCY_BUCKETS_MS.to_vec()),
            &["app_id", "src_app_id", "status"],
        )
        .expect("a valid metric definition");
        r.register(Box::new(res_recv_latency.clone())).expect("registered once");
        // daprd's exporter serves the process's own metrics too (`pkg/metrics/exporter.go`): here every sidecar
        // runs in this one process, so each serves the same `process_*` values.
        r.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
            .expect("registered once");
        Arc::new(Self {
            app_id: app_id.to_string(),
            loaded: counter(
                &r,
                "dapr_resiliency_loaded",
                "Number of resiliency policies loaded.",
                &["app_id", "name", "namespace"],
            ),
            count: counter(
                &r,
                "dapr_resiliency_count",
                "Number of times a resiliency policyKey has been applied to a building block.",
                &POLICY_LABELS,
            ),
            activations: counter(
                &r,
                "dapr_resiliency_activations_total",
                "Number of times a resiliency policyKey has been activated in a building block after a failure or after a state change.",
                &POLICY_LABELS,
            ),
            cb_state,
            req_sent: counter(
                &r,
                "dapr_runtime_service_invocation_req_sent_total",
                "The number of requests sent via service invocation.",
                &["app_id", "dst_app_id", "type"],
            ),
            res_recv: counter(
                &r,
                "dapr_runtime_service_invocation_res_recv_total",
                "The number of responses received via service invocation.",
                &["app_id", "src_app_id", "status", "type"],
            ),
            res_recv_latency,
            req_recv: counter(
                &r,
                "dapr_runtime_service_invocation_req_recv_total",
                "The number of requests received via service invocation.",
                &["app_id", "src_app_id"],
            ),
            res_sent: counter(
                &r,
                "dapr_runtime_service_invocation_res_sent_total",
                "The number of responses sent via service invocation.",
                &["app_id", "dst_app_id", "status"],
            ),
            http: http::HttpServerMetrics::register(&r),
            registry: r,
            seen: Mutex::default(),
        })
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Everything, in Prometheus's text format (what daprd's exporter serves).
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# metrics could not be encoded: {e}\n"))
    }

    /// A caller's sidecar sent one service-invocation attempt to `dst_app_id` (`ServiceInvocationRequestSent`,
    /// once per attempt: daprd records it inside the policy runner).
    pub fn invocation_sent(&self, dst_app_id: &str) {
        self.req_sent
            .with_label_values(&[&self.app_id, dst_app_id, "unary"])
            .inc();
    }

    /// …and got a response with `status` after `elapsed` (`ServiceInvocationResponseReceived`; not recorded
    /// when no response came back, as in daprd).
    pub fn invocation_answered(&self, dst_app_id: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        self.res_recv
            .with_label_values(&[&self.app_id, dst_app_id, &status, "unary"])
            .inc();
        self.res_recv_latency
            .with_label_values(&[&self.app_id, dst_app_id, &status])
            .observe(elapsed.as_secs_f64() * 1000.0);
    }

    /// A callee's sidecar received a call from `src_app_id`'s sidecar and answered it with `status`
    /// (`ServiceInvocationRequestReceived` / `ServiceInvocationResponseSent`). daprd's `CallLocalStream`
    /// (`pkg/api/grpc/daprinternal.go`) leaves the status at 0 when the app channel failed, and names a call
    /// without a `dapr-caller-app-id` `"unknown"`.
    pub fn invocation_served(&self, src_app_id: &str, status: u16) {
        self.req_recv.with_label_values(&[&self.app_id, src_app_id]).inc();
        self.res_sent
            .with_label_values(&[&self.app_id, src_app_id, &status.to_string()])
            .inc();
    }

    /// The sidecar's HTTP server answered one request (the `dapr_http_server_*` families, see `http.rs`).
    pub fn http_request(&self, served: &http::ServedRequest<'_>) {
        self.http.record(&self.app_id, served);
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn policy_labels<'a>(
        &'a self,
        (resource, namespace): Resource<'a>,
        policy: Policy,
        target: &'a Target,
        status: &'a str,
    ) -> [&'a str; 7] {
        let direction = match target.direction {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        };
        [
            &self.app_id,
            resource,
            policy.label(),
            namespace,
            direction,
            &target.label,
            status,
        ]
    }

    /// daprd's `PolicyWithStatusExecuted`: counted, and for a breaker the one-hot state gauge set.
    fn executed(&self, resource: Resource<'_>, policy: Policy, target: &Target, status: &str) {
        self.count
            .with_label_values(&self.policy_labels(resource, policy, target, status))
            .inc();
        if let Policy::CircuitBreaker = policy {
            self.set_cb_state(resource, target, status);
        }
    }

    fn set_cb_state(&self, resource: Resource<'_>, target: &Target, status: &str) {
        for s in CB_STATUSES {
            self.cb_state
                .with_label_values(&self.policy_labels(resource, Policy::CircuitBreaker, target, s))
                .set(i64::from(s == status));
        }
    }

    fn activated(&self, resource: Resource<'_>, policy: Policy, target: &Target, status: &str) {
        self.activations
            .with_label_values(&self.policy_labels(resource, policy, target, status))
            .inc();
    }

    fn applied(&self, event: &ResiliencyEvent) {
        let ResiliencyEvent::PolicyApplied {
            operation,
            target,
            direction,
            timeout,
            retry,
            breaker,
            breaker_state,
        } = event
        else {
            return;
        };
        let target = Target {
            label: target.clone(),
            direction: *direction,
        };
        let mut seen = self.seen();
        seen.operations
            .entry(operation.clone())
            .or_insert_with(|| target.clone());
        if let Some(breaker) = breaker {
            seen.breakers.insert(breaker.clone(), target.clone());
        }
        let resource = seen.resource();
        if *timeout {
            self.executed(resource, Policy::Timeout, &target, "");
        }
        if *retry {
            self.executed(resource, Policy::Retry, &target, "");
        }
        if let Some(state) = breaker_state {
            self.executed(resource, Policy::CircuitBreaker, &target, &state.to_string());
        }
    }

    /// An activation of the policy that `operation` runs under (only operations a [`ResiliencyEvent::PolicyApplied`]
    /// introduced: built-in policies are not instrumented).
    fn operation_activated(&self, operation: &str, policy: Policy) {
        let seen = self.seen();
        if let Some(target) = seen.operations.get(operation) {
            self.activated(seen.resource(), policy, target, "");
        }
    }

    /// A breaker changed state. The gauge follows every transition, as daprd does since dapr/dapr#10114 (v1.18.3
    /// and earlier set it only when a policy is instantiated, so after a recovery it stayed at half-open:
    /// dapr/dapr#10113). An activation is counted for the transitions an attempt causes (to open, or
    /// half-open to closed); daprd compares the state around `cb.Execute` (`policy.go`), and the lazy
    /// open -> half-open happens before that, when the state is read.
    fn breaker_changed(&self, breaker: &str, from: BreakerState, to: BreakerState) {
        let seen = self.seen();
        let Some(target) = seen.breakers.get(breaker) else {
            return;
        };
        let status = to.to_string();
        self.set_cb_state(seen.resource(), target, &status);
        if from != BreakerState::Open {
            self.activated(seen.resource(), Policy::CircuitBreaker, target, &status);
        }
    }

    /// Counts what `event` stands for.
    pub fn record(&self, event: &ResiliencyEvent) {
        match event {
            ResiliencyEvent::ResourceLoaded { name, namespace } => {
                self.loaded.with_label_values(&[&self.app_id, name, namespace]).inc();
                let mut seen = self.seen();
                seen.resource = name.clone();
                seen.namespace = namespace.clone();
            }
            ResiliencyEvent::PolicyApplied { .. } => self.applied(event),
            // Once per request, on its first failure (dapr/kit `NotifyRecover` notifies once).
            ResiliencyEvent::Retrying { operation, .. } => self.operation_activated(operation, Policy::Retry),
            ResiliencyEvent::AttemptFailed {
                operation,
                cause: FailureCause::Timeout {
                    first_in_request: true, ..
                },
                ..
            } => self.operation_activated(operation, Policy::Timeout),
            ResiliencyEvent::BreakerStateChanged { breaker, from, to, .. } => self.breaker_changed(breaker, *from, *to),
            _ => {}
        }
    }
}

impl Observer for SidecarMetrics {
    fn on_event(&self, event: ResiliencyEvent) {
        self.record(&event);
    }
}

/// Counts each event into a sidecar's metrics, then hands it on to `next` (the displays' observer).
/// [`ResiliencyEvent::PolicyApplied`] stops here: one per call, it is the metrics' input, and displays show
/// nothing of it.
pub struct Tee {
    metrics: Arc<SidecarMetrics>,
    next: SharedObserver,
}

impl Tee {
    pub fn new(metrics: Arc<SidecarMetrics>, next: SharedObserver) -> Arc<Self> {
        Arc::new(Self { metrics, next })
    }
}

impl Observer for Tee {
    fn on_event(&self, event: ResiliencyEvent) {
        self.metrics.record(&event);
        if !matches!(event, ResiliencyEvent::PolicyApplied { .. }) {
            self.next.on_event(event);
        }
    }
}
