//! The state API's core, shared by both transports (`state.rs` over HTTP, `grpc/state.rs` over gRPC): each
//! store call under the component's outbound resiliency policy (operation `component[<store>] output`,
//! breaker `<policy>-<store>`), with typed results and a typed [`StateError`] each transport words as daprd
//! does. Values arrive as the bytes to store: the HTTP API marshals its JSON first, gRPC stores them as sent.
//!
//! As daprd (`pkg/api/grpc/grpc.go`, `pkg/components/state/bulk.go PerformBulkStoreOperation`): an ETag error
//! on a save (or a bulk delete) is not retried but counts as a breaker failure; on a single delete it is
//! retried; a transaction's store error, ETag ones included, is a plain error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::SidecarState;
use crate::resiliency::{ComponentKind, Direction, Failure, PolicyDefinition};
use crate::state::{Item, StateStore, StoreError, StoreFailure, Write, prefixed_key};

/// A state store as the sidecar serves it.
pub struct StoreBinding {
    pub store: Arc<dyn StateStore>,
    /// The component's `keyPrefix` metadata.
    pub key_prefix: Option<String>,
}

pub type Stores = HashMap<String, StoreBinding>;

/// Which call failed in the store, for daprd's message and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateOp {
    Get { key: String },
    Save,
    Delete { key: String },
    DeleteBulk,
    BulkGet,
    Transaction,
}

/// Why a state call failed, before any transport words it.
#[derive(Debug)]
pub enum StateError {
    /// The sidecar serves no state store at all (daprd's `NotConfigured`).
    NotConfigured { store: String, app_id: String },
    /// No state store has that name (daprd's `NotFound`).
    NotFound { store: String, app_id: String },
    /// A key with `||`, which Dapr's key prefixing reserves.
    IllegalKey { store: String, key: String },
    /// A transaction operation that is neither `upsert` nor `delete`.
    UnsupportedOperation(String),
    /// The store call failed under its policy (retries ended, the breaker is open, a timeout).
    Store {
        store: String,
        op: StateOp,
        failure: Failure<StoreFailure>,
    },
}

impl StateError {
    /// daprd's message (`pkg/messages`, `pkg/api/errors/state.go`), the same over HTTP and gRPC.
    pub fn message(&self) -> String {
        match self {
            StateError::NotConfigured { store, .. } => format!("state store {store} is not configured"),
            StateError::NotFound { store, .. } => format!("state store {store} is not found"),
            StateError::IllegalKey { key, .. } => format!("input key/keyPrefix '{key}' can't contain '||'"),
            StateError::UnsupportedOperation(op) => format!("operation type {op} not supported"),
            StateError::Store { store, op, failure } => match op {
                StateOp::Get { key } => format!("fail to get {key} from state store {store}: {failure}"),
                StateOp::Save => format!("failed saving state in state store {store}: {failure}"),
                StateOp::Delete { key } => format!("failed deleting state with key {key}: {failure}"),
                StateOp::DeleteBulk => format!("failed deleting state in state store {store}: {failure}"),
                StateOp::BulkGet => format!("failed getting state in bulk: {failure}"),
                StateOp::Transaction => format!("error while executing state transaction: {failure}"),
            },
        }
    }

    /// The store's own error behind a failed call, when the store answered (not a breaker or a timeout).
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            StateError::Store {
                failure: Failure::Operation(f),
                ..
            } => Some(&f.error),
            _ => None,
        }
    }
}

/// One item to save: the prefixed key is made here.
#[derive(Debug, Clone)]
pub struct SaveItem {
    pub key: String,
    pub data: Bytes,
    pub etag: Option<String>,
    /// `concurrency: first-write`.
    pub first_write: bool,
}

impl SaveItem {
    /// An item as the caller sent it; `concurrency: last-write` drops its ETag, as contrib's Redis store
    /// (`state/redis/redis.go parseETag`) writes version "0" (any) whatever ETag came with it.
    pub fn new(key: String, data: Bytes, etag: Option<String>, concurrency: Option<&str>) -> Self {
        let last_write = concurrency == Some("last-write");
        SaveItem {
            key,
            data,
            etag: etag.filter(|_| !last_write),
            first_write: concurrency == Some("first-write"),
        }
    }
}

