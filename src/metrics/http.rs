//! daprd's HTTP server metrics, as v1.18 serves them by default.
//!
//! v1.18's `increasedCardinality` defaults to true (`pkg/config/configuration.go`), which puts the HTTP
//! metrics in legacy mode (`pkg/diagnostics/http_monitoring.go`): `request_count`, `response_count` and
//! `latency` carry `path` (shortened by `http_monitoring_legacy.go`'s `convertPathToMetricLabel`) and the
//! request's HTTP method; `request_bytes` and `response_bytes` carry only `app_id`. All are recorded once,
//! when the response is complete. The sidecar-to-sidecar hop is not counted here: in daprd it is the
//! internal gRPC server's call, never the HTTP server's.

use std::borrow::Cow;
use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Registry};

use super::LATENCY_BUCKETS_MS;

/// daprd's `defaultSizeDistribution` (`http_monitoring.go`), in bytes.
const SIZE_BUCKETS: [f64; 13] = [
    1024.0,
    2048.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
    268_435_456.0,
    1_073_741_824.0,
    4_294_967_296.0,
];
/// The labels of the per-request families in legacy mode.
const REQUEST_LABELS: [&str; 4] = ["app_id", "method", "path", "status"];

/// One answered request, as the HTTP server's middleware saw it.
#[derive(Debug, Clone, Copy)]
pub struct ServedRequest<'a> {
    pub method: &'a str,
    /// The request's path (without the query), before [`path_label`] shortens it.
    pub path: &'a str,
    pub status: u16,
    /// The request's `Content-Length` (0 when it has none, as daprd records it).
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub elapsed: Duration,
}

/// The five `dapr_http_server_*` families.
pub(super) struct HttpServerMetrics {
    request_count: IntCounterVec,
    response_count: IntCounterVec,
    latency: HistogramVec,
    request_bytes: HistogramVec,
    response_bytes: HistogramVec,
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    let metric = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels)
        .expect("a valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric registered once");
    metric
}

impl HttpServerMetrics {
    pub(super) fn register(registry: &Registry) -> Self {
        Self {
            request_count: super::counter(
                registry,
                "dapr_http_server_request_count",
                "Count of HTTP requests processed by the server.",
                &REQUEST_LABELS,
            ),
            response_count: super::counter(
                registry,
                "dapr_http_server_response_count",
                "The number of HTTP responses",
                &REQUEST_LABELS,
            ),
            latency: histogram(
                registry,
                "dapr_http_server_latency",
                "HTTP request end-to-end latency in server.",
                &LATENCY_BUCKETS_MS,
                &REQUEST_LABELS,
            ),
            request_bytes: histogram(
                registry,
                "dapr_http_server_request_bytes",
                "HTTP request body size if set as ContentLength (uncompressed) in server.",
                &SIZE_BUCKETS,
                &["app_id"],
            ),
            response_bytes: histogram(
                registry,
                "dapr_http_server_response_bytes",
                "HTTP response body size (uncompressed) in server.",
                &SIZE_BUCKETS,
                &["app_id"],
            ),
        }
    }

    pub(super) fn record(&self, app_id: &str, served: &ServedRequest<'_>) {
        let path = path_label(served.path);
        let status = served.status.to_string();
        let labels = [app_id, served.method, &path, &status];
        self.request_count.with_label_values(&labels).inc();
        self.response_count.with_label_values(&labels).inc();
        // daprd divides the elapsed time by a millisecond as integers: whole milliseconds.
        let millis = u32::try_from(served.elapsed.as_millis()).unwrap_or(u32::MAX);
        self.latency.with_label_values(&labels).observe(f64::from(millis));
        #[allow(clippy::cast_precision_loss)] // sizes far below 2^53
        {
            let request_bytes = served.request_bytes as f64;
            let response_bytes = served.response_bytes as f64;
            self.request_bytes.with_label_values(&[app_id]).observe(request_bytes);
            self.response_bytes.with_label_values(&[app_id]).observe(response_bytes);
        }
    }
}

