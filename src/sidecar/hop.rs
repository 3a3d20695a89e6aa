//! The hop between two sidecars: the caller's sidecar hands a call to the callee's sidecar, which calls its
//! own app. daprd does this over gRPC (`CallLocal` on the internal port); ours is HTTP on the sidecar's own
//! port under [`ROUTE`], but the outcomes are daprd's, because they decide what the caller retries:
//! - the callee's sidecar is down: `rpc error: code = Unavailable desc = connection error: …` (what daprd's
//!   built-in service retries retry);
//! - the callee's sidecar is up but its app is not: `rpc error: code = Internal desc = error invoking app
//!   channel: …` (`pkg/api/grpc/daprinternal.go` wraps the app channel's error in `codes.Internal`);
//! - the app answered: its response, whatever its status, for the caller to judge;
//! - the callee's sidecar answered itself (no app behind the answer): Internal, never read as the app's;
//! - the callee's sidecar stopped while its app had the call (a fault, or the run's end): Unavailable, as the
//!   broken connection to a daprd that exits is (its call to the app is cancelled, not waited for);
//! - a streamed request body passed `--max-body-size` on the way: dapr/kit's "stream too large", not retried.
//!
//! Both answers are read up to `--max-body-size`; an app's longer answer reaches the caller cut there.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{self as http, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::api::{PathArgs, path_arg};
use super::app_channel::{AppClient, STREAM_TOO_LARGE, forwardable, over_the_limit, read_limited, send};
use super::forwarded::{self, CALLER};
use super::invoke::{AppResponse, InvokeError};
use super::{DaprError, SidecarState};
use crate::hop_faults::channel::Then;
use crate::resiliency::OperationError;

/// The callee sidecar's route for calls from other sidecars (ours; daprd's is gRPC).
pub const ROUTE: &str = "/dapr-internal/v1/invoke/{*method}";
const PREFIX: &str = "/dapr-internal/v1/invoke/";
/// Says, on the callee's answer, whether the app answered or the app channel failed.
const OUTCOME: &str = "x-dapr-internal-outcome";

/// The gRPC status of a failed hop, as the caller's sidecar sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopError {
    Unavailable(String),
    Internal(String),
    /// The streamed request body passed `--max-body-size` while it was sent.
    TooLarge,
}

impl fmt::Display for HopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopError::Unavailable(desc) => write!(f, "rpc error: code = Unavailable desc = {desc}"),
            HopError::Internal(desc) => write!(f, "rpc error: code = Internal desc = {desc}"),
            HopError::TooLarge => f.write_str(STREAM_TOO_LARGE),
        }
    }
}

/// One attempt of daprd's built-in service retries (`direct_messaging.go invokeWithRetry`): Unavailable is
/// retried and reported as "failed to invoke target X after N retries"; any other error is permanent.
#[derive(Debug)]
pub struct BuiltInAttempt {
    pub error: HopError,
    pub app_id: String,
    pub attempt: u32,
}

impl fmt::Display for BuiltInAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            HopError::Unavailable(_) => write!(
                f,
                "failed to invoke target {} after {} retries. Error: {}",
                self.app_id,
                self.attempt - 1,
                self.error
            ),
            HopError::Internal(_) | HopError::TooLarge => self.error.fmt(f),
        }
    }
}

impl OperationError for BuiltInAttempt {
    fn is_permanent(&self) -> bool {
        !matches!(self.error, HopError::Unavailable(_))
    }
}

/// Hands one call for `callee` to its sidecar at `sidecar`: the app's answer (read up to `limit` bytes), or
/// why there is none.
pub async fn call(
    client: &AppClient,
    (caller, callee): (&str, &str),
    sidecar: SocketAddr,
    path_and_query: &str,
    request: http::Request<Body>,
    limit: usize,
) -> Result<AppResponse, HopError> {
    let target = format!("{PREFIX}{}", path_and_query.trim_start_matches('/'));
    let mut request = request;
    // daprd's namespace is `NAMESPACE` (empty when self-hosted).
    let namespace = std::env::var("NAMESPACE").unwrap_or_default();
    forwarded::stamp_hop(request.headers_mut(), caller, callee, &namespace);
    let (uri, host) = super::resolver::uri(sidecar, &target)
        .map_err(|e| HopError::Internal(format!("invalid method path {path_and_query:?}: {e}")))?;
    *request.uri_mut() = uri;
    request.headers_mut().insert(http::header::HOST, host);
    let response = client.request(sidecar, request).await.map_err(|e| {
        if over_the_limit(&e) {
            return HopError::TooLarge;
        }
        let desc = if e.is_connect() {
            format!("dial tcp {sidecar}: connect: connection refused")
        } else {
            e.to_string()
        };
        HopError::Unavailable(format!(
            "connection error: desc = \"transport: Error while dialing: {desc}\""
        ))
    })?;
    let (parts, body) = response.into_parts();
    let (body, over) = read_limited(body, limit)
        .await
        .map_err(|e| HopError::Unavailable(format!("error reading from the callee's sidecar: {e}")))?;
    let cut = match parts.headers.get(OUTCOME).map(HeaderValue::as_bytes) {
        Some(b"app") => over,
        Some(b"app-cut") => true,
        Some(b"internal") => return Err(HopError::Internal(String::from_utf8_lossy(&body).into_owned())),
        Some(b"stopped") => return Err(HopError::Unavailable(String::from_utf8_lossy(&body).into_owned())),
        // The callee's sidecar answered itself (a refusal such as a 401, or a request it could not read):
        // that is never the app's answer, so it is a failed hop, not a status for the caller to judge.
        _ => {
            let body = String::from_utf8_lossy(&body);
            return Err(HopError::Internal(format!(
                "the callee's sidecar at {sidecar} refused the call with {}: {}",
                parts.status,
                body.trim()
            )));
        }
    };
    let mut headers = forwardable(&parts.headers);
    headers.remove(OUTCOME);
    let mut answer = AppResponse::new(parts.status, headers, body);
    answer.cut = cut;
    Ok(answer)
}

