//! In-process name resolution: which address an app id is reached at, and the URI of a call there.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::RwLock;

use axum::http::uri::{Authority, Parts, Scheme};
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

/// `http://<addr><path_and_query>` and its `Host`, without formatting and parsing a whole URL on every call:
/// each target's authority is made once per thread (a sidecar calls one app, or a few) and shared after.
pub(super) fn uri(addr: SocketAddr, path_and_query: &str) -> Result<(Uri, HeaderValue), http::Error> {
    type Known = Vec<(SocketAddr, Authority, HeaderValue)>;
    thread_local! {
        static AUTHORITIES: std::cell::RefCell<Known> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let (authority, host) = AUTHORITIES.with(|known| {
        let mut known = known.borrow_mut();
        if let Some((_, authority, host)) = known.iter().find(|(a, ..)| *a == addr) {
            return Ok((authority.clone(), host.clone()));
        }
        let text = addr.to_string();
        // As the client writes it: no port when it is http's own.
        let host = match addr.port() {
            80 => text.trim_end_matches(":80"),
            _ => text.as_str(),
        };
        let host = HeaderValue::from_str(host)?;
        let authority: Authority = text.parse()?;
        if known.len() >= 64 {
            known.clear();
        }
        known.push((addr, authority.clone(), host.clone()));
        Ok::<_, http::Error>((authority, host))
    })?;
    let mut parts = Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(authority);
    parts.path_and_query = Some(path_and_query.parse()?);
    Ok((Uri::from_parts(parts)?, host))
}