/// The `path` label of a request in legacy mode: the path, with the parts that vary per call dropped for
/// the state and secrets APIs (`/v1.0/state/statestore/order-1` → `/v1.0/state/statestore`) and actor ids
/// and workflow instances replaced. Everything else (service invocation included) keeps its whole path.
/// daprd's `convertPathToMetricLabel` (`pkg/diagnostics/http_monitoring_legacy.go`), with its quirks: an
/// app-callback actor path loses its leading slash, and at most 6 segments are looked at.
pub fn path_label(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed(path);
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let mut parts: Vec<&str> = trimmed.splitn(6, '/').collect();
    if parts.len() < 3 {
        return Cow::Borrowed(path);
    }
    if parts[0] == "actors" {
        parts[2] = "{id}";
        return Cow::Owned(parts.join("/"));
    }
    let rooted = |parts: &[&str]| Cow::Owned(format!("/{}", parts.join("/")));
    match parts[1] {
        "state" | "secrets" => rooted(&parts[..3]),
        "actors" if parts.len() >= 5 => {
            parts[3] = "{id}";
            rooted(&parts[..5])
        }
        "workflows" if parts.len() >= 4 => workflow_label(parts),
        _ => Cow::Borrowed(path),
    }
}

/// `/v1.0-beta1/workflows/<component>/…`: the instance id (and a raised event's name) replaced.
fn workflow_label(mut parts: Vec<&str>) -> Cow<'static, str> {
    let rooted = |parts: &[&str]| Cow::Owned(format!("/{}", parts.join("/")));
    if parts.len() == 4 {
        parts[3] = "{instanceId}";
        return rooted(&parts);
    }
    if parts.len() == 5 && parts[4].starts_with("start") {
        return Cow::Owned(format!("/{}/start", parts[..4].join("/")));
    }
    parts[3] = "{instanceId}";
    if parts.len() == 6 && parts[4] == "raiseEvent" && !parts[5].is_empty() {
        parts[5] = "{eventName}";
        return rooted(&parts);
    }
    rooted(&parts[..5])
}

#[cfg(test)]
mod tests {
    use super::path_label;

    #[test]
    fn the_path_label_is_daprds_legacy_label() {
        let cases = [
            (
                "/v1.0/invoke/order-processor/method/orders",
                "/v1.0/invoke/order-processor/method/orders",
            ),
            ("/v1.0/state/statestore", "/v1.0/state/statestore"),
            ("/v1.0/state/statestore/order-1", "/v1.0/state/statestore"),
            ("/v1.0/state/statestore/bulk", "/v1.0/state/statestore"),
            ("/v1.0/secrets/vault/name", "/v1.0/secrets/vault"),
            ("/v1.0/actors/Demo/1/method/m", "/v1.0/actors/Demo/{id}/method"),
            ("/v1.0/actors/Demo", "/v1.0/actors/Demo"),
            ("/actors/Demo/1/method/m", "actors/Demo/{id}/method/m"),
            (
                "/v1.0-beta1/workflows/dapr/abc",
                "/v1.0-beta1/workflows/dapr/{instanceId}",
            ),
            (
                "/v1.0-beta1/workflows/dapr/wf/start",
                "/v1.0-beta1/workflows/dapr/wf/start",
            ),
            (
                "/v1.0-beta1/workflows/dapr/abc/raiseEvent/ev",
                "/v1.0-beta1/workflows/dapr/{instanceId}/raiseEvent/{eventName}",
            ),
            (
                "/v1.0-beta1/workflows/dapr/abc/pause",
                "/v1.0-beta1/workflows/dapr/{instanceId}/pause",
            ),
            ("/orders", "/orders"),
            ("/v1.0/healthz", "/v1.0/healthz"),
            ("", ""),
        ];
        for (path, label) in cases {
            assert_eq!(path_label(path), label, "{path}");
        }
    }
}