/// The callee's side: calls this sidecar's own app, and says whether it answered.
pub async fn serve_call(
    State(state): State<Arc<SidecarState>>,
    path: PathArgs<String>,
    request: Request,
) -> Result<Response, DaprError> {
    let method = path_arg(path)?;
    let path_and_query = match request.uri().query() {
        Some(q) => format!("/{method}?{q}"),
        None => format!("/{method}"),
    };
    let (parts, body) = request.into_parts();
    let caller = parts
        .headers
        .get(CALLER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown") // daprd's `callLocalRecordRequest`
        .to_string();
    state.note_served(&caller);
    let body = Body::new(http_body_util::Limited::new(body, state.options.max_body_bytes));
    let mut app_request = http::Request::new(body);
    *app_request.method_mut() = parts.method;
    *app_request.headers_mut() = forwarded::for_app(&forwardable(&parts.headers));
    // An answer cut at the limit goes whole (its first bytes) and says so; the caller's sidecar cuts it.
    let answered = |mut r: AppResponse| {
        let outcome = if std::mem::take(&mut r.cut) { "app-cut" } else { "app" };
        with_outcome(r.into_response(), outcome)
    };
    // An injected fault on the app channel (faults/channel.rs): a wait, an answer in the app's place, or a
    // blackhole instead of the app.
    let fault = state.channel_faults.next_call();
    // The sidecar stopping ends the wait for its app: an app that never answers holds no stop.
    let calls = state.calls();
    let stopped = || {
        let why = format!("the {} sidecar stopped while its app had the call", state.app_id);
        let mut response = Response::new(Body::from(why));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        with_outcome(response, "stopped")
    };
    if !fault.delay.is_zero() {
        tokio::select! {
            biased;
            () = calls.cancelled() => return Ok(stopped()),
            () = tokio::time::sleep(fault.delay) => {}
        }
    }
    let target = match fault.then {
        Then::Pass => state.app_channel,
        Then::Divert(blackhole) => Some(blackhole),
        Then::Respond(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = Bytes::from(format!("{{\"error\":\"fault injected: {status}\"}}"));
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Ok(answered(AppResponse::new(status, headers, body)));
        }
    };
    let to = (path_and_query.as_str(), state.app_id.as_str());
    let sent = send(
        &state.client,
        target,
        to,
        Some(app_request),
        state.options.max_body_bytes,
    );
    let sent = tokio::select! {
        biased;
        () = calls.cancelled() => return Ok(stopped()),
        sent = sent => sent,
    };
    let response = match sent {
        Ok(response) | Err(InvokeError::App(response)) => answered(response),
        Err(InvokeError::Channel(error)) => {
            // The blackhole stands in for the app: the error names the app's address, as daprd's would.
            let error = match (target, state.app_channel) {
                (Some(hole), Some(app)) if hole != app => error.replace(&hole.to_string(), &app.to_string()),
                _ => error,
            };
            let mut response = Response::new(Body::from(Bytes::from(error)));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            with_outcome(response, "internal")
        }
    };
    if let Some(m) = &state.options.metrics {
        let failed = response.headers().get(OUTCOME).is_some_and(|v| v == "internal"); // status 0, as daprd
        m.metrics
            .invocation_served(&caller, if failed { 0 } else { response.status().as_u16() });
    }
    Ok(response)
}

fn with_outcome(mut response: Response, outcome: &'static str) -> Response {
    response
        .headers_mut()
        .insert(OUTCOME, HeaderValue::from_static(outcome));
    response
}