/// One item to delete in bulk.
#[derive(Debug, Clone)]
pub struct DeleteItem {
    pub key: String,
    pub etag: Option<String>,
}

/// One operation of a transaction, applied in order.
#[derive(Debug, Clone)]
pub enum TransactionOp {
    Upsert(SaveItem),
    Delete(DeleteItem),
}

/// One key of a bulk get: its value, missing, or the store's error for that key alone.
#[derive(Debug, Clone)]
pub struct BulkItem {
    pub key: String,
    pub found: Result<Option<Item>, String>,
}

/// The store, or daprd's "not configured" / "not found".
pub fn lookup<'a>(s: &'a SidecarState, store: &str) -> Result<&'a StoreBinding, StateError> {
    if s.stores.is_empty() {
        return Err(StateError::NotConfigured {
            store: store.to_string(),
            app_id: s.app_id.clone(),
        });
    }
    s.stores.get(store).ok_or_else(|| StateError::NotFound {
        store: store.to_string(),
        app_id: s.app_id.clone(),
    })
}

/// `||` is reserved by key prefixing (`GetModifiedStateKey`).
pub fn check_key(store: &str, key: &str) -> Result<(), StateError> {
    if key.contains("||") {
        return Err(StateError::IllegalKey {
            store: store.to_string(),
            key: key.to_string(),
        });
    }
    Ok(())
}

/// The store, and the key as stored, for one key.
fn resolve<'a>(s: &'a SidecarState, store: &str, key: &str) -> Result<(&'a StoreBinding, String), StateError> {
    let binding = lookup(s, store)?;
    check_key(store, key)?;
    Ok((binding, full_key(s, binding, store, key)))
}

fn full_key(s: &SidecarState, binding: &StoreBinding, store: &str, key: &str) -> String {
    prefixed_key(binding.key_prefix.as_deref(), &s.app_id, store, key)
}

/// Dapr's outbound component policy for a state store (`component[<store>] output`).
fn outbound_policy(s: &SidecarState, store: &str) -> PolicyDefinition {
    s.resiliency()
        .component_policy(store, ComponentKind::Statestore, Direction::Outbound)
}

fn failed(store: &str, op: StateOp) -> impl FnOnce(Failure<StoreFailure>) -> StateError + '_ {
    move |failure| StateError::Store {
        store: store.to_string(),
        op,
        failure,
    }
}

fn retryable(error: StoreError) -> StoreFailure {
    StoreFailure {
        error,
        permanent: false,
    }
}

/// The value and ETag of `key`, or `None` when it is missing.
pub async fn get(s: &SidecarState, store: &str, key: &str) -> Result<Option<Item>, StateError> {
    let (binding, full) = resolve(s, store, key)?;
    outbound_policy(s, store)
        .run_cancellable(&s.calls(), |_| async {
            binding.store.get(&full).await.map_err(retryable)
        })
        .await
        .map_err(failed(store, StateOp::Get { key: key.to_string() }))
}

/// Saves every item (none: nothing is called).
pub async fn save(s: &SidecarState, store: &str, items: Vec<SaveItem>) -> Result<(), StateError> {
    let writes = items.into_iter().map(TransactionOp::Upsert).collect();
    write_all(s, store, writes, StateOp::Save).await
}

/// Deletes `key`; with `etag`, only when it is the current one. Unlike a save, an ETag conflict is retried.
pub async fn delete(s: &SidecarState, store: &str, key: &str, etag: Option<&str>) -> Result<(), StateError> {
    let (binding, full) = resolve(s, store, key)?;
    outbound_policy(s, store)
        .run_cancellable(&s.calls(), |_| async {
            binding.store.delete(&full, etag).await.map_err(retryable)
        })
        .await
        .map_err(failed(store, StateOp::Delete { key: key.to_string() }))
}

/// Deletes every item, as a bulk save writes (gRPC's `DeleteBulkState`).
pub async fn delete_bulk(s: &SidecarState, store: &str, items: Vec<DeleteItem>) -> Result<(), StateError> {
    let writes = items.into_iter().map(TransactionOp::Delete).collect();
    write_all(s, store, writes, StateOp::DeleteBulk).await
}

