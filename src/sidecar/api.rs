//! Health, metadata, the API token, and Dapr's error shape.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::SidecarState;

/// A Dapr API error as daprd's HTTP API answers it: `{"errorCode": "...", "message": "..."}` with an HTTP
/// status, and the google.rpc `details` daprd's richer errors carry; or, where daprd answers with Go's
/// `http.Error` (a wrong API token, a state body over `--max-body-size`), the message alone as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaprError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// ErrorInfo, BadRequest, ResourceInfo, … as dapr/kit writes them in JSON; none for most errors.
    pub details: Vec<Value>,
    /// Go's `http.Error`: `message` and a newline, as `text/plain` (no `errorCode`).
    pub plain_text: bool,
}

impl DaprError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            plain_text: false,
        }
    }

    pub fn with_details(self, details: Vec<Value>) -> Self {
        Self { details, ..self }
    }

    /// An answer as Go's `http.Error` writes it.
    pub fn plain_text(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            plain_text: true,
            ..Self::new(status, "", message)
        }
    }
}

impl IntoResponse for DaprError {
    fn into_response(self) -> Response {
        if self.plain_text {
            let mut response = Response::new(Body::from(self.message + "\n"));
            *response.status_mut() = self.status;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            return response;
        }
        let body = if self.details.is_empty() {
            json!({ "errorCode": self.code, "message": self.message })
        } else {
            json!({ "errorCode": self.code, "message": self.message, "details": self.details })
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// `GET /v1.0/healthz` and `/v1.0/healthz/outbound`: ready as soon as the sidecar listens.
pub async fn healthz() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The daprd release whose behaviour the sidecar follows, reported where daprd reports its own build's version
/// (`runtimeVersion` and `extended.daprRuntimeVersion`, `pkg/api/universal/metadata.go`).
pub const RUNTIME_VERSION: &str = "1.18.3";

/// `GET /v1.0/metadata`, with the fields daprd fills for a self-hosted sidecar (empty ones omitted).
pub async fn metadata(State(state): State<Arc<SidecarState>>) -> Response {
    let components: Vec<_> = state
        .components
        .iter()
        .map(|c| json!({ "name": c.name, "type": c.component_type, "version": c.version, "capabilities": [] }))
        .collect();
    let resiliencies: Vec<_> = state
        .resiliency()
        .loaded()
        .iter()
        .map(|name| json!({ "name": name }))
        .collect();
    let mut body = json!({
        "id": state.app_id,
        "runtimeVersion": RUNTIME_VERSION,
        "components": components,
        "resiliencies": resiliencies,
        "extended": { "daprRuntimeVersion": RUNTIME_VERSION },
    });
    if let Some(port) = state.options.app_port {
        body["appConnectionProperties"] = json!({ "port": port, "protocol": "http", "channelAddress": "127.0.0.1" });
    }
    axum::Json(body).into_response()
}

/// `DAPR_API_TOKEN` enforcement as daprd does it: healthz is exempt; otherwise `dapr-api-token` must match,
/// or the answer is 401 `invalid api token` in plain text. The header is not forwarded to apps. Only the
/// public API is behind it: the hop from other sidecars is routed outside this layer (see `routes`).
pub async fn check_token(
    State(state): State<Arc<SidecarState>>,
    mut request: Request,
    next: Next,
) -> Result<Response, DaprError> {
    if let Some(expected) = &state.options.api_token {
        let exempt = matches!(request.uri().path(), "/v1.0/healthz" | "/v1.0/healthz/outbound");
        let given = request.headers().get("dapr-api-token").map(HeaderValue::as_bytes);
        if !exempt && given != Some(expected.as_bytes()) {
            return Err(DaprError::plain_text(StatusCode::UNAUTHORIZED, "invalid api token"));
        }
    }
    request.headers_mut().remove("dapr-api-token");
    Ok(next.run(request).await)
}

/// A path's parameters as axum extracts them, or why they could not be (e.g. a `%FF` that is not UTF-8).
pub type PathArgs<T> = Result<axum::extract::Path<T>, axum::extract::rejection::PathRejection>;
/// A whole request body, or why it could not be read (e.g. over `--max-body-size`).
pub type BodyArg = Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>;

/// The path's parameters, or Dapr's error shape for a path we cannot read (axum's own answer is plain text).
pub fn path_arg<T>(path: PathArgs<T>) -> Result<T, DaprError> {
    path.map(|axum::extract::Path(p)| p).map_err(|rejection| {
        let message = format!(
            "the request path cannot be read: {}; percent-encode names and keys as UTF-8",
            rejection.body_text()
        );
        DaprError::new(StatusCode::BAD_REQUEST, "ERR_MALFORMED_REQUEST", message)
    })
}

/// The body, or why not: over `--max-body-size`, daprd's answer (the state API reads its body whole through
/// `utils/nethttpadaptor/nethttpadaptor.go`, whose read of dapr/kit's LimitReadCloser fails: 400, plain text,
/// `error reading request body: stream too large`); Dapr's error shape when it cannot be read otherwise.
pub fn body_arg(body: BodyArg) -> Result<axum::body::Bytes, DaprError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            let text = format!("error reading request body: {}", super::app_channel::STREAM_TOO_LARGE);
            return DaprError::plain_text(StatusCode::BAD_REQUEST, text);
        }
        let message = format!("the request body cannot be read: {}", rejection.body_text());
        DaprError::new(status, "ERR_MALFORMED_REQUEST", message)
    })
}

/// A method the route does not serve: 405 in Dapr's error shape, naming what the route does serve.
pub async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path();
    let allowed = if path.ends_with("/transaction") {
        "POST"
    } else if path.starts_with("/v1.0/state/") && path.matches('/').count() == 3 || path.ends_with("/bulk") {
        "POST, PUT"
    } else if path.starts_with("/v1.0/state/") {
        "GET, DELETE"
    } else {
        "GET"
    };
    let message = format!("method {} is not allowed on {path}; use {allowed}", request.method());
    let error = DaprError::new(StatusCode::METHOD_NOT_ALLOWED, "ERR_MALFORMED_REQUEST", message);
    ([(header::ALLOW, HeaderValue::from_static(allowed))], error).into_response()
}
