//! Dapr's state API (`/v1.0/state/...`), each store call under the component's outbound resiliency policy
//! (operation `component[<store>] output`, breaker `<policy>-<store>`).
//!
//! As Dapr does: values are stored as the store's Go encoder writes them (`state/json.rs`: a string keeps
//! its quotes, `1.0` is `1`); a missing key reads as 204; an ETag conflict on save is not retried but counts as a breaker
//! failure (on delete it is retried); statuses 409 for an ETag mismatch, 400 for an invalid one, else 500.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{BodyArg, PathArgs, body_arg, path_arg};
use super::{DaprError, SidecarState};
use crate::resiliency::{ComponentKind, Direction, Failure};
use crate::state::{StateStore, StoreError, StoreFailure, prefixed_key};

/// A state store as the sidecar serves it.
pub struct StoreBinding {
    pub store: Arc<dyn StateStore>,
    /// The component's `keyPrefix` metadata.
    pub key_prefix: Option<String>,
}

pub type Stores = HashMap<String, StoreBinding>;

#[derive(Deserialize)]
struct SaveItem {
    key: Option<String>,
    #[serde(default)]
    value: Value,
    etag: Option<String>,
    #[serde(default)]
    options: SaveOptions,
}

#[derive(Deserialize, Default)]
struct SaveOptions {
    concurrency: Option<String>,
}

fn malformed(message: impl Into<String>) -> Response {
    DaprError::new(StatusCode::BAD_REQUEST, "ERR_MALFORMED_REQUEST", message).into_response()
}

/// The store, or Dapr's "not found" / "not configured" errors (a ready response: handlers return it as is).
#[allow(clippy::result_large_err)]
fn lookup<'a>(s: &'a SidecarState, store: &str) -> Result<&'a StoreBinding, Response> {
    if s.stores.is_empty() {
        let msg = format!("state store {store} is not configured");
        return Err(
            DaprError::new(StatusCode::INTERNAL_SERVER_ERROR, "ERR_STATE_STORE_NOT_CONFIGURED", msg).into_response(),
        );
    }
    s.stores.get(store).ok_or_else(|| {
        let body = json!({
            "errorCode": "ERR_STATE_STORE_NOT_FOUND",
            "message": format!("state store {store} is not found"),
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DAPR_STATE_NOT_FOUND",
                "domain": "dapr.io", "metadata": { "appID": s.app_id },
            }],
        });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    })
}

