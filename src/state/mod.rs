//! State stores behind Dapr's state API: what the sidecar calls, under the component's outbound policy.
//!
//! A store keeps, per key, the JSON text of the value and a version that is its ETag, as Dapr's Redis store
//! does (a hash `data` + `version`). The sidecar adds the key prefix (`<appId>||<key>`) before calling.
//! Stores: [`memory::MemoryStore`] (an in-process store whose outage can be simulated); Redis follows.

pub mod go_redis;
pub mod json;
pub mod memory;
pub mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;

use crate::resiliency::OperationError;

/// One stored value: its JSON text and its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub data: Bytes,
    pub etag: String,
}

/// Why a store call failed, in the categories Dapr maps to statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The given ETag is not the current one (409; a save with it is not retried).
    #[error("possible etag mismatch. error from state store: {0}")]
    EtagMismatch(String),
    /// The given ETag is not a valid one for this store (400).
    #[error("invalid etag value: {0}")]
    EtagInvalid(String),
    /// The store cannot be reached (retried, counted by the breaker).
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    pub fn is_etag_error(&self) -> bool {
        matches!(self, StoreError::EtagMismatch(_) | StoreError::EtagInvalid(_))
    }
}

/// A store error as the engine sees it. `permanent` marks an ETag error on a save: Dapr counts it as a
/// breaker failure but does not retry it (on delete it is retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure {
    pub error: StoreError,
    pub permanent: bool,
}

impl fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl OperationError for StoreFailure {
    fn is_permanent(&self) -> bool {
        self.permanent
    }
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A state store. Keys arrive already prefixed.
pub trait StateStore: Send + Sync {
    /// The value and ETag, or `None` when the key is missing.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>>;
    /// Writes `data` (JSON text). With `etag`, only when it is the current one; with `first_write`, only when
    /// the key does not exist yet or `etag` matches.
    fn set<'a>(&'a self, key: &'a str, data: Bytes, etag: Option<&'a str>, first_write: bool) -> StoreFuture<'a, ()>;
    /// Deletes the key (with `etag`, only when it is the current one). A missing key is not an error.
    fn delete<'a>(&'a self, key: &'a str, etag: Option<&'a str>) -> StoreFuture<'a, ()>;
    /// How the store's Go implementation writes values (`encoding/json` unless it says otherwise).
    fn encoder(&self) -> json::GoEncoder {
        json::GoEncoder::EncodingJson
    }
}

/// Dapr's key prefixing (`keyPrefix` metadata): `appid` (default) `<appId>||<key>`, `name` `<store>||<key>`,
/// `none` `<key>`, anything else `S||<key>`.
pub fn prefixed_key(key_prefix: Option<&str>, app_id: &str, store: &str, key: &str) -> String {
    match key_prefix.unwrap_or("appid") {
        "appid" | "" => format!("{app_id}||{key}"),
        "name" => format!("{store}||{key}"),
        "none" => key.to_string(),
        other => format!("{other}||{key}"),
    }
}
