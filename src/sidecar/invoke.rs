//! Service invocation, as daprd serves it over HTTP (`directmessaging.go`):
//! - the target app comes from the `dapr-app-id` header (method = the request path), from
//!   `Authorization: Basic base64("dapr-app-id:<id>")`, or from `/v1.0/invoke/<id>/method/<method...>`;
//! - method, query, headers and body are forwarded to the app, and its status, headers and body come back;
//! - each call runs under the caller's resiliency policy for `<appId>:<method>`; an app status outside
//!   200–399 is a failure (retried, counted by the breaker), and when retries end the app's last response is
//!   passed through verbatim; failures of Dapr's own (transport, timeout, breaker) become 500 ERR_DIRECT_INVOKE;
//! - the call reaches the app through the app's own sidecar (`hop.rs`); when no Resiliency resource names
//!   the app as a target, that hop runs under daprd's built-in service retries (`DaprBuiltInServiceRetries`:
//!   Unavailable retried 3 times, 1 s apart; `direct_messaging.go invokeWithRetry`).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{self as http, HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::app_channel::{STREAM_TOO_LARGE, forwardable, send};
use super::{DaprError, Route, SidecarState, hop};
use crate::resiliency::registry::BUILT_IN_SERVICE_RETRIES;
use crate::resiliency::{Failure, OperationError, PolicyDefinition};

pub(super) const ERR_DIRECT_INVOKE: &str = "ERR_DIRECT_INVOKE";

/// The app's answer.
#[derive(Debug, Clone)]
pub struct AppResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// The app said more than `--max-body-size`: `body` is its first bytes up to the limit (daprd's
    /// LimitReadCloser around the answer, `pkg/channel/http/http_channel.go` parseChannelResponse).
    pub(super) cut: bool,
}

impl AppResponse {
    pub(super) fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
            cut: false,
        }
    }

    /// Dapr's success: a status from 200 to 399 (v1.11+).
    pub(super) fn is_success(&self) -> bool {
        (200..=399).contains(&self.status.as_u16())
    }
}

impl IntoResponse for AppResponse {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// Why one attempt to reach the app failed.
#[derive(Debug)]
pub(super) enum InvokeError {
    /// The app answered with a status outside 200–399.
    App(AppResponse),
    /// The app could not be reached (or no app has that id).
    Channel(String),
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `pkg/api/http/directmessaging.go`: the CodeError's text.
            InvokeError::App(r) => write!(
                f,
                "received non-successful status code in response: {}",
                r.status.as_u16()
            ),
            InvokeError::Channel(e) => f.write_str(e),
        }
    }
}

impl OperationError for InvokeError {
    fn status_code(&self) -> Option<u16> {
        match self {
            InvokeError::App(r) => Some(r.status.as_u16()),
            InvokeError::Channel(_) => None,
        }
    }
}

/// A service invocation as either transport hands it over: the target, what to send the app, and the body.
pub(super) struct Invocation {
    pub app_id: String,
    pub method: String,
    pub verb: Method,
    /// End-to-end headers only (see [`forwardable`]).
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub body: IncomingBody,
}

/// The request body as it arrived: whole (gRPC's message), or a stream (HTTP) buffered only when a retry
/// may replay it.
pub(super) enum IncomingBody {
    Whole(Bytes),
    Stream(Body),
}

/// Why an invocation has no successful answer.
pub(super) enum InvokeFailure {
    /// The request body is over `--max-body-size`: it never reaches the app.
    TooLarge,
    /// The policy's run ended in failure; an app's own non-2xx answer is `Failure::Operation(App(..))`.
    Failed(Failure<InvokeError>),
}

