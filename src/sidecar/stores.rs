//! The state stores a sidecar serves, from its components: Redis, or the in-memory store; each wrapped so its
//! calls first meet the faults on the hop to it (`faults/store_calls.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use super::state_core as state;
use crate::hop_faults::store_calls::{FaultyStore, StoreFaults};
use crate::resources::ComponentSpec;
use crate::state::memory::MemoryStore;

/// The state stores a sidecar serves, the in-memory ones among them, and the faults on each one's hop.
pub(super) type ServedStores = (
    state::Stores,
    HashMap<String, Arc<MemoryStore>>,
    HashMap<String, Arc<StoreFaults>>,
);

pub(super) fn state_stores(components: &[ComponentSpec]) -> ServedStores {
    let (mut stores, mut memory, mut hops) = (state::Stores::new(), HashMap::new(), HashMap::new());
    for c in components {
        let store: Arc<dyn crate::state::StateStore> = match c.component_type.as_str() {
            "state.in-memory" => {
                let store = Arc::new(MemoryStore::new());
                memory.insert(c.name.clone(), store.clone());
                store
            }
            "state.redis" => {
                let host = c.metadata_value("redisHost").unwrap_or("localhost:6379");
                let timings = crate::state::go_redis::RedisTimings::from_metadata(|k| c.metadata_value(k));
                let password = c.metadata_value("redisPassword");
                match timings.and_then(|t| crate::state::redis::RedisStore::with_timings(host, password, t)) {
                    Ok(store) => Arc::new(store),
                    Err(e) => {
                        tracing::warn!(component = %c.name, "state store not served: {e}");
                        continue;
                    }
                }
            }
            other => {
                if other.starts_with("state.") {
                    tracing::warn!(component = %c.name, "state store type {other} is not supported; not served");
                }
                continue;
            }
        };
        let key_prefix = c.metadata_value("keyPrefix").map(str::to_string);
        // Every store call first meets the faults on the hop to the store (none unless one is injected).
        let faults = Arc::new(StoreFaults::default());
        let store = Arc::new(FaultyStore::new(store, faults.clone()));
        stores.insert(c.name.clone(), state::StoreBinding { store, key_prefix });
        hops.insert(c.name.clone(), faults);
    }
    (stores, memory, hops)
}
