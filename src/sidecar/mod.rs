//! An embedded Dapr-compatible sidecar: one per app id, serving Dapr's HTTP API with axum on a real port.
//!
//! It knows nothing of terminals: what its resiliency engine does goes to the event stream through the
//! observer it was built with. Service invocation (`invoke.rs`) runs every call to another app under the
//! policies that app's target resolves to; `api.rs` has health, metadata, the API token and error shapes.

mod api;
mod app_channel;
pub mod batch;
mod conn_pool;
mod forwarded;
mod grpc;
mod http_api;
pub use api::RUNTIME_VERSION;
pub use grpc::unserved::{SERVED as GRPC_SERVED, UnservedListener};
mod hop;
mod invoke;
mod resolver;
mod serve;
mod state;
mod state_core;
mod stores;
mod target;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use tokio_util::sync::CancellationToken;

use crate::hop_faults::store_calls::StoreFaults;
use crate::resiliency::Resiliency;
use crate::resources::ComponentSpec;
use crate::state::memory::MemoryStore;
pub use serve::Stopped;
use serve::{Apis, Listeners, MetricsServer, Serving, hold_port};

pub use api::DaprError;
pub use resolver::{NameResolver, Route};

/// Dapr's default `--max-body-size` (4Mi): larger request bodies are refused.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;

/// How to run one sidecar.
#[derive(Debug, Clone)]
pub struct SidecarOptions {
    pub app_id: String,
    /// The Dapr HTTP address (daprd's `--dapr-http-port`).
    pub listen: SocketAddr,
    /// The command-line flag that sets `listen`'s port, named in the error when the port is taken.
    pub port_flag: String,
    /// The Dapr gRPC address (daprd's `--dapr-grpc-port`); none: the gRPC API is not served.
    pub grpc_listen: Option<SocketAddr>,
    /// `grpc_listen`'s port was chosen, not asked for: when another process takes it first, any free port
    /// does (as the Dapr CLI falls back from 50001); an asked-for port in use is an error naming the flag.
    pub grpc_port_chosen: bool,
    /// This sidecar's own app port, if its app serves HTTP (shown in metadata).
    pub app_port: Option<u16>,
    /// `DAPR_API_TOKEN`: when set, every Dapr API request but healthz must carry it in `dapr-api-token`
    /// (the hop from other sidecars is not guarded, as daprd's internal server is not).
    pub api_token: Option<String>,
    pub max_body_bytes: usize,
    /// Where daprd's metrics are served (none: not served, not counted).
    pub metrics: Option<crate::metrics::server::MetricsOptions>,
}

pub use crate::net::BindError as SidecarError;

pub(crate) struct SidecarState {
    pub app_id: String,
    /// This sidecar's own app (`app_port` on the listen address), which other sidecars' calls reach.
    pub app_channel: Option<SocketAddr>,
    /// Faults injected on the app channel (none unless a scenario injects one).
    pub channel_faults: Arc<crate::hop_faults::channel::ChannelFaults>,
    /// Calls from other sidecars that reached this one, per caller app id, since the last look (the traffic
    /// meter of `checkout-load` scenarios).
    served: std::sync::Mutex<HashMap<String, u64>>,
    /// Swapped whole when the Resiliency resources are edited (see `lifecycle/hot_reload.rs`).
    resiliency: RwLock<Arc<Resiliency>>,
    pub resolver: Arc<NameResolver>,
    pub client: app_channel::AppClient,
    pub components: Vec<ComponentSpec>,
    pub stores: state_core::Stores,
    pub options: SidecarOptions,
    /// Cancelled when the run ends (see [`Sidecar::cancel_in_flight`]).
    run_ends: CancellationToken,
    /// What requests end by: a child of `run_ends`, new each time the sidecar starts serving, cancelled when
    /// it stops (see [`SidecarState::calls`]).
    calls: RwLock<CancellationToken>,
    /// Set by the gRPC API's `Shutdown`: both APIs stop serving.
    pub shutdown_requested: tokio::sync::Notify,
    /// The gRPC methods called here that it does not serve, told once each.
    pub unserved: grpc::unserved::Unserved,
}

impl SidecarState {
    /// Counts a call from `caller` that reached this sidecar.
    pub fn note_served(&self, caller: &str) {
        let mut served = self.served.lock().unwrap_or_else(|p| p.into_inner());
        // A caller seen before costs no allocation (this is on every hop's path).
        match served.get_mut(caller) {
            Some(n) => *n += 1,
            None => {
                served.insert(caller.to_string(), 1);
            }
        }
    }

