//! Which app and method a service invocation names, as daprd finds them (`pkg/api/http/directmessaging.go`
//! `findTargetIDAndMethod`): the `dapr-app-id` header first, then Basic auth, then the `/v1.0/invoke/<id>/
//! method/<method>` path. The header or Basic auth win even on an invoke path.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;

use super::api::{PathArgs, path_arg};
use super::invoke::{ERR_DIRECT_INVOKE, invoke};
use super::{DaprError, SidecarState};

/// `ANY /v1.0/invoke/{appId}/method/{method...}`. As in daprd (`directmessaging.go findTargetIDAndMethod`),
/// a `dapr-app-id` header or Basic auth still wins here: then the whole request path is the method.
pub async fn by_path(
    State(state): State<Arc<SidecarState>>,
    path: PathArgs<(String, String)>,
    mut request: Request,
) -> Result<Response, DaprError> {
    if let Some((app_id, method)) = target_from_headers(&mut request) {
        return invoke(state, app_id, method, request).await;
    }
    let (app_id, method) = path_arg(path)?;
    let app_id = percent_encoding::percent_decode_str(&app_id)
        .decode_utf8_lossy()
        .into_owned();
    invoke(state, app_id, clean_path(&method), request).await
}

/// Any other path: service invocation when the target is named by header, else Dapr's "no app id" error.
pub async fn by_header(State(state): State<Arc<SidecarState>>, mut request: Request) -> Result<Response, DaprError> {
    let Some((app_id, method)) = target_from_headers(&mut request) else {
        let msg = "failed getting app id either from the URL path or the header dapr-app-id";
        return Err(DaprError::new(StatusCode::NOT_FOUND, ERR_DIRECT_INVOKE, msg));
    };
    invoke(state, app_id, method, request).await
}

/// The target named by the `dapr-app-id` header (removed: it is the Dapr API's, not the app's) or by Basic
/// auth (kept, as daprd keeps it), with the request path, cleaned, as the method.
fn target_from_headers(request: &mut Request) -> Option<(String, String)> {
    let headers = request.headers_mut();
    const APP_ID: HeaderName = HeaderName::from_static("dapr-app-id");
    let from_header = headers
        .remove(APP_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|id| !id.is_empty());
    let app_id = from_header.or_else(|| basic_auth_app_id(headers))?;
    Some((app_id, clean_keeping_slash(request.uri().path())))
}

/// `Authorization: Basic base64("dapr-app-id:<id>")`; the user name is compared ignoring case (`EqualFold`),
/// and there must be exactly one `:`.
fn basic_auth_app_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    match text.split(':').collect::<Vec<_>>()[..] {
        [user, id] if user.eq_ignore_ascii_case("dapr-app-id") => Some(id.to_string()),
        _ => None,
    }
}

/// daprd's `cleanPath` for header and Basic forms: `path.Clean`, keeping a trailing slash, without the
/// leading one (`/orders/` is the method `orders/`, so its breaker is `<app>:orders/`).
fn clean_keeping_slash(path: &str) -> String {
    let cleaned = clean_path(path);
    if path.ends_with('/') && !cleaned.is_empty() {
        cleaned + "/"
    } else {
        cleaned
    }
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