#[allow(clippy::result_large_err)]
fn check_key(key: &str) -> Result<(), Response> {
    if key.contains("||") {
        let body = json!({
            "errorCode": "ERR_MALFORMED_REQUEST",
            "message": format!("input key/keyPrefix '{key}' can't contain '||'"),
            "details": [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DAPR_STATE_ILLEGAL_KEY", "domain": "dapr.io" }],
        });
        return Err((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
    }
    Ok(())
}

/// The store and the prefixed key for one key of a request, or the error response.
#[allow(clippy::result_large_err)]
fn resolve<'a>(s: &'a SidecarState, store: &str, key: &str) -> Result<(&'a StoreBinding, String), Response> {
    let binding = lookup(s, store)?;
    check_key(key)?;
    Ok((
        binding,
        prefixed_key(binding.key_prefix.as_deref(), &s.app_id, store, key),
    ))
}

/// Dapr's outbound component policy for a state store (`component[<store>] output`).
fn outbound_policy(s: &SidecarState, store: &str) -> crate::resiliency::PolicyDefinition {
    s.resiliency()
        .component_policy(store, ComponentKind::Statestore, Direction::Outbound)
}

/// Maps a failed policy run to Dapr's status, code and message.
fn store_error(failure: Failure<StoreFailure>, code: &'static str, message: impl FnOnce(String) -> String) -> Response {
    let status = match &failure {
        Failure::Operation(StoreFailure {
            error: StoreError::EtagMismatch(_),
            ..
        }) => StatusCode::CONFLICT,
        Failure::Operation(StoreFailure {
            error: StoreError::EtagInvalid(_),
            ..
        }) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    DaprError::new(status, code, message(failure.to_string())).into_response()
}

/// `POST|PUT /v1.0/state/{store}`: an array of items; 204.
pub async fn save(State(s): State<Arc<SidecarState>>, path: PathArgs<String>, body: BodyArg) -> Response {
    let (store, body) = match (path_arg(path), body_arg(body, s.options.max_body_bytes)) {
        (Ok(store), Ok(body)) => (store, body),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let binding = match lookup(&s, &store) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let items: Vec<SaveItem> = match serde_json::from_slice(&body) {
        Ok(items) => items,
        Err(e) => return malformed(format!("failed to parse request body: {e}")),
    };
    let mut pending = Vec::new();
    for item in items {
        let Some(key) = item.key else {
            return malformed("failed to parse request body: a state item has no \"key\"");
        };
        if let Err(r) = check_key(&key) {
            return r;
        }
        let data = Bytes::from(crate::state::json::marshal(&item.value, binding.store.encoder()));
        let first_write = item.options.concurrency.as_deref() == Some("first-write");
        pending.push((
            prefixed_key(binding.key_prefix.as_deref(), &s.app_id, &store, &key),
            data,
            item.etag,
            first_write,
        ));
    }
    if pending.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let policy = outbound_policy(&s, &store);
    // Dapr's accumulator: after a failed attempt only the items that failed without an ETag error are retried.
    let pending = Mutex::new(pending);
    let result = policy
        .run_cancellable(&s.cancel, |_| async {
            let batch = pending.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let (mut retry, mut etag_error, mut other_error) = (Vec::new(), None, None);
            for (key, data, etag, first_write) in batch {
                match binding
                    .store
                    .set(&key, data.clone(), etag.as_deref(), first_write)
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.is_etag_error() => etag_error = Some(e),
                    Err(e) => {
                        other_error = Some(e);
                        retry.push((key, data, etag, first_write));
                    }
                }
            }
            *pending.lock().unwrap_or_else(|p| p.into_inner()) = retry;
            match (other_error, etag_error) {
                (Some(e), _) => Err(StoreFailure {
                    error: e,
                    permanent: false,
                }),
                (None, Some(e)) => Err(StoreFailure {
                    error: e,
                    permanent: true,
                }),
                (None, None) => Ok(()),
            }
        })
        .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => store_error(f, "ERR_STATE_SAVE", |e| {
            format!("failed saving state in state store {store}: {e}")
        }),
    }
}

/// `GET /v1.0/state/{store}/{key}`: 200 with the raw value and an ETag header; 204 when missing.
pub async fn get(State(s): State<Arc<SidecarState>>, path: PathArgs<(String, String)>) -> Response {
    let (store, key) = match path_arg(path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (binding, full) = match resolve(&s, &store, &key) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let policy = outbound_policy(&s, &store);
    let result = policy
        .run_cancellable(&s.cancel, |_| async {
            binding.store.get(&full).await.map_err(|error| StoreFailure {
                error,
                permanent: false,
            })
        })
        .await;
    match result {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(item)) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Ok(etag) = HeaderValue::from_str(&item.etag) {
                headers.insert(header::ETAG, etag);
            }
            (StatusCode::OK, headers, item.data).into_response()
        }
        Err(f) => store_error(f, "ERR_STATE_GET", |e| {
            format!("fail to get {key} from state store {store}: {e}")
        }),
    }
}

/// `DELETE /v1.0/state/{store}/{key}` with an optional `If-Match` ETag; 204.
pub async fn delete(
    State(s): State<Arc<SidecarState>>,
    path: PathArgs<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (store, key) = match path_arg(path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (binding, full) = match resolve(&s, &store, &key) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let etag = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let policy = outbound_policy(&s, &store);
    let result = policy
        .run_cancellable(&s.cancel, |_| async {
            // Unlike a save, Dapr retries an ETag conflict on delete.
            binding
                .store
                .delete(&full, etag.as_deref())
                .await
                .map_err(|error| StoreFailure {
                    error,
                    permanent: false,
                })
        })
        .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => store_error(f, "ERR_STATE_DELETE", |e| {
            format!("failed deleting state with key {key}: {e}")
        }),
    }
}

#[derive(Deserialize)]
struct BulkRequest {
    keys: Vec<String>,
}

/// `POST|PUT /v1.0/state/{store}/bulk`: 200 with `[{key, data, etag}]`, `{key}` for a missing key, `{key,
/// error}` for a failure. As daprd does for stores without a native bulk get (Redis uses components-contrib's
/// `DefaultBulkStore`, whose `DoBulkGet` never fails): one policy call around the whole bulk get, which
/// therefore succeeds even with the store down (no retries, the breaker counts a success) while each item
/// carries its own error; a key with `||` fails the whole request (400).
pub async fn bulk_get(State(s): State<Arc<SidecarState>>, path: PathArgs<String>, body: BodyArg) -> Response {
    let (store, body) = match (path_arg(path), body_arg(body, s.options.max_body_bytes)) {
        (Ok(store), Ok(body)) => (store, body),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let binding = match lookup(&s, &store) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request: BulkRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return malformed(format!("failed to parse request body: {e}")),
    };
    for key in &request.keys {
        if let Err(r) = check_key(key) {
            return r;
        }
    }
    let policy = outbound_policy(&s, &store);
    let result = policy
        .run_cancellable(&s.cancel, |_| async {
            let mut items = Vec::new();
            for key in &request.keys {
                let full = prefixed_key(binding.key_prefix.as_deref(), &s.app_id, &store, key);
                items.push(match binding.store.get(&full).await {
                    Ok(Some(item)) => {
                        let data: Value = serde_json::from_slice(&item.data)
                            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&item.data).into_owned()));
                        json!({ "key": key, "data": data, "etag": item.etag })
                    }
                    Ok(None) => json!({ "key": key }),
                    Err(error) => json!({ "key": key, "error": error.to_string() }),
                });
            }
            Ok::<_, StoreFailure>(items)
        })
        .await;
    match result {
        Ok(items) => (StatusCode::OK, axum::Json(Value::Array(items))).into_response(),
        Err(f) => store_error(f, "ERR_STATE_BULK_GET", |e| {
            format!("failed getting state in bulk: {e}")
        }),
    }
}

