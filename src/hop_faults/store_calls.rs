//! Faults on the hop from a sidecar to a state store: every store call waits (`store-latency`) or fails with
//! an error the store could give (`store-error`). They act on the sidecar's side of the hop, so they work the
//! same whichever server the store runs on (Docker's `dapr_redis`, a redis-server, the in-memory store).
//!
//! The sidecar wraps each store it serves in a [`FaultyStore`]; with no fault on, a call pays one uncontended
//! lock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;

use crate::state::{Item, StateStore, StoreError, StoreFuture, Write, json::GoEncoder};

/// A transient error Redis really answers with (while it loads its dataset after a restart), the default
/// message of `store-error`.
pub const DEFAULT_STORE_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// One fault on a store's calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFault {
    Latency { delay: Duration, jitter: Duration },
    Error { message: String },
}

impl StoreFault {
    pub fn parameters(&self) -> String {
        let go = crate::duration::format_go_duration;
        match self {
            StoreFault::Latency { delay, jitter } if jitter.is_zero() => go(*delay),
            StoreFault::Latency { delay, jitter } => format!("{} \u{b1} {}", go(*delay), go(*jitter)),
            StoreFault::Error { message } => message.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Active {
    latency: Option<(Duration, Duration)>,
    error: Option<String>,
}

/// The faults on one store's calls.
#[derive(Debug, Default)]
pub struct StoreFaults {
    active: Mutex<Active>,
}

impl StoreFaults {
    pub fn set(&self, fault: &StoreFault, on: bool) {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        match fault {
            StoreFault::Latency { delay, jitter } => a.latency = on.then_some((*delay, *jitter)),
            StoreFault::Error { message } => a.error = on.then(|| message.clone()),
        }
    }

    /// Changes the delay of an injected latency by `step` (down to zero); the new delay, if one is on.
    pub fn adjust_latency(&self, step: Duration, longer: bool) -> Option<Duration> {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        super::adjust_latency(&mut a.latency, step, longer)
    }

    /// Waits and fails as the faults on now say, before a call goes to the store.
    async fn before_call(&self) -> Result<(), StoreError> {
        let (delay, error) = {
            let a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            let delay = a
                .latency
                .map_or(Duration::ZERO, |(d, j)| super::channel::jittered(d, j));
            (delay, a.error.clone())
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match error {
            Some(message) => Err(StoreError::Unavailable(message)),
            None => Ok(()),
        }
    }
}

/// A store whose calls meet the faults on its hop first.
pub struct FaultyStore {
    inner: Arc<dyn StateStore>,
    faults: Arc<StoreFaults>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn StateStore>, faults: Arc<StoreFaults>) -> Self {
        Self { inner, faults }
    }
}

impl StateStore for FaultyStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>> {
        Box::pin(async move {
            self.faults.before_call().await?;
            self.inner.get(key).await
        })
    }

    fn set<'a>(&'a self, key: &'a str, data: Bytes, etag: Option<&'a str>, first_write: bool) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.faults.before_call().await?;
            self.inner.set(key, data, etag, first_write).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str, etag: Option<&'a str>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.faults.before_call().await?;
            self.inner.delete(key, etag).await
        })
    }

    fn multi<'a>(&'a self, writes: &'a [Write]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.faults.before_call().await?;
            self.inner.multi(writes).await
        })
    }

    fn encoder(&self) -> GoEncoder {
        self.inner.encoder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::memory::MemoryStore;

    #[tokio::test(start_paused = true)]
    async fn a_store_call_waits_or_fails_while_its_fault_is_on() {
        let faults = Arc::new(StoreFaults::default());
        let store = FaultyStore::new(Arc::new(MemoryStore::new()), faults.clone());
        store.set("k", Bytes::from_static(b"1"), None, false).await.unwrap();
        let error = StoreFault::Error {
            message: DEFAULT_STORE_ERROR.into(),
        };
        faults.set(&error, true);
        assert_eq!(
            store.get("k").await,
            Err(StoreError::Unavailable(DEFAULT_STORE_ERROR.into()))
        );
        faults.set(&error, false);
        let latency = StoreFault::Latency {
            delay: Duration::from_secs(2),
            jitter: Duration::ZERO,
        };
        faults.set(&latency, true);
        let start = tokio::time::Instant::now();
        assert!(store.get("k").await.unwrap().is_some());
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }
}
