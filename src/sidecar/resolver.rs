//! In-process name resolution: which address an app id is reached at, and the URI of a call there.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::RwLock;

use axum::http::uri::Parts;
use axum::http::{self, HeaderValue, Uri};

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

/// The request target for a call to `addr` (origin-form, `<path_and_query>`, as an HTTP/1.1 client writes it
/// on its own connection) and its `Host`, made without formatting a whole URL on every call: each address's
/// `Host` is made once per thread (a sidecar calls one app, or a few) and shared after.
pub(super) fn uri(addr: SocketAddr, path_and_query: &str) -> Result<(Uri, HeaderValue), http::Error> {
    thread_local! {
        static HOSTS: std::cell::RefCell<Vec<(SocketAddr, HeaderValue)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let host = HOSTS.with(|known| {
        let mut known = known.borrow_mut();
        if let Some((_, host)) = known.iter().find(|(a, _)| *a == addr) {
            return Ok(host.clone());
        }
        let text = addr.to_string();
        // As hyper-util's client wrote it: no port when it is http's own.
        let host = match addr.port() {
            80 => text.trim_end_matches(":80"),
            _ => text.as_str(),
        };
        let host = HeaderValue::from_str(host)?;
        if known.len() >= 64 {
            known.clear();
        }
        known.push((addr, host.clone()));
        Ok::<_, http::Error>(host)
    })?;
    let mut parts = Parts::default();
    parts.path_and_query = Some(path_and_query.parse()?);
    Ok((Uri::from_parts(parts)?, host))
}
