//! Service invocation, as daprd serves it over HTTP (`directmessaging.go`):
//! - the target app comes from the `dapr-app-id` header (method = the request path), from
//!   `Authorization: Basic base64("dapr-app-id:<id>")`, or from `/v1.0/invoke/<id>/method/<method...>`;
//! - method, query, headers and body are forwarded to the app, and its status, headers and body come back;
//! - each call runs under the caller's resiliency policy for `<appId>:<method>`; an app status outside
//!   200–399 is a failure (retried, counted by the breaker), and when retries end the app's last response is
//!   passed through verbatim; failures of Dapr's own (transport, timeout, breaker) become 500 ERR_DIRECT_INVOKE.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{self as http, HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::api::{PathArgs, path_arg};
use super::{DaprError, SidecarState};
use crate::resiliency::{Failure, OperationError};

const ERR_DIRECT_INVOKE: &str = "ERR_DIRECT_INVOKE";

/// `ANY /v1.0/invoke/{appId}/method/{method...}`.
pub async fn by_path(
    State(state): State<Arc<SidecarState>>,
    path: PathArgs<(String, String)>,
    request: Request,
) -> Response {
    let (app_id, method) = match path_arg(path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let app_id = percent_encoding::percent_decode_str(&app_id)
        .decode_utf8_lossy()
        .into_owned();
    invoke(state, app_id, clean_path(&method), request).await
}

/// Any other path: service invocation when the target is named by header, else Dapr's "no app id" error.
pub async fn by_header(State(state): State<Arc<SidecarState>>, mut request: Request) -> Response {
    let headers = request.headers_mut();
    let app_id = match headers.remove("dapr-app-id") {
        Some(v) => Some(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        None => basic_auth_app_id(headers).inspect(|_| {
            headers.remove(header::AUTHORIZATION);
        }),
    };
    let Some(app_id) = app_id else {
        let msg = "failed getting app id either from the URL path or the header dapr-app-id";
        return DaprError::new(StatusCode::NOT_FOUND, ERR_DIRECT_INVOKE, msg).into_response();
    };
    let method = request.uri().path().trim_start_matches('/').to_string();
    invoke(state, app_id, method, request).await
}

/// `Authorization: Basic base64("dapr-app-id:<id>")`.
fn basic_auth_app_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.strip_prefix("dapr-app-id:").map(str::to_string)
}

/// Path-cleans the method as Go's `path.Clean` does for the parts that matter: no empty, `.` or `..` segments.
fn clean_path(method: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in method.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The app's answer.
#[derive(Debug, Clone)]
pub struct AppResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
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
enum InvokeError {
    /// The app answered with a status outside 200–399.
    App(AppResponse),
    /// The app could not be reached (or no app has that id).
    Channel(String),
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeError::App(r) => write!(f, "received non-successful status code from app: {}", r.status.as_u16()),
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

async fn invoke(state: Arc<SidecarState>, app_id: String, method: String, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let limit = state.options.max_body_bytes;
    if content_length(&parts.headers).is_some_and(|n| n > limit as u64) {
        return body_too_large(limit, "its Content-Length says more").into_response();
    }
    let policy = state.resiliency.endpoint_policy(&app_id, &method);
    // Buffered only when a retry may replay it (as Dapr does); otherwise it streams through, under the limit.
    let mut body = if policy.has_retries() {
        match axum::body::to_bytes(body, limit).await {
            Ok(b) => OutgoingBody::Buffered(b),
            Err(e) => return body_too_large(limit, &e.to_string()).into_response(),
        }
    } else {
        OutgoingBody::Streamed(Some(Body::new(http_body_util::Limited::new(body, limit))))
    };
    let headers = forwardable(&parts.headers);
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("/{method}?{q}"),
        None => format!("/{method}"),
    };
    let result = policy
        .run(|_attempt| {
            let target = state.resolver.resolve(&app_id);
            let request = body.take().map(|body| {
                let mut request = http::Request::new(body);
                *request.method_mut() = parts.method.clone();
                *request.headers_mut() = headers.clone();
                request
            });
            let metrics = state.options.metrics.as_ref().map(|m| &*m.metrics);
            let sent = send(&state.client, target, &path_and_query, &app_id, request);
            crate::metrics::server::count_invocation(metrics, &app_id, answered_status, sent)
        })
        .await;
    match result {
        Ok(response) | Err(Failure::Operation(InvokeError::App(response))) => response.into_response(),
        Err(failure) => {
            let message = format!("failed to invoke, id: {app_id}, err: {failure}");
            DaprError::new(StatusCode::INTERNAL_SERVER_ERROR, ERR_DIRECT_INVOKE, message).into_response()
        }
    }
}

/// The status of the app's answer to an attempt, when one came back (for the invocation metrics).
fn answered_status(result: &Result<AppResponse, InvokeError>) -> Option<u16> {
    match result {
        Ok(response) | Err(InvokeError::App(response)) => Some(response.status.as_u16()),
        Err(InvokeError::Channel(_)) => None,
    }
}

/// The request body for the app: kept whole for retries, or passed through once.
enum OutgoingBody {
    Buffered(Bytes),
    Streamed(Option<Body>),
}

impl OutgoingBody {
    /// The body for the next attempt; `None` when a streamed body was already sent.
    fn take(&mut self) -> Option<Body> {
        match self {
            OutgoingBody::Buffered(bytes) => Some(Body::from(bytes.clone())),
            OutgoingBody::Streamed(body) => body.take(),
        }
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn body_too_large(limit: usize, why: &str) -> DaprError {
    let msg = format!(
        "the request body is larger than the sidecar's limit of {limit} bytes ({why}); send less, or raise it with --max-body-size"
    );
    DaprError::new(StatusCode::PAYLOAD_TOO_LARGE, "ERR_MALFORMED_REQUEST", msg)
}

/// The pooled HTTP/1.1 client the sidecar reaches apps with (kept-alive connections, no TLS, no proxy).
pub(crate) type AppClient =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

pub(crate) fn app_client() -> AppClient {
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
}

async fn send(
    client: &AppClient,
    target: Option<SocketAddr>,
    path_and_query: &str,
    app_id: &str,
    request: Option<http::Request<Body>>,
) -> Result<AppResponse, InvokeError> {
    let Some(addr) = target else {
        return Err(InvokeError::Channel(format!("couldn't find service: {app_id}")));
    };
    let url = format!("http://{addr}{path_and_query}");
    let Some(mut request) = request else {
        // Unreachable: a streamed body means no retry policy, so there is one attempt.
        return Err(InvokeError::Channel(format!(
            "cannot replay a streamed request body to {url}"
        )));
    };
    let method = request.method().clone();
    *request.uri_mut() = match url.parse() {
        Ok(uri) => uri,
        Err(e) => {
            return Err(InvokeError::Channel(format!(
                "invalid method path {path_and_query:?}: {e}"
            )));
        }
    };
    let response = client
        .request(request)
        .await
        .map_err(|e| InvokeError::Channel(channel_error(&method, &url, &e)))?;
    let (parts, body) = response.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .map_err(|e| {
            InvokeError::Channel(format!(
                "error invoking app channel: reading the response of {url}: {e}"
            ))
        })?
        .to_bytes();
    let reply = AppResponse {
        status: parts.status,
        headers: forwardable(&parts.headers),
        body,
    };
    if (200..=399).contains(&parts.status.as_u16()) {
        Ok(reply)
    } else {
        Err(InvokeError::App(reply))
    }
}

/// daprd's wording for an unreachable app channel (Go's `net/http` error text).
fn channel_error(method: &Method, url: &str, e: &hyper_util::client::legacy::Error) -> String {
    let verb = method
        .as_str()
        .chars()
        .next()
        .map(|c| c.to_string() + &method.as_str()[1..].to_lowercase());
    let verb = verb.unwrap_or_default();
    let hostport = url.trim_start_matches("http://").split('/').next().unwrap_or_default();
    if e.is_connect() {
        format!("error invoking app channel: {verb} \"{url}\": dial tcp {hostport}: connect: connection refused")
    } else if let Some(limit) = limit_error(e) {
        format!("error invoking app channel: {verb} \"{url}\": {limit}")
    } else {
        format!("error invoking app channel: {verb} \"{url}\": {e}")
    }
}

/// The body-limit error of a streamed request body, if that is what ended the call.
fn limit_error(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return Some(format!(
                "request body larger than the sidecar's limit ({s}); raise it with --max-body-size"
            ));
        }
        source = s.source();
    }
    None
}

/// Headers that go end to end (hop-by-hop ones are the connection's own).
fn forwardable(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [HeaderName; 6] = [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::UPGRADE,
        header::HOST,
        header::CONTENT_LENGTH,
    ];
    let mut out = headers.clone();
    for name in HOP_BY_HOP {
        out.remove(name);
    }
    out.remove("keep-alive");
    out.remove("proxy-connection");
    // The caller's token is for this sidecar, never the app's (daprd strips it too).
    out.remove("dapr-api-token");
    out
}
