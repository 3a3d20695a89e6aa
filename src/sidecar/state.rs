//! Dapr's state API over HTTP (`/v1.0/state/...`): the requests read, handed to the transport-free core
//! (`state_core.rs`, which runs each store call under the component's outbound policy), and its answers and
//! errors worded as daprd's HTTP API words them.
//!
//! As Dapr does: values are stored as the store's Go encoder writes them (`state/json.rs`: a string keeps
//! its quotes, `1.0` is `1`); a missing key reads as 204; statuses 409 for an ETag mismatch, 400 for an
//! invalid one, else 500.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::api::{PathArgs, body_arg, path_arg};
use super::state_core::{self as core, DeleteItem, SaveItem, StateError, StateOp, TransactionOp};
use super::{DaprError, SidecarState};
use crate::state::StoreError;
use crate::state::json::GoEncoder;

#[derive(Deserialize)]
pub(super) struct SaveRequestItem {
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

fn malformed(message: impl Into<String>) -> DaprError {
    DaprError::new(StatusCode::BAD_REQUEST, "ERR_MALFORMED_REQUEST", message)
}

/// What the state calls with a body share before their own work: the store named in the path, served here
/// (and how it encodes values), and the body read whole and parsed as `T`. Each failure is daprd's answer, in
/// the order daprd finds them: the path, the body, the store, then the JSON.
pub(super) struct StoreBody<T> {
    store: String,
    encoder: GoEncoder,
    request: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<SidecarState>> for StoreBody<T> {
    type Rejection = DaprError;

    async fn from_request(request: Request, s: &Arc<SidecarState>) -> Result<Self, DaprError> {
        let (mut parts, body) = request.into_parts();
        let path = Path::<String>::from_request_parts(&mut parts, s).await;
        let body = Bytes::from_request(Request::from_parts(parts, body), s).await;
        let (store, body) = (path_arg(path)?, body_arg(body)?);
        let encoder = core::lookup(s, &store).map_err(api_error)?.store.encoder();
        let request =
            serde_json::from_slice(&body).map_err(|e| malformed(format!("failed to parse request body: {e}")))?;
        Ok(Self {
            store,
            encoder,
            request,
        })
    }
}

/// A google.rpc.ErrorInfo detail as dapr/kit writes it in JSON.
fn error_info(reason: &str, metadata: Value) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason, "domain": "dapr.io", "metadata": metadata,
    })
}

/// daprd's HTTP answer to a failed state call.
fn api_error(error: StateError) -> DaprError {
    let message = error.message();
    match &error {
        StateError::NotConfigured { app_id, .. } => {
            let details = vec![error_info("DAPR_STATE_NOT_CONFIGURED", json!({ "appID": app_id }))];
            let code = "ERR_STATE_STORE_NOT_CONFIGURED";
            DaprError::new(StatusCode::INTERNAL_SERVER_ERROR, code, message).with_details(details)
        }
        StateError::NotFound { app_id, .. } => {
            let details = vec![error_info("DAPR_STATE_NOT_FOUND", json!({ "appID": app_id }))];
            DaprError::new(StatusCode::BAD_REQUEST, "ERR_STATE_STORE_NOT_FOUND", message).with_details(details)
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
            malformed(message).with_details(details)
        }
        // `pkg/api/http/http.go onPostStateTransaction`.
        StateError::UnsupportedOperation(_) => {
            DaprError::new(StatusCode::BAD_REQUEST, "ERR_NOT_SUPPORTED_STATE_OPERATION", message)
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
            DaprError::new(status, code, message)
        }
    }
}

/// `POST|PUT /v1.0/state/{store}`: an array of items; 204.
pub(super) async fn save(
    State(s): State<Arc<SidecarState>>,
    StoreBody {
        store,
        encoder,
        request,
    }: StoreBody<Vec<SaveRequestItem>>,
) -> Result<Response, DaprError> {
    let mut items = Vec::with_capacity(request.len());
    for item in request {
        // `pkg/api/http/http.go onPostState`: a missing key and an empty one are the same.
        let Some(key) = item.key.filter(|k| !k.is_empty()) else {
            return Err(malformed(r#""key" is a required field"#));
        };
        core::check_key(&store, &key).map_err(api_error)?;
        let data = Bytes::from(crate::state::json::marshal(&item.value, encoder));
        items.push(SaveItem::new(key, data, item.etag, item.options.concurrency.as_deref()));
    }
    core::save(&s, &store, items).await.map_err(api_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1.0/state/{store}/{key}`: 200 with the raw value and an ETag header; 204 when missing.
pub(super) async fn get(
    State(s): State<Arc<SidecarState>>,
    path: PathArgs<(String, String)>,
) -> Result<Response, DaprError> {
    let (store, key) = path_arg(path)?;
    let Some(item) = core::get(&s, &store, &key).await.map_err(api_error)? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(etag) = HeaderValue::from_str(&item.etag) {
        headers.insert(header::ETAG, etag);
    }
    Ok((StatusCode::OK, headers, item.data).into_response())
}

/// `DELETE /v1.0/state/{store}/{key}` with an optional `If-Match` ETag; 204.
pub(super) async fn delete(
    State(s): State<Arc<SidecarState>>,
    path: PathArgs<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, DaprError> {
    let (store, key) = path_arg(path)?;
    let etag = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    core::delete(&s, &store, &key, etag).await.map_err(api_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub(super) struct BulkRequest {
    keys: Vec<String>,
}

/// `POST|PUT /v1.0/state/{store}/bulk`: 200 with `[{key, data, etag}]`, `{key}` for a missing key, `{key,
/// error}` for a failure; a key with `||` fails the whole request (400).
pub(super) async fn bulk_get(
    State(s): State<Arc<SidecarState>>,
    body: StoreBody<BulkRequest>,
) -> Result<Response, DaprError> {
    let items = core::bulk_get(&s, &body.store, body.request.keys)
        .await
        .map_err(api_error)?;
    let items: Vec<Value> = items.into_iter().map(bulk_item_json).collect();
    Ok((StatusCode::OK, axum::Json(Value::Array(items))).into_response())
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
pub(super) struct TransactionRequest {
    operations: Vec<TransactionOperation>,
}

#[derive(Deserialize)]
struct TransactionOperation {
    operation: String,
    request: SaveRequestItem,
}

/// `POST /v1.0/state/{store}/transaction`: upserts and deletes applied in order under one policy run; 204.
pub(super) async fn transaction(
    State(s): State<Arc<SidecarState>>,
    StoreBody {
        store,
        encoder,
        request,
    }: StoreBody<TransactionRequest>,
) -> Result<Response, DaprError> {
    if request.operations.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // `pkg/api/http/http.go onPostStateTransaction`: the operation is read first; daprd does not require a
    // key here (an empty one is stored as `<app-id>||`).
    let mut ops = Vec::with_capacity(request.operations.len());
    for op in request.operations {
        if !matches!(op.operation.as_str(), "upsert" | "delete") {
            return Err(api_error(StateError::UnsupportedOperation(op.operation)));
        }
        let key = op.request.key.unwrap_or_default();
        core::check_key(&store, &key).map_err(api_error)?;
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
    core::transaction(&s, &store, ops).await.map_err(api_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
