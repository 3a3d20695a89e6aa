//! The state methods of `dapr.proto.runtime.v1.Dapr`, each a thin reading of its request handed to the same
//! core as the HTTP API (`state_core.rs`). Values are stored as the bytes sent (daprd's gRPC API does not
//! re-encode them unless `contentType` is `application/json`).

use bytes::Bytes;
use dapr::dapr::proto::common::v1::{StateItem, state_options::StateConcurrency};
use dapr::dapr::proto::runtime::v1 as pb;
use tonic::{Request, Response, Status};

use super::status;
use crate::sidecar::SidecarState;
use crate::sidecar::state_core::{self as core, DeleteItem, SaveItem, StateError, TransactionOp};

type Reply<T> = Result<Response<T>, Status>;

fn err(e: StateError) -> Status {
    status::state(&e)
}

/// The item's `concurrency` as the HTTP API spells it.
fn concurrency(item: &StateItem) -> Option<&'static str> {
    let concurrency = item.options.as_ref()?.concurrency;
    if concurrency == StateConcurrency::ConcurrencyFirstWrite as i32 {
        Some("first-write")
    } else if concurrency == StateConcurrency::ConcurrencyLastWrite as i32 {
        Some("last-write")
    } else {
        None
    }
}

fn save_item(item: StateItem) -> SaveItem {
    let concurrency = concurrency(&item);
    SaveItem::new(
        item.key,
        Bytes::from(item.value),
        item.etag.map(|e| e.value),
        concurrency,
    )
}

pub async fn get_state(s: &SidecarState, request: Request<pb::GetStateRequest>) -> Reply<pb::GetStateResponse> {
    let r = request.into_inner();
    let found = core::get(s, &r.store_name, &r.key).await.map_err(err)?;
    let mut response = pb::GetStateResponse::default();
    if let Some(item) = found {
        response.data = item.data.to_vec();
        response.etag = item.etag;
    }
    Ok(Response::new(response))
}

pub async fn get_bulk_state(
    s: &SidecarState,
    request: Request<pb::GetBulkStateRequest>,
) -> Reply<pb::GetBulkStateResponse> {
    let r = request.into_inner();
    core::lookup(s, &r.store_name).map_err(err)?;
    if r.keys.is_empty() {
        return Ok(Response::new(pb::GetBulkStateResponse::default()));
    }
    let items = core::bulk_get(s, &r.store_name, r.keys).await.map_err(err)?;
    let items = items
        .into_iter()
        .map(|item| {
            let mut out = pb::BulkStateItem {
                key: item.key,
                ..Default::default()
            };
            match item.found {
                Ok(Some(found)) => {
                    out.data = found.data.to_vec();
                    out.etag = found.etag;
                }
                Ok(None) => {}
                Err(e) => out.error = e,
            }
            out
        })
        .collect();
    Ok(Response::new(pb::GetBulkStateResponse { items }))
}

pub async fn save_state(s: &SidecarState, request: Request<pb::SaveStateRequest>) -> Reply<()> {
    let r = request.into_inner();
    core::lookup(s, &r.store_name).map_err(err)?;
    if r.states.iter().any(|item| item.key.is_empty()) {
        return Err(Status::invalid_argument("state key cannot be empty"));
    }
    let items = r.states.into_iter().map(save_item).collect();
    core::save(s, &r.store_name, items).await.map_err(err)?;
    Ok(Response::new(()))
}

pub async fn delete_state(s: &SidecarState, request: Request<pb::DeleteStateRequest>) -> Reply<()> {
    let r = request.into_inner();
    let etag = r.etag.map(|e| e.value);
    core::delete(s, &r.store_name, &r.key, etag.as_deref())
        .await
        .map_err(err)?;
    Ok(Response::new(()))
}

pub async fn delete_bulk_state(s: &SidecarState, request: Request<pb::DeleteBulkStateRequest>) -> Reply<()> {
    let r = request.into_inner();
    let items = r
        .states
        .into_iter()
        .map(|item| DeleteItem {
            key: item.key,
            etag: item.etag.map(|e| e.value),
        })
        .collect();
    core::delete_bulk(s, &r.store_name, items).await.map_err(err)?;
    Ok(Response::new(()))
}

pub async fn execute_state_transaction(
    s: &SidecarState,
    request: Request<pb::ExecuteStateTransactionRequest>,
) -> Reply<()> {
    let r = request.into_inner();
    core::lookup(s, &r.store_name).map_err(err)?;
    let mut ops = Vec::with_capacity(r.operations.len());
    for op in r.operations {
        let item = op.request.unwrap_or_default();
        ops.push(match op.operation_type.as_str() {
            "upsert" => TransactionOp::Upsert(save_item(item)),
            "delete" => TransactionOp::Delete(DeleteItem {
                key: item.key,
                etag: item.etag.map(|e| e.value),
            }),
            other => return Err(err(StateError::UnsupportedOperation(other.to_string()))),
        });
    }
    core::transaction(s, &r.store_name, ops).await.map_err(err)?;
    Ok(Response::new(()))
}
