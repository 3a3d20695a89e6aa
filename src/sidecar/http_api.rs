//! Dapr's HTTP API as the one service a sidecar's HTTP port serves: its routes (axum's `Router`), and, in
//! front of them, the call most requests are, service invocation on a path no route claims (the app
//! named by `dapr-app-id` or Basic auth), handed straight to the handler the router's fallback would
//! reach. The answer is the router's, byte for byte; what is skipped is the router's matching, its
//! layers and their futures on every call, a tenth of the sidecar's own work per proxied request
//! (BENCHMARKS.md, "Against nginx").

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use tower_service::Service;

use super::{SidecarState, target};

/// The sidecar's HTTP API: the router, and the way around it for plain service invocation.
#[derive(Clone)]
pub(super) struct HttpApi {
    router: Router,
    state: Arc<SidecarState>,
}

impl HttpApi {
    pub(super) fn new(router: Router, state: Arc<SidecarState>) -> Self {
        Self { router, state }
    }

    /// Whether the router would hand `request` to its fallback (`target::by_header`) with nothing between:
    /// no token to check (the token layer runs first), a path under none of its routes (all are under
    /// `/v1.0/` or the hop's `/dapr-internal/`), and not HEAD (the router answers HEAD without a body).
    fn goes_to_fallback(&self, request: &Request) -> bool {
        let path = request.uri().path();
        self.state.options.api_token.is_none()
            && request.method() != Method::HEAD
            && !path.starts_with("/v1.0/")
            && !path.starts_with("/dapr-internal/")
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl Service<Request> for HttpApi {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Answer {
        if !self.goes_to_fallback(&request) {
            return Box::pin(self.router.call(request));
        }
        let state = self.state.clone();
        Box::pin(async move {
            let metrics = state.options.metrics.as_ref().map(|m| m.metrics.clone());
            let invoke = |request| async { target::by_header(State(state), request).await.into_response() };
            Ok(match metrics {
                // The same count the router's metrics layer makes.
                Some(metrics) => crate::metrics::server::counted(&metrics, request, invoke).await,
                None => invoke(request).await,
            })
        })
    }
}
