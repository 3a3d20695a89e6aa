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
    /// A transaction (Dapr's `Multi`). As Redis's MULTI/EXEC runs it (components-contrib
    /// `state/redis/redis.go Multi`): every write is applied even after one fails, and the first failure is
    /// the answer.
    fn multi<'a>(&'a self, writes: &'a [Write]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut first_error = None;
            for write in writes {
                let done = match write {
                    Write::Set { key, data, etag } => self.set(key, data.clone(), etag.as_deref(), false).await,
                    Write::Delete { key, etag } => self.delete(key, etag.as_deref()).await,
                };
                if let Err(e) = done {
                    first_error.get_or_insert(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }
}

/// One write of a transaction, its key already prefixed. contrib's `Multi` sets without first-write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Set {
        key: String,
        data: Bytes,
        etag: Option<String>,
    },
    Delete {
        key: String,
        etag: Option<String>,
    },
}

/// A version ETag as contrib's Redis store reads it (`parseETag`): none, or `""`, means no ETag; anything
/// else goes through Go's `strconv.Atoi`, whose error text daprd shows (`invalid etag value: strconv.Atoi:
/// parsing "x": invalid syntax`).
pub fn version_etag(etag: Option<&str>) -> Result<Option<i64>, StoreError> {
    match etag {
        None | Some("") => Ok(None),
        Some(e) => go_atoi(e).map(Some).map_err(StoreError::EtagInvalid),
    }
}

/// Go's `strconv.Atoi` on a 64-bit platform: an optional sign and decimal digits, nothing else.
fn go_atoi(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let failed = |why: &str| format!("strconv.Atoi: parsing {text:?}: {why}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(failed("invalid syntax"));
    }
    text.strip_prefix('+')
        .unwrap_or(text)
        .parse::<i64>()
        .map_err(|_| failed("value out of range"))
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

#[cfg(test)]
mod etag_tests {
    use super::*;

    #[test]
    fn version_etags_read_as_go_atoi_reads_them() {
        assert_eq!(version_etag(None), Ok(None));
        assert_eq!(version_etag(Some("")), Ok(None), "an empty ETag is no ETag");
        assert_eq!(version_etag(Some("+7")), Ok(Some(7)));
        assert_eq!(version_etag(Some("-3")), Ok(Some(-3)));
        assert_eq!(
            version_etag(Some("abc")).unwrap_err().to_string(),
            r#"invalid etag value: strconv.Atoi: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            version_etag(Some("99999999999999999999")).unwrap_err().to_string(),
            r#"invalid etag value: strconv.Atoi: parsing "99999999999999999999": value out of range"#
        );
        assert!(version_etag(Some("1 ")).is_err() && version_etag(Some("-")).is_err());
    }
}