/// The invocation core both transports call: the caller's policy for `<appId>:<method>` around each attempt,
/// the hop to the callee's sidecar with daprd's built-in retries when no target names the app, the
/// invocation metrics.
pub(super) async fn invoke_app(state: &SidecarState, invocation: Invocation) -> Result<AppResponse, InvokeFailure> {
    let Invocation {
        app_id,
        method,
        verb,
        headers,
        query,
        body,
    } = invocation;
    let limit = state.options.max_body_bytes;
    let resiliency = state.resiliency();
    let policy = resiliency.endpoint_policy(&app_id, &method);
    let route = state.resolver.resolve(&app_id);
    let built_in = matches!(route, Some(Route::Sidecar(_))) && !resiliency.app_target_defined(&app_id);
    let built_in = built_in.then(|| resiliency.built_in_policy(BUILT_IN_SERVICE_RETRIES));
    // Buffered only when a retry may replay it (as Dapr does); otherwise it streams through, under the limit.
    let replays = policy.has_retries() || built_in.as_ref().is_some_and(|p| p.has_retries());
    let body = match body {
        IncomingBody::Whole(bytes) => OutgoingBody::Buffered(bytes),
        IncomingBody::Stream(body) if replays => match axum::body::to_bytes(body, limit).await {
            Ok(b) => OutgoingBody::Buffered(b),
            Err(_) => return Err(InvokeFailure::TooLarge),
        },
        IncomingBody::Stream(body) => {
            OutgoingBody::Streamed(Some(Body::new(http_body_util::Limited::new(body, limit))))
        }
    };
    let path_and_query = match query {
        Some(q) => format!("/{method}?{q}"),
        None => format!("/{method}"),
    };
    let call = Call {
        state,
        app_id: &app_id,
        path_and_query: &path_and_query,
        method: &verb,
        headers: &headers,
        built_in: built_in.as_ref(),
    };
    let body = std::sync::Mutex::new(body);
    // The invocation metrics are counted per hop, inside the built-in retries (`hop_attempt`).
    policy
        .run_cancellable(&state.calls(), |_attempt| call.attempt(&body))
        .await
        .map_err(InvokeFailure::Failed)
}

/// Service invocation over HTTP: the app's answer passed through (its last one when retries ended), Dapr's
/// own failures as 500 `ERR_DIRECT_INVOKE`. A body over `--max-body-size` is one of them: daprd reads it
/// through dapr/kit's LimitReadCloser and the call fails with its error; a Content-Length that says so
/// fails it before anything is sent.
pub(super) async fn invoke(
    state: Arc<SidecarState>,
    app_id: String,
    method: String,
    request: Request,
) -> Result<Response, DaprError> {
    let (parts, body) = request.into_parts();
    let limit = state.options.max_body_bytes;
    let failed = |err: &dyn std::fmt::Display| {
        let message = format!("failed to invoke, id: {app_id}, err: {err}");
        Err(DaprError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ERR_DIRECT_INVOKE,
            message,
        ))
    };
    if content_length(&parts.headers).is_some_and(|n| n > limit as u64) {
        return failed(&STREAM_TOO_LARGE);
    }
    let invocation = Invocation {
        app_id: app_id.clone(),
        method,
        verb: parts.method,
        headers: forwardable(&parts.headers),
        query: parts.uri.query().map(str::to_string),
        body: IncomingBody::Stream(body),
    };
    // Boxed: the core's future is large, and axum's layers move the handler's future several times before
    // polling it; a pointer moves for nothing (BENCHMARKS.md, callgrind's memcpy).
    match Box::pin(invoke_app(&state, invocation)).await {
        Ok(response) | Err(InvokeFailure::Failed(Failure::Operation(InvokeError::App(response)))) => {
            // A cut answer goes as daprd sends it: the status, headers and first bytes are written before the
            // limit stops the copy, the handler returns, and only its warning tells (`pkg/api/http/
            // directmessaging.go` onDirectMessage; daprd no longer passes the app's Content-Length on).
            if response.cut {
                tracing::warn!(app_id = %app_id, "HTTP service invocation failed to complete with error: {STREAM_TOO_LARGE}");
            }
            Ok(response.into_response())
        }
        Err(InvokeFailure::TooLarge) => failed(&STREAM_TOO_LARGE),
        Err(InvokeFailure::Failed(failure)) => failed(&failure),
    }
}

