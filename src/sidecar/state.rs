//! Dapr's state API over HTTP (`/v1.0/state/...`): the requests read, handed to the transport-free core
//! (`state_core.rs`, which runs each store call under the component's outbound policy), and its answers and
//! errors worded as daprd's HTTP API words them.
//!
//! As Dapr does: values are stored as the store's Go encoder writes them (`state/json.rs`: a string keeps
//! its quotes, `1.0` is `1`); a missing key reads as 204; statuses 409 for an ETag mismatch, 400 for an
//! invalid one, else 500.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{BodyArg, PathArgs, body_arg, path_arg};
use super::state_core::{self as core, DeleteItem, SaveItem, StateError, StateOp, TransactionOp};
use super::{DaprError, SidecarState};
use crate::state::StoreError;

#[derive(Deserialize)]
struct SaveRequestItem {
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

/// A google.rpc.ErrorInfo detail as dapr/kit writes it in JSON.
fn error_info(reason: &str, metadata: Value) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason, "domain": "dapr.io", "metadata": metadata,
    })
}

fn with_details(status: StatusCode, code: &str, message: String, details: Vec<Value>) -> Response {
    let body = json!({ "errorCode": code, "message": message, "details": details });
    (status, axum::Json(body)).into_response()
}

/// daprd's HTTP answer to a failed state call.
fn error_response(error: StateError) -> Response {
    let message = error.message();
    match &error {
        StateError::NotConfigured { app_id, .. } => {
            let details = vec![error_info("DAPR_STATE_NOT_CONFIGURED", json!({ "appID": app_id }))];
            with_details(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ERR_STATE_STORE_NOT_CONFIGURED",
                message,
                details,
            )
        }
        StateError::NotFound { app_id, .. } => {
            let details = vec![error_info("DAPR_STATE_NOT_FOUND", json!({ "appID": app_id }))];
            with_details(StatusCode::BAD_REQUEST, "ERR_STATE_STORE_NOT_FOUND", message, details)
        }
        StateError::IllegalKey { store, key } => {
            // `pkg/api/errors/state.go InvalidKeyName`: a field violation, the store as a resource, then the
            // reason (dapr/kit `errors.go JSONErrorValue` names their fields).
            let details = vec![
                json!({
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "field_violations": [{ "field": key, "description": message }],
                }),
                json!({
                    "@type": "type.googleapis.com/google.rpc.ResourceInfo",
                    "resource_type": "state", "resource_name": store, "owner": "", "description": "",
                }),
                error_info("DAPR_STATE_ILLEGAL_KEY", Value::Null),
            ];
            with_details(StatusCode::BAD_REQUEST, "ERR_MALFORMED_REQUEST", message, details)
        }
        // `pkg/api/http/http.go onPostStateTransaction`.
        StateError::UnsupportedOperation(_) => {
            DaprError::new(StatusCode::BAD_REQUEST, "ERR_NOT_SUPPORTED_STATE_OPERATION", message).into_response()
        }
        StateError::Store { op, .. } => {
            // As daprd's `onPostStateTransaction`: any error of the store's `Multi` is a plain 500.
            let status = match (op, error.store_error()) {
                (StateOp::Transaction, _) => StatusCode::INTERNAL_SERVER_ERROR,
                (_, Some(StoreError::EtagMismatch(_))) => StatusCode::CONFLICT,
                (_, Some(StoreError::EtagInvalid(_))) => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let code = match op {
                StateOp::Get { .. } => "ERR_STATE_GET",
                StateOp::Save => "ERR_STATE_SAVE",
                StateOp::Delete { .. } | StateOp::DeleteBulk => "ERR_STATE_DELETE",
                StateOp::BulkGet => "ERR_STATE_BULK_GET",
                StateOp::Transaction => "ERR_STATE_TRANSACTION",
            };
            DaprError::new(status, code, message).into_response()
        }
    }
}

/// `POST|PUT /v1.0/state/{store}`: an array of items; 204.
pub async fn save(State(s): State<Arc<SidecarState>>, path: PathArgs<String>, body: BodyArg) -> Response {
    let (store, body) = match (path_arg(path), body_arg(body)) {
        (Ok(store), Ok(body)) => (store, body),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let encoder = match core::lookup(&s, &store) {
        Ok(b) => b.store.encoder(),
        Err(e) => return error_response(e),
    };
    let request: Vec<SaveRequestItem> = match serde_json::from_slice(&body) {
        Ok(items) => items,
        Err(e) => return malformed(format!("failed to parse request body: {e}")),
    };
    let mut items = Vec::with_capacity(request.len());
    for item in request {
        // `pkg/api/http/http.go onPostState`: a missing key and an empty one are the same.
        let Some(key) = item.key.filter(|k| !k.is_empty()) else {
            return malformed(r#""key" is a required field"#);
        };
        if let Err(e) = core::check_key(&store, &key) {
            return error_response(e);
        }
        let data = Bytes::from(crate::state::json::marshal(&item.value, encoder));
        items.push(SaveItem::new(key, data, item.etag, item.options.concurrency.as_deref()));
    }
    match core::save(&s, &store, items).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(e),
    }
}

/// `GET /v1.0/state/{store}/{key}`: 200 with the raw value and an ETag header; 204 when missing.
pub async fn get(State(s): State<Arc<SidecarState>>, path: PathArgs<(String, String)>) -> Response {
    let (store, key) = match path_arg(path) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match core::get(&s, &store, &key).await {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(item)) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Ok(etag) = HeaderValue::from_str(&item.etag) {
                headers.insert(header::ETAG, etag);
            }
            (StatusCode::OK, headers, item.data).into_response()
        }
        Err(e) => error_response(e),
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
    let etag = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    match core::delete(&s, &store, &key, etag).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(e),
    }
}

