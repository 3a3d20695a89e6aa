//! Serving a sidecar's metrics as daprd's exporter does (`pkg/metrics/exporter.go`): Prometheus text on a port
//! of its own (daprd's `--metrics-port`, 9090 by default), mounted at `/` so `/metrics` answers too. It runs on
//! the sidecar's own runtime, next to the Dapr API.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::SidecarMetrics;

/// daprd's default metrics port; each further sidecar takes the next one.
pub const DEFAULT_METRICS_PORT: u16 = 9090;

/// Where one sidecar serves its metrics.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    pub listen: SocketAddr,
    /// The flag that moves `listen`'s port, named in the error when the port is taken.
    pub port_flag: String,
    pub metrics: Arc<SidecarMetrics>,
}

/// The exporter's routes: the same text at any path, as daprd's handler mounted at `/` answers.
pub fn routes(metrics: Arc<SidecarMetrics>) -> Router {
    Router::new().fallback(scrape).with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<SidecarMetrics>>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        metrics.render(),
    )
        .into_response()
}

/// Binds the metrics port; a taken port is an error naming it and the flag that moves it.
pub fn bind(options: &MetricsOptions) -> Result<std::net::TcpListener, crate::net::BindError> {
    let who = format!("the {} sidecar's metrics", options.metrics.app_id());
    crate::net::bind_std(&who, options.listen, &options.port_flag)
}

/// Serves the metrics on the current runtime until `stop` resolves and the scrapes in flight are answered.
pub async fn serve(
    listener: std::net::TcpListener,
    metrics: Arc<SidecarMetrics>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
        let _ = axum::serve(listener, routes(metrics))
            .with_graceful_shutdown(stop)
            .await;
    }
}

/// Where the sidecar serves the hop from other sidecars (`sidecar/hop.rs`). daprd's hop is a call on its
/// internal gRPC server, so the HTTP server's metrics never count it.
const HOP_ROUTES: &str = "/dapr-internal/";

/// Middleware recording each request the Dapr API answers in the `dapr_http_server_*` families, when its
/// response is complete, as daprd's `HTTPMiddleware` does (`pkg/diagnostics/http_monitoring.go`).
pub async fn count_request(State(metrics): State<Arc<SidecarMetrics>>, request: Request, next: Next) -> Response {
    counted(&metrics, request, |request| next.run(request)).await
}

/// `serve`'s answer to `request`, counted as [`count_request`] counts it (the sidecar's way around its
/// router, `sidecar/http_api.rs`, counts with it too).
pub async fn counted<F, Fut>(metrics: &SidecarMetrics, request: Request, serve: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if request.uri().path().starts_with(HOP_ROUTES) {
        return serve(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    // daprd records the Content-Length it was told, 0 when there is none.
    let request_bytes = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let start = tokio::time::Instant::now();
    let response = serve(request).await;
    // Every body the API answers with is whole (the app's answer is read before it is passed on).
    let size = axum::body::HttpBody::size_hint(response.body());
    metrics.http_request(&super::http::ServedRequest {
        method: method.as_str(),
        path: &path,
        status: response.status().as_u16(),
        request_bytes,
        response_bytes: size.exact().unwrap_or(size.lower()),
        elapsed: start.elapsed(),
    });
    response
}

/// One hop from a caller's sidecar to the callee's, counted as daprd's `invokeRemote` counts it
/// (`pkg/messaging/direct_messaging.go`): sent, then (when an answer came back) received with its status and
/// latency. It is called per hop, inside daprd's built-in service retries as well, so a call the built-in
/// policy tries 4 times counts 4 requests sent.
pub async fn count_invocation<T, E>(
    metrics: Option<&SidecarMetrics>,
    dst_app_id: &str,
    status: impl FnOnce(&Result<T, E>) -> Option<u16>,
    attempt: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let Some(metrics) = metrics else {
        return attempt.await;
    };
    metrics.invocation_sent(dst_app_id);
    let start = tokio::time::Instant::now();
    let result = attempt.await;
    if let Some(code) = status(&result) {
        metrics.invocation_answered(dst_app_id, code, start.elapsed());
    }
    result
}

/// Which port each sidecar's metrics take.
#[derive(Debug, Clone, Default)]
pub struct MetricsPorts {
    /// The first sidecar's port; the next ones count up from it, as daprd's default 9090 does for one daprd
    /// after another. `None`: any free port (tests, which never take 9090).
    pub first: Option<u16>,
    /// `--metrics-port APP=PORT`: these apps' sidecars use these ports instead.
    pub overrides: Vec<(String, u16)>,
}

impl MetricsPorts {
    /// daprd's numbering from 9090, with `overrides`.
    pub fn daprd(overrides: Vec<(String, u16)>) -> Self {
        Self {
            first: Some(DEFAULT_METRICS_PORT),
            overrides,
        }
    }

    /// The port of the sidecar of `app_id`, the `index`th sidecar started (0 for any free port).
    pub fn port(&self, app_id: &str, index: usize) -> u16 {
        if let Some((_, port)) = self.overrides.iter().rev().find(|(app, _)| app == app_id) {
            return *port;
        }
        let offset = u16::try_from(index).unwrap_or(u16::MAX);
        self.first.map_or(0, |first| first.saturating_add(offset))
    }
}
