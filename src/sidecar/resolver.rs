//! In-process name resolution: which address an app id is reached at.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::RwLock;

/// Where an app id is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The app's own sidecar, as in Dapr: caller's sidecar → callee's sidecar → app (`hop.rs`).
    Sidecar(SocketAddr),
    /// The app itself, through this sidecar's app channel (daprd does this when a sidecar invokes its own
    /// app). The bench and the caller-side tests use it to measure and test one sidecar alone.
    App(SocketAddr),
}

/// In-process name resolution (mDNS in self-hosted Dapr): app id to where it is reached. Like an mDNS
/// cache, an entry stays while its sidecar is stopped, so callers meet "connection refused" (Unavailable).
#[derive(Default)]
pub struct NameResolver {
    apps: RwLock<HashMap<String, Route>>,
}

impl NameResolver {
    /// Registers an app reached directly; an unspecified address (0.0.0.0, ::) is reached on loopback.
    pub fn register(&self, app_id: &str, addr: SocketAddr) {
        self.insert(app_id, Route::App(crate::net::connectable(addr)));
    }

    /// Registers an app reached through its own sidecar at `addr`.
    pub fn register_sidecar(&self, app_id: &str, addr: SocketAddr) {
        self.insert(app_id, Route::Sidecar(crate::net::connectable(addr)));
    }

    fn insert(&self, app_id: &str, route: Route) {
        self.apps
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(app_id.to_string(), route);
    }

    pub fn resolve(&self, app_id: &str) -> Option<Route> {
        self.apps.read().unwrap_or_else(|p| p.into_inner()).get(app_id).copied()
    }
}
