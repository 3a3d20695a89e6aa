//! Where a sidecar serves: its own thread with a single-threaded runtime (as daprd is its own process), or the
//! caller's runtime (paused-clock tests); the HTTP API, the gRPC API and the metrics, started and stopped
//! together.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::sync::oneshot;

use super::{SidecarError, batch, grpc};

/// Serves on a thread of its own with a single-threaded runtime whose events are handed over in batches.
pub(super) fn serve_on_own_thread(
    app_id: &str,
    addr: SocketAddr,
    listeners: Listeners,
    apis: Apis,
    shutdown_rx: oneshot::Receiver<()>,
    done_tx: oneshot::Sender<()>,
) -> Result<(), SidecarError> {
    let bind_error = |source| SidecarError::Bind {
        app_id: format!("the {app_id} sidecar"),
        addr,
        source,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(batch::flush_if_urgent)
        .build()
        .map_err(bind_error)?;
    std::thread::Builder::new()
        .name(format!("sidecar-{app_id}"))
        .spawn(move || {
            batch::batch_on_this_thread();
            let flush_soon = Arc::new(tokio::sync::Notify::new());
            batch::flush_soon_with(flush_soon.clone());
            runtime.block_on(async move {
                // Routine events (healthy calls) go out at most this late, in one hand-over.
                tokio::spawn(async move {
                    loop {
                        flush_soon.notified().await;
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        batch::flush_this_thread();
                    }
                });
                serve(listeners, apis, shutdown_rx).await;
            });
            batch::flush_this_thread();
            let _ = done_tx.send(());
        })
        .map_err(bind_error)?;
    Ok(())
}

/// The metrics port, bound, and what it serves.
pub(super) type MetricsServer = (std::net::TcpListener, Arc<crate::metrics::SidecarMetrics>);

/// The ports one serving sidecar listens on.
pub(super) struct Listeners {
    pub http: std::net::TcpListener,
    pub grpc: Option<std::net::TcpListener>,
    pub metrics: Option<MetricsServer>,
}

/// What the sidecar serves: Dapr's HTTP API and its gRPC API, over the same state.
pub(super) struct Apis {
    pub router: Router,
    pub grpc: grpc::DaprService,
}

/// Serves until `shutdown` fires, `Shutdown` is called over gRPC, or the listener itself fails (the scenario
/// reports exits); the gRPC API and the metrics, on the same runtime, as long as the HTTP API.
pub(super) async fn serve(listeners: Listeners, apis: Apis, shutdown: oneshot::Receiver<()>) {
    let Listeners { http, grpc, metrics } = listeners;
    let metrics = metrics.map(|(listener, metrics)| crate::metrics::server::spawn(listener, metrics));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let state = apis.grpc.state.clone();
    let stopper = tokio::spawn(async move {
        tokio::select! {
            _ = shutdown => {}
            () = state.shutdown_requested.notified() => {}
        }
        let _ = stop_tx.send(true);
    });
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    let grpc = grpc.map(|listener| tokio::spawn(grpc::serve(listener, apis.grpc, stopped(stop.clone()))));
    if let Ok(listener) = tokio::net::TcpListener::from_std(http) {
        let serving = axum::serve(listener, apis.router).with_graceful_shutdown(stopped(stop.clone()));
        let _ = serving.await;
    }
    if let Some(mut task) = grpc {
        // A call held in a retry loop would keep a graceful stop waiting for ever.
        if tokio::time::timeout(std::time::Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
    stopper.abort();
    if let Some(task) = metrics {
        task.abort();
    }
}