/// One call to an app, attempted as often as the policy says.
struct Call<'a> {
    state: &'a SidecarState,
    app_id: &'a str,
    path_and_query: &'a str,
    method: &'a Method,
    headers: &'a HeaderMap,
    /// daprd's built-in service retries, when no Resiliency resource names the app.
    built_in: Option<&'a PolicyDefinition>,
}

impl Call<'_> {
    /// The request for one attempt: `None` when a streamed body was already sent.
    fn request(&self, body: &std::sync::Mutex<OutgoingBody>) -> Option<http::Request<Body>> {
        let body = body.lock().unwrap_or_else(|p| p.into_inner()).take();
        body.map(|body| {
            let mut request = http::Request::new(body);
            *request.method_mut() = self.method.clone();
            *request.headers_mut() = self.headers.clone();
            request
        })
    }

    async fn attempt(&self, body: &std::sync::Mutex<OutgoingBody>) -> Result<AppResponse, InvokeError> {
        let sidecar = match self.state.resolver.resolve(self.app_id) {
            Some(Route::Sidecar(sidecar)) => sidecar,
            Some(Route::App(addr)) => {
                let request = self.request(body);
                let limit = self.state.options.max_body_bytes;
                let to = (self.path_and_query, self.app_id);
                return send(&self.state.client, Some(addr), to, request, limit).await;
            }
            None => return Err(InvokeError::Channel(format!("couldn't find service: {}", self.app_id))),
        };
        // The hop's futures are boxed so that each attempt's future stays small on the direct path to an app.
        let answer = match self.built_in {
            // A Resiliency resource names the app: one hop per attempt of its policy.
            None => Box::pin(self.hop_attempt(sidecar, self.request(body), 1))
                .await
                .map_err(|failed| failed.error.to_string()),
            Some(built_in) => {
                let attempt = |n: u32| self.hop_attempt(sidecar, self.request(body), n);
                Box::pin(built_in.run(attempt))
                    .await
                    .map_err(|failure| failure.to_string())
            }
        };
        match answer {
            Ok(response) if response.is_success() => Ok(response),
            Ok(response) => Err(InvokeError::App(response)),
            Err(error) => Err(InvokeError::Channel(error)),
        }
    }

    async fn hop_attempt(
        &self,
        sidecar: SocketAddr,
        request: Option<http::Request<Body>>,
        attempt: u32,
    ) -> Result<AppResponse, hop::BuiltInAttempt> {
        let failed = |error| hop::BuiltInAttempt {
            error,
            app_id: self.app_id.to_string(),
            attempt,
        };
        let Some(request) = request else {
            let why = format!("cannot replay a streamed request body to {}", self.app_id);
            return Err(failed(hop::HopError::Internal(why)));
        };
        let hop = hop::call(
            &self.state.client,
            (&self.state.app_id, self.app_id),
            sidecar,
            self.path_and_query,
            request,
            self.state.options.max_body_bytes,
        );
        let metrics = self.state.options.metrics.as_ref().map(|m| &*m.metrics);
        let answered = |r: &Result<AppResponse, _>| r.as_ref().ok().map(|a: &AppResponse| a.status.as_u16());
        crate::metrics::server::count_invocation(metrics, self.app_id, answered, hop)
            .await
            .map_err(failed)
    }
}

/// The request body for the app: kept whole for retries, or passed through once.
enum OutgoingBody {
    Buffered(Bytes),
    Streamed(Option<Body>),
}

impl OutgoingBody {
    /// The body for the next attempt; `None` when a streamed body was already sent.
    pub(super) fn take(&mut self) -> Option<Body> {
        match self {
            OutgoingBody::Buffered(bytes) => Some(Body::from(bytes.clone())),
            OutgoingBody::Streamed(body) => body.take(),
        }
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}
