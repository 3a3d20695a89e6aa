//! An in-process state store with Redis's ETag rules, and a switch that simulates an outage (its fault).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;

use super::{Item, StateStore, StoreError, StoreFuture};

/// Values with versions (the ETag), like Dapr's Redis store: a write bumps the version.
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, (Bytes, u64)>>,
    down: AtomicBool,
    /// A simulated pause: calls wait until it ends (as a frozen Redis holds its connections).
    paused: tokio::sync::watch::Sender<bool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates the store going away (every call fails) or coming back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Simulates the store freezing (every call waits) or going on.
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    /// Waits out a pause, then fails during an outage.
    async fn check_up(&self) -> Result<(), StoreError> {
        let mut paused = self.paused.subscribe();
        let _ = paused.wait_for(|p| !*p).await;
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "dial tcp: connect: connection refused (simulated outage)".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// Redis's rule: an ETag is a version number (`""` is none).
fn parse_etag(etag: Option<&str>) -> Result<Option<u64>, StoreError> {
    // A negative version never matches: Redis's versions start at 1.
    Ok(super::version_etag(etag)?.map(|v| u64::try_from(v).unwrap_or(u64::MAX)))
}

impl StateStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>> {
        Box::pin(async move {
            self.check_up().await?;
            let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            Ok(items.get(key).map(|(data, version)| Item {
                data: data.clone(),
                etag: version.to_string(),
            }))
        })
    }

    fn set<'a>(&'a self, key: &'a str, data: Bytes, etag: Option<&'a str>, first_write: bool) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check_up().await?;
            let wanted = parse_etag(etag)?;
            let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            let current = items.get(key).map(|(_, v)| *v);
            let allowed = match (current, wanted) {
                (None, None | Some(0)) => true,
                (None, Some(_)) => !first_write,
                (Some(v), Some(w)) => v == w,
                (Some(_), None) => !first_write,
            };
            if !allowed {
                return Err(StoreError::EtagMismatch(format!("failed to set key {key}")));
            }
            items.insert(key.to_string(), (data, current.unwrap_or(0) + 1));
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str, etag: Option<&'a str>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check_up().await?;
            // As contrib's delete script: the ETag is compared as text, not parsed, and "0" is none.
            let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            match (items.get(key).map(|(_, v)| *v), etag) {
                (Some(v), Some(w)) if w != "0" && v.to_string() != w => {
                    Err(StoreError::EtagMismatch(format!("failed to delete {key}")))
                }
                _ => {
                    items.remove(key);
                    Ok(())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_are_etags() {
        let s = MemoryStore::new();
        assert_eq!(s.get("k").await, Ok(None));
        s.set("k", Bytes::from_static(b"1"), None, false).await.unwrap();
        assert_eq!(s.get("k").await.unwrap().unwrap().etag, "1");
        s.set("k", Bytes::from_static(b"2"), Some("1"), false).await.unwrap();
        let item = s.get("k").await.unwrap().unwrap();
        assert_eq!((item.data.as_ref(), item.etag.as_str()), (&b"2"[..], "2"));
        assert!(matches!(
            s.set("k", Bytes::new(), Some("1"), false).await,
            Err(StoreError::EtagMismatch(_))
        ));
        assert!(matches!(
            s.set("k", Bytes::new(), Some("x"), false).await,
            Err(StoreError::EtagInvalid(_))
        ));
        assert!(matches!(
            s.set("k", Bytes::new(), None, true).await,
            Err(StoreError::EtagMismatch(_))
        ));
        assert!(matches!(
            s.delete("k", Some("1")).await,
            Err(StoreError::EtagMismatch(_))
        ));
        s.delete("k", Some("2")).await.unwrap();
        assert_eq!(s.get("k").await, Ok(None));
        s.set_down(true);
        assert!(matches!(s.get("k").await, Err(StoreError::Unavailable(_))));
    }
}
