//! The processes `bench sidecar` measures, started as `resilience-tui bench-serve app|sidecar|bare-hop` so
//! each one's CPU and memory are its own, not mixed with the load generator's.
//!
//! - `app`: an order-processor-like HTTP app: `POST /orders` (any path) answers 200 with the body it got.
//! - `sidecar`: the checkout app's sidecar exactly as the service-invoke scenario runs it: the quickstart's
//!   `resiliency.yaml` (retry forever every 5 s, `simpleCB`), its events on the scenario's bus and ledger,
//!   and `order-processor` resolved to the app above; its HTTP API and its gRPC API (`InvokeService`) both.
//! - `bare-hop`: a reverse proxy to the same app with no Dapr semantics, the sidecar's reference (`hop.rs`).
//!
//! Each prints `listening <addr>` once it serves (the sidecar `listening <addr> grpc <addr>`), and exits when its standard input closes, so it never
//! outlives the bench (even one killed with SIGKILL).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;

use crate::event::EventBus;
use crate::resiliency::{Resiliency, SharedObserver};
use crate::sidecar::{DEFAULT_MAX_BODY_BYTES, NameResolver, Sidecar, SidecarOptions};
use crate::summary::SharedLedger;

/// The quickstart's policy, built in so the bench runs from any folder.
pub const QUICKSTART_RESILIENCY: &str = include_str!("../../resources/service-invoke/resiliency.yaml");

/// Which policy the benched sidecar applies to its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyChoice {
    /// The service-invoke quickstart's resiliency.yaml (retry + circuit breaker on order-processor).
    Quickstart,
    /// No resiliency resource: the sidecar's cost without a policy.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    App,
    Sidecar,
    BareHop,
    /// order-processor's sidecar with the state-management quickstart's resources, its store at --redis-addr.
    StateSidecar,
}

/// Runs one role until standard input closes.
pub async fn serve(
    role: Role,
    listen: SocketAddr,
    app_addr: Option<SocketAddr>,
    policy: PolicyChoice,
    redis_addr: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let line = match role {
        Role::App => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            let addr = listener.local_addr()?;
            let router = Router::new().fallback(|body: Bytes| async move { body });
            tokio::spawn(async move { axum::serve(listener, router).await });
            addr.to_string()
        }
        Role::Sidecar => {
            let app_addr = app_addr.ok_or_else(|| anyhow::anyhow!("bench-serve sidecar needs --app-addr"))?;
            let sidecar = start_sidecar(listen, app_addr, policy).await?;
            let grpc = sidecar
                .grpc_addr()
                .ok_or_else(|| anyhow::anyhow!("the benched sidecar did not bind its gRPC API"))?;
            let line = format!("{} grpc {grpc}", sidecar.addr());
            // Kept running until the process exits.
            std::mem::forget(sidecar);
            line
        }
        Role::StateSidecar => {
            let redis = redis_addr.ok_or_else(|| anyhow::anyhow!("bench-serve state-sidecar needs --redis-addr"))?;
            let sidecar = start_state_sidecar(listen, redis).await?;
            let line = sidecar.addr().to_string();
            std::mem::forget(sidecar);
            line
        }
        Role::BareHop => {
            let app_addr = app_addr.ok_or_else(|| anyhow::anyhow!("bench-serve bare-hop needs --app-addr"))?;
            super::hop::start(listen, app_addr)?.to_string()
        }
    };
    println!("listening {line}");
    std::io::stdout().flush()?;
    // Standard input closes when the bench ends, however it ends.
    tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await??;
    Ok(())
}

/// The state-management quickstart's resources: its Resiliency and its Redis store, at `redis`.
pub const STATE_RESILIENCY: &str = include_str!("../../resources/state-management/resiliency.yaml");
const STATE_STORE: &str = include_str!("../../resources/state-management/statestore.yaml");

/// order-processor's sidecar as the state-management scenario runs it, its store on the Redis at `redis`.
async fn start_state_sidecar(listen: SocketAddr, redis: SocketAddr) -> anyhow::Result<Sidecar> {
    let store = STATE_STORE.replace("localhost:6379", &redis.to_string());
    let dir = PathBuf::from("resources/state-management");
    let files = vec![
        (dir.join("resiliency.yaml"), STATE_RESILIENCY.as_bytes().to_vec()),
        (dir.join("statestore.yaml"), store.into_bytes()),
    ];
    let loaded = crate::resources::load_files(files, Some("order-processor"));
    anyhow::ensure!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    let observer = consumed_events("order-processor");
    let resiliency = Resiliency::new("order-processor", loaded.resiliency_configs(), observer);
    let options = options("order-processor", listen, None);
    Ok(Sidecar::start(
        options,
        resiliency,
        Arc::new(NameResolver::default()),
        loaded.components,
    )
    .await?)
}

/// The events of `app_id`'s sidecar on the scenario's event bus and ledger, read by a task as a display reads
/// them, handed over in batches as the scenario's sidecars do (see sidecar/batch.rs).
fn consumed_events(app_id: &str) -> SharedObserver {
    let (bus, mut events) = EventBus::new(Arc::new(SharedLedger::default()));
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    Arc::new(crate::sidecar::batch::Batched(bus.resiliency_observer(app_id)))
}

/// A benched sidecar's options: no token, Dapr's body limit, no metrics (its own cost, as before).
fn options(app_id: &str, listen: SocketAddr, grpc_listen: Option<SocketAddr>) -> SidecarOptions {
    SidecarOptions {
        grpc_listen,
        grpc_port_chosen: false,
        app_id: app_id.into(),
        listen,
        port_flag: "--dapr-http-port".into(),
        app_port: None,
        api_token: None,
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        metrics: None,
    }
}

/// The checkout sidecar with `policy`, its events consumed by a task as the scenario's event bus would.
pub async fn start_sidecar(listen: SocketAddr, app_addr: SocketAddr, policy: PolicyChoice) -> anyhow::Result<Sidecar> {
    let configs = match policy {
        PolicyChoice::Quickstart => {
            let file = PathBuf::from("resources/service-invoke/resiliency.yaml");
            let loaded = crate::resources::load_files(vec![(file, QUICKSTART_RESILIENCY.as_bytes().to_vec())], None);
            anyhow::ensure!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
            loaded.resiliency_configs()
        }
        PolicyChoice::None => Vec::new(),
    };
    let resiliency = Resiliency::new("checkout", configs, consumed_events("checkout"));
    let resolver = Arc::new(NameResolver::default());
    resolver.register("order-processor", app_addr);
    // Beside the HTTP API on any free port, as `bench sidecar` measures both.
    let options = options("checkout", listen, Some(SocketAddr::new(listen.ip(), 0)));
    Ok(Sidecar::start(options, resiliency, resolver, Vec::new()).await?)
}