/// Saves or deletes many keys under one policy run. Dapr's accumulator: after a failed attempt only the
/// writes that failed without an ETag error are tried again; an ETag error alone ends the run (permanent).
async fn write_all(s: &SidecarState, store: &str, writes: Vec<TransactionOp>, op: StateOp) -> Result<(), StateError> {
    let binding = lookup(s, store)?;
    let mut pending = Vec::with_capacity(writes.len());
    for write in writes {
        let (key, full) = match &write {
            TransactionOp::Upsert(item) => (&item.key, full_key(s, binding, store, &item.key)),
            TransactionOp::Delete(item) => (&item.key, full_key(s, binding, store, &item.key)),
        };
        check_key(store, key)?;
        pending.push((full, write));
    }
    if pending.is_empty() {
        return Ok(());
    }
    let pending = Mutex::new(pending);
    outbound_policy(s, store)
        .run_cancellable(&s.calls(), |_| async {
            let batch = pending.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let (mut retry, mut etag_error, mut other_error) = (Vec::new(), None, None);
            for (full, write) in batch {
                match apply(binding, &full, &write).await {
                    Ok(()) => {}
                    Err(e) if e.is_etag_error() => etag_error = Some(e),
                    Err(e) => {
                        other_error = Some(e);
                        retry.push((full, write));
                    }
                }
            }
            *pending.lock().unwrap_or_else(|p| p.into_inner()) = retry;
            match (other_error, etag_error) {
                (Some(e), _) => Err(retryable(e)),
                (None, Some(e)) => Err(StoreFailure {
                    error: e,
                    permanent: true,
                }),
                (None, None) => Ok(()),
            }
        })
        .await
        .map_err(failed(store, op))
}

async fn apply(binding: &StoreBinding, full: &str, write: &TransactionOp) -> Result<(), StoreError> {
    match write {
        TransactionOp::Upsert(item) => {
            binding
                .store
                .set(full, item.data.clone(), item.etag.as_deref(), item.first_write)
                .await
        }
        TransactionOp::Delete(item) => binding.store.delete(full, item.etag.as_deref()).await,
    }
}

/// Every key's value. As daprd does for stores without a native bulk get (Redis uses components-contrib's
/// `DefaultBulkStore`, whose `DoBulkGet` never fails): one policy call around the whole bulk get, which
/// therefore succeeds even with the store down (no retries, the breaker counts a success) while each item
/// carries its own error; a key with `||` fails the whole request.
pub async fn bulk_get(s: &SidecarState, store: &str, keys: Vec<String>) -> Result<Vec<BulkItem>, StateError> {
    let binding = lookup(s, store)?;
    for key in &keys {
        check_key(store, key)?;
    }
    outbound_policy(s, store)
        .run_cancellable(&s.calls(), |_| async {
            let mut items = Vec::with_capacity(keys.len());
            for key in &keys {
                let found = binding.store.get(&full_key(s, binding, store, key)).await;
                items.push(BulkItem {
                    key: key.clone(),
                    found: found.map_err(|e| e.to_string()),
                });
            }
            Ok::<_, StoreFailure>(items)
        })
        .await
        .map_err(failed(store, StateOp::BulkGet))
}

/// Upserts and deletes under one policy run, as the store's `multi` applies them (Redis: MULTI/EXEC, every
/// write applied even after one fails). Any store error is retried, as daprd retries `Multi`.
pub async fn transaction(s: &SidecarState, store: &str, ops: Vec<TransactionOp>) -> Result<(), StateError> {
    let binding = lookup(s, store)?;
    let mut writes = Vec::with_capacity(ops.len());
    for op in ops {
        let key = match &op {
            TransactionOp::Upsert(item) => &item.key,
            TransactionOp::Delete(item) => &item.key,
        };
        check_key(store, key)?;
        let key = full_key(s, binding, store, key);
        writes.push(match op {
            TransactionOp::Upsert(item) => Write::Set {
                key,
                data: item.data,
                etag: item.etag,
            },
            TransactionOp::Delete(item) => Write::Delete { key, etag: item.etag },
        });
    }
    outbound_policy(s, store)
        .run_cancellable(&s.calls(), |_| async {
            binding.store.multi(&writes).await.map_err(retryable)
        })
        .await
        .map_err(failed(store, StateOp::Transaction))
}