#[derive(Deserialize)]
struct TransactionRequest {
    operations: Vec<TransactionOperation>,
}

#[derive(Deserialize)]
struct TransactionOperation {
    operation: String,
    request: SaveItem,
}

/// `POST /v1.0/state/{store}/transaction`: upserts and deletes applied in order under one policy run; 204.
/// (Applied one by one: the in-memory and Redis stores here do not offer Dapr's multi-key atomicity.) As in
/// daprd (`pkg/api/http/http.go onPostStateTransaction`), any error of the store's `Multi`, an ETag error
/// included, is a plain error: retried by the policy, and answered 500 `ERR_STATE_TRANSACTION`.
pub async fn transaction(State(s): State<Arc<SidecarState>>, path: PathArgs<String>, body: BodyArg) -> Response {
    let (store, body) = match (path_arg(path), body_arg(body, s.options.max_body_bytes)) {
        (Ok(store), Ok(body)) => (store, body),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let binding = match lookup(&s, &store) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request: TransactionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return malformed(format!("failed to parse request body: {e}")),
    };
    let mut steps = Vec::new();
    for op in request.operations {
        let Some(key) = op.request.key else {
            return malformed("a transaction request has no \"key\"");
        };
        if let Err(r) = check_key(&key) {
            return r;
        }
        let full = prefixed_key(binding.key_prefix.as_deref(), &s.app_id, &store, &key);
        let data = Bytes::from(crate::state::json::marshal(&op.request.value, binding.store.encoder()));
        match op.operation.as_str() {
            "upsert" | "delete" => steps.push((op.operation, full, data, op.request.etag)),
            other => return malformed(format!("operation type {other} not supported; use upsert or delete")),
        }
    }
    let policy = outbound_policy(&s, &store);
    let result: Result<(), Failure<StoreFailure>> = policy
        .run_cancellable(&s.cancel, |_| async {
            for (operation, key, data, etag) in &steps {
                let done = match operation.as_str() {
                    "upsert" => binding.store.set(key, data.clone(), etag.as_deref(), false).await,
                    _ => binding.store.delete(key, etag.as_deref()).await,
                };
                done.map_err(|error| StoreFailure {
                    permanent: false,
                    error,
                })?;
            }
            Ok(())
        })
        .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => {
            let message = format!("error while executing state transaction: {f}");
            DaprError::new(StatusCode::INTERNAL_SERVER_ERROR, "ERR_STATE_TRANSACTION", message).into_response()
        }
    }
}