#[derive(Deserialize)]
struct BulkRequest {
    keys: Vec<String>,
}

/// `POST|PUT /v1.0/state/{store}/bulk`: 200 with `[{key, data, etag}]`, `{key}` for a missing key, `{key,
/// error}` for a failure; a key with `||` fails the whole request (400).
pub async fn bulk_get(State(s): State<Arc<SidecarState>>, path: PathArgs<String>, body: BodyArg) -> Response {
    let (store, body) = match (path_arg(path), body_arg(body)) {
        (Ok(store), Ok(body)) => (store, body),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    if let Err(e) = core::lookup(&s, &store) {
        return error_response(e);
    }
    let request: BulkRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return malformed(format!("failed to parse request body: {e}")),
    };
    match core::bulk_get(&s, &store, request.keys).await {
        Ok(items) => {
            let items: Vec<Value> = items.into_iter().map(bulk_item_json).collect();
            (StatusCode::OK, axum::Json(Value::Array(items))).into_response()
        }
        Err(e) => error_response(e),
    }
}

fn bulk_item_json(item: core::BulkItem) -> Value {
    match item.found {
        Ok(Some(found)) => {
            let data: Value = serde_json::from_slice(&found.data)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&found.data).into_owned()));
            json!({ "key": item.key, "data": data, "etag": found.etag })
        }
        Ok(None) => json!({ "key": item.key }),
        Err(error) => json!({ "key": item.key, "error": error }),
    }
}

#[derive(Deserialize)]
struct TransactionRequest {
    operations: Vec<TransactionOperation>,
}

#[derive(Deserialize)]
struct TransactionOperation {
    operation: String,
    request: SaveRequestItem,
}

/// `POST /v1.0/state/{store}/transaction`: upserts and deletes applied in order under one policy run; 204.
pub async fn transaction(State(s): State<Arc<SidecarState>>, path: PathArgs<String>, body: BodyArg) -> Response {
    let (store, body) = match (path_arg(path), body_arg(body)) {
        (Ok(store), Ok(body)) => (store, body),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let encoder = match core::lookup(&s, &store) {
        Ok(b) => b.store.encoder(),
        Err(e) => return error_response(e),
    };
    let request: TransactionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return malformed(format!("failed to parse request body: {e}")),
    };
    if request.operations.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    // `pkg/api/http/http.go onPostStateTransaction`: the operation is read first; daprd does not require a
    // key here (an empty one is stored as `<app-id>||`).
    let mut ops = Vec::with_capacity(request.operations.len());
    for op in request.operations {
        if !matches!(op.operation.as_str(), "upsert" | "delete") {
            return error_response(StateError::UnsupportedOperation(op.operation));
        }
        let key = op.request.key.unwrap_or_default();
        if let Err(e) = core::check_key(&store, &key) {
            return error_response(e);
        }
        let etag = op.request.etag;
        ops.push(if op.operation == "upsert" {
            let data = Bytes::from(crate::state::json::marshal(&op.request.value, encoder));
            TransactionOp::Upsert(SaveItem::new(
                key,
                data,
                etag,
                op.request.options.concurrency.as_deref(),
            ))
        } else {
            TransactionOp::Delete(DeleteItem { key, etag })
        });
    }
    match core::transaction(&s, &store, ops).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(e),
    }
}