    pub fn resiliency(&self) -> Arc<Resiliency> {
        self.resiliency.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The token a request runs under: cancelled when the run ends or this sidecar stops serving (for good or
    /// as a fault). Then requests in flight under a policy end at once, neither counted by a breaker nor
    /// retried (see `resiliency/policy.rs`), and a hop to this sidecar's app stops waiting for it.
    pub fn calls(&self) -> CancellationToken {
        self.calls.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Where a sidecar's requests are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    OwnThread,
    ThisRuntime,
}

/// A running sidecar; [`Sidecar::stop`] ends it. It can stop serving and start again on the same port (the
/// quickstart's fault: Ctrl-C on `dapr run` stops the app and its sidecar).
pub struct Sidecar {
    addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    state: Arc<SidecarState>,
    http: http_api::HttpApi,
    place: Where,
    memory_stores: HashMap<String, Arc<MemoryStore>>,
    store_faults: HashMap<String, Arc<StoreFaults>>,
    serving: tokio::sync::Mutex<Option<Serving>>,
    /// While stopped by a fault: its ports bound but not listening, so calls are refused as by a stopped
    /// daprd while no other process (another run's sidecar taking the next free port from 50001) takes them.
    held_ports: std::sync::Mutex<Vec<tokio::net::TcpSocket>>,
}

impl Sidecar {
    /// Binds the port and starts serving. Fails at once, with a clear message, when the port is taken.
    ///
    /// The sidecar runs on its own thread with a single-threaded tokio runtime, as daprd is its own process:
    /// its latency does not depend on what the UI or the apps are doing, and a request never pays for being
    /// handed between worker threads (at 1000 req/s that hand-off cost more CPU than the proxying itself;
    /// see BENCHMARKS.md).
    pub async fn start(
        options: SidecarOptions,
        resiliency: Resiliency,
        resolver: Arc<NameResolver>,
        components: Vec<ComponentSpec>,
    ) -> Result<Sidecar, SidecarError> {
        Self::start_where(Where::OwnThread, options, resiliency, resolver, components).await
    }

    /// [`Sidecar::start`], but served by a task on the caller's runtime: a test on a paused clock then runs
    /// the sidecar's retries and breakers on its clock, over real TCP (as mini-redis's tests do).
    pub async fn start_on_this_runtime(
        options: SidecarOptions,
        resiliency: Resiliency,
        resolver: Arc<NameResolver>,
        components: Vec<ComponentSpec>,
    ) -> Result<Sidecar, SidecarError> {
        Self::start_where(Where::ThisRuntime, options, resiliency, resolver, components).await
    }

    async fn start_where(
        place: Where,
        options: SidecarOptions,
        resiliency: Resiliency,
        resolver: Arc<NameResolver>,
        components: Vec<ComponentSpec>,
    ) -> Result<Sidecar, SidecarError> {
        let who = format!("the {} sidecar", options.app_id);
        let listener = crate::net::bind_std(&who, options.listen, &options.port_flag)?;
        let addr = listener.local_addr().unwrap_or(options.listen);
        let grpc_listener = bind_grpc(&options, options.grpc_listen, options.grpc_port_chosen)?;
        let grpc_addr = grpc_listener.as_ref().and_then(|l| l.local_addr().ok());
        let metrics = bind_metrics(&options)?;
        let client = app_channel::AppClient::default();
        let (stores, memory_stores, store_faults) = stores::state_stores(&components);
        let app_channel = options
            .app_port
            .map(|port| crate::net::connectable(SocketAddr::new(options.listen.ip(), port)));
        let state = Arc::new(SidecarState {
            app_id: options.app_id.clone(),
            app_channel,
            channel_faults: Arc::default(),
            served: std::sync::Mutex::default(),
            resiliency: RwLock::new(Arc::new(resiliency)),
            resolver,
            client,
            components,
            stores,
            options,
            run_ends: CancellationToken::new(),
            calls: RwLock::default(),
            shutdown_requested: tokio::sync::Notify::new(),
            unserved: Default::default(),
        });
        let http = http_api::HttpApi::new(routes(state.clone()), state.clone());
        let sidecar = Sidecar {
            addr,
            grpc_addr,
            state,
            http,
            place,
            memory_stores,
            store_faults,
            serving: tokio::sync::Mutex::new(None),
            held_ports: std::sync::Mutex::default(),
        };
        let listeners = Listeners {
            http: listener,
            grpc: grpc_listener,
            metrics,
        };
        *sidecar.serving.lock().await = Some(sidecar.serve(listeners)?);
        Ok(sidecar)
    }

    fn serve(&self, listeners: Listeners) -> Result<Serving, SidecarError> {
        let apis = Apis {
            http: self.http.clone(),
            grpc: grpc::DaprService {
                state: self.state.clone(),
            },
        };
        // Requests from now on run under a new token: those of an earlier serving were cancelled with it.
        let calls = self.state.run_ends.child_token();
        *self.state.calls.write().unwrap_or_else(|p| p.into_inner()) = calls.clone();
        Serving::start(self.place == Where::OwnThread, &self.state, listeners, apis, calls)
    }

    /// Stops serving (a fault, or the run's end): the listeners close; the requests in flight get `grace` to
    /// finish, and those still running then (one held in a retry loop, or waiting on an app that never
    /// answers) end at once, uncounted; connections still open after that are dropped; the sidecar's thread
    /// is joined. Its ports stay bound, not listening, until it serves again. Nothing happens when it is not
    /// serving.
    pub async fn stop_serving(&self, grace: Duration) -> Stopped {
        let Some(serving) = self.serving.lock().await.take() else {
            return Stopped::NotServing;
        };
        let stopped = serving.stop(grace).await;
        if let Some(warning) = stopped.warning(&self.state.app_id) {
            tracing::warn!("{warning}");
        }
        let held: Vec<tokio::net::TcpSocket> = [Some(self.addr), self.grpc_addr]
            .into_iter()
            .flatten()
            .filter_map(hold_port)
            .collect();
        *self.held_ports.lock().unwrap_or_else(|p| p.into_inner()) = held;
        stopped
    }

    /// Listens again on the same address (after [`Sidecar::stop_serving`]); nothing when it is serving.
    pub async fn start_serving(&self) -> Result<(), SidecarError> {
        let mut serving = self.serving.lock().await;
        if serving.is_none() {
            self.held_ports.lock().unwrap_or_else(|p| p.into_inner()).clear();
            let who = format!("the {} sidecar", self.state.app_id);
            let http = crate::net::bind_std(&who, self.addr, &self.state.options.port_flag)?;
            // Its gRPC and metrics ports went with it (as daprd's do) and come back with it.
            // The same port again: its apps were told it in DAPR_GRPC_PORT. Only a port we chose (50001 and
            // up, which parallel runs share) may move when another process took it while we were stopped.
            let grpc = bind_grpc(&self.state.options, self.grpc_addr, self.state.options.grpc_port_chosen)?;
            let metrics = bind_metrics(&self.state.options)?;
            *serving = Some(self.serve(Listeners { http, grpc, metrics })?);
        }
        Ok(())
    }

    /// Where to reach the sidecar (loopback when it listens on every address).
    pub fn addr(&self) -> SocketAddr {
        crate::net::connectable(self.addr)
    }

    /// Where to reach its gRPC API, when it serves one.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr.map(crate::net::connectable)
    }

    pub fn app_id(&self) -> &str {
        &self.state.app_id
    }

    /// `listener` hears the name of each gRPC method its app calls that this sidecar does not serve (answered
    /// `UNIMPLEMENTED`), the first time only.
    pub fn on_unserved_grpc(&self, listener: grpc::unserved::UnservedListener) {
        self.state.unserved.listen(listener);
    }

    /// The calls from other sidecars that reached this one since the last look, per caller.
    pub fn take_served(&self) -> HashMap<String, u64> {
        std::mem::take(&mut *self.state.served.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The faults on the hop from this sidecar to its state store `component`, if it serves one.
    pub fn store_faults(&self, component: &str) -> Option<Arc<StoreFaults>> {
        self.store_faults.get(component).cloned()
    }

    /// The faults on this sidecar's app channel, for the fault that injects them.
    pub fn channel_faults(&self) -> Arc<crate::hop_faults::channel::ChannelFaults> {
        self.state.channel_faults.clone()
    }

    /// The policies in force now.
    pub fn resiliency(&self) -> Arc<Resiliency> {
        self.state.resiliency()
    }

    /// Puts `resiliency` in force for every call from now on; calls already running finish under the old one.
    /// Its breakers start closed, as after daprd's restart on a Resiliency change.
    pub fn reload_resiliency(&self, resiliency: Resiliency) {
        *self.state.resiliency.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(resiliency);
    }

    /// An in-memory state store this sidecar serves, by component name (its outage can be simulated).
    pub fn memory_store(&self, name: &str) -> Option<&Arc<MemoryStore>> {
        self.memory_stores.get(name)
    }

    /// The run is ending: every request in flight under a policy ends now, and any later one at once, neither
    /// counted by a breaker nor retried (a call cut by our own shutdown says nothing about its target). The
    /// caller gets Dapr's 500 saying the sidecar is shutting down.
    pub fn cancel_in_flight(&self) {
        self.state.run_ends.cancel();
    }

    /// Stops it for good (see [`Sidecar::stop_serving`]).
    pub async fn stop(self) -> Stopped {
        self.stop_serving(STOP_GRACE).await
    }
}

/// How long a stopping sidecar lets its requests in flight finish before it cancels them. daprd waits up to
/// `--dapr-graceful-shutdown-seconds` (dapr/dapr `cmd/daprd/options/options.go`, 5 s by default); a lesson's
/// fault should not take that long to inject.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

impl Drop for Sidecar {
    /// A sidecar dropped while serving stops at once; its thread ends on its own.
    fn drop(&mut self) {
        if let Some(serving) = self.serving.get_mut().as_ref() {
            serving.stop_soon();
        }
    }
}

/// The sidecar's gRPC port, bound (none when the gRPC API is not served).
fn bind_grpc(
    options: &SidecarOptions,
    addr: Option<SocketAddr>,
    any_if_taken: bool,
) -> Result<Option<std::net::TcpListener>, SidecarError> {
    let who = format!("the {} sidecar's gRPC API", options.app_id);
    let flag = format!("--dapr-grpc-port {}=PORT", options.app_id);
    let Some(addr) = addr else {
        return Ok(None);
    };
    match crate::net::bind_std(&who, addr, &flag) {
        Err(SidecarError::PortInUse { .. }) if any_if_taken => {
            crate::net::bind_std(&who, SocketAddr::new(addr.ip(), 0), &flag).map(Some)
        }
        bound => bound.map(Some),
    }
}

/// The sidecar's metrics port, bound, with what it serves (none when metrics are off).
fn bind_metrics(options: &SidecarOptions) -> Result<Option<MetricsServer>, SidecarError> {
    options
        .metrics
        .as_ref()
        .map(|m| Ok((crate::metrics::server::bind(m)?, m.metrics.clone())))
        .transpose()
}

/// Dapr's HTTP API, as daprd serves it.
fn routes(state: Arc<SidecarState>) -> Router {
    let router = Router::new()
        .route("/v1.0/healthz", get(api::healthz).fallback(api::method_not_allowed))
        .route(
            "/v1.0/healthz/outbound",
            get(api::healthz).fallback(api::method_not_allowed),
        )
        .route("/v1.0/metadata", get(api::metadata).fallback(api::method_not_allowed))
        .route("/v1.0/invoke/{app_id}/method/{*method}", any(target::by_path))
        .route(
            "/v1.0/state/{store}",
            post(state::save).put(state::save).fallback(api::method_not_allowed),
        )
        .route(
            "/v1.0/state/{store}/bulk",
            post(state::bulk_get)
                .put(state::bulk_get)
                .fallback(api::method_not_allowed),
        )
        .route(
            "/v1.0/state/{store}/transaction",
            post(state::transaction).fallback(api::method_not_allowed),
        )
        .route(
            "/v1.0/state/{store}/{key}",
            get(state::get).delete(state::delete).fallback(api::method_not_allowed),
        )
        .fallback(target::by_header)
        .layer(axum::extract::DefaultBodyLimit::max(state.options.max_body_bytes));
    // Without DAPR_API_TOKEN there is nothing to check: no middleware on every request (see BENCHMARKS.md).
    let router = match state.options.api_token {
        Some(_) => router.layer(axum::middleware::from_fn_with_state(state.clone(), api::check_token)),
        None => router,
    };
    // The hop from another sidecar is added after the token layer, so the token never guards it: daprd's
    // token guards only its public API; the internal server that serves sidecar-to-sidecar calls has none
    // (dapr/dapr `pkg/api/grpc/server.go`: `NewAPIServer` sets `authToken`, `NewInternalServer` does not).
    let router = router.route(hop::ROUTE, any(hop::serve_call));
    let router = match &state.options.metrics {
        Some(m) => router.layer(axum::middleware::from_fn_with_state(
            m.metrics.clone(),
            crate::metrics::server::count_request,
        )),
        None => router,
    };
    router.with_state(state)
}
