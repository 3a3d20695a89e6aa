//! Where a sidecar serves: its own thread with a single-threaded runtime (as daprd is its own process), or the
//! caller's runtime (paused-clock tests); the HTTP API, the gRPC API and the metrics, started and stopped
//! together.
//!
//! Stopping is bounded and never leaves a thread behind unsaid, as daprd's graceful shutdown: the listeners
//! close and the requests in flight get a grace to finish; those still running then (held in a retry loop, or
//! in a hop to an app that never answers) are cancelled, answered at once and counted nowhere; connections
//! still open after that (a client that sent half a request) are dropped with the runtime; then the thread is
//! joined. The run's end cancels the requests first (`Sidecar::cancel_in_flight`), so it waits for no grace.
//! What a stop had to give up on is its [`Stopped`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{SidecarError, SidecarState, batch, grpc};

/// How long a dropped runtime may wait for its blocking work (a DNS lookup) before its thread ends anyway.
const BLOCKING_BOUND: Duration = Duration::from_secs(1);
/// How long the connections may take to close once their requests were cancelled.
const CUT_BOUND: Duration = Duration::from_secs(1);
/// How long a forced stop waits for the thread to end.
const FORCE_BOUND: Duration = Duration::from_secs(2);

/// How a sidecar stopped serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was not serving.
    NotServing,
    /// Its connections closed (requests still running after the grace were cancelled first); its thread was
    /// joined.
    Gracefully,
    /// Connections still open after their requests were cancelled were dropped; its thread was joined.
    Forced,
    /// Its thread did not end even after that: it was left running.
    ThreadLeft,
}

impl Stopped {
    /// What the stop gave up on, for the user; none when it stopped cleanly.
    pub fn warning(self, app_id: &str) -> Option<String> {
        match self {
            Stopped::NotServing | Stopped::Gracefully => None,
            Stopped::Forced => Some(format!(
                "the {app_id} sidecar still had connections open after its requests were cancelled; they were dropped"
            )),
            Stopped::ThreadLeft => Some(format!(
                "the {app_id} sidecar's thread did not end after its connections were dropped; it was left running"
            )),
        }
    }
}

/// A sidecar that is serving: how to stop it, and what to wait for.
pub(super) struct Serving {
    /// Cancelled at the stop: the listeners close, the open connections drain.
    stop: CancellationToken,
    /// Cancelled when the requests in flight did not finish within the grace: they end at once (the handlers
    /// run under it), neither counted nor retried. A child of the run's token: the run's end cancels it too.
    calls: CancellationToken,
    /// Cancelled when the connections did not close even then: whatever is left is dropped.
    force: CancellationToken,
    done: oneshot::Receiver<()>,
    /// The sidecar's own thread (none when it serves on the caller's runtime).
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Serving {
    /// Starts serving `listeners` where `place` says, its requests under `calls`.
    pub(super) fn start(
        own_thread: bool,
        state: &Arc<SidecarState>,
        listeners: Listeners,
        apis: Apis,
        calls: CancellationToken,
    ) -> Result<Serving, SidecarError> {
        let (stop, force) = (CancellationToken::new(), CancellationToken::new());
        let (done_tx, done) = oneshot::channel::<()>();
        let ending = Ending {
            calls: calls.clone(),
            stop: stop.clone(),
            force: force.clone(),
        };
        let thread = if own_thread {
            Some(serve_on_own_thread(state, listeners, apis, ending, done_tx)?)
        } else {
            tokio::spawn(async move {
                serve(listeners, apis, ending).await;
                let _ = done_tx.send(());
            });
            None
        };
        Ok(Serving {
            calls,
            stop,
            force,
            done,
            thread,
        })
    }

    /// Closes the listeners and lets the requests in flight finish for `grace`; cancels those still running
    /// (their handlers answer at once: Dapr's 500 saying the sidecar is shutting down, or to a caller's hop,
    /// Unavailable); drops the connections still open after that; joins the thread.
    pub(super) async fn stop(mut self, grace: Duration) -> Stopped {
        self.stop.cancel();
        let mut stopped = Stopped::Gracefully;
        if tokio::time::timeout(grace, &mut self.done).await.is_err() {
            self.calls.cancel();
            if tokio::time::timeout(CUT_BOUND, &mut self.done).await.is_err() {
                self.force.cancel();
                stopped = Stopped::Forced;
                if tokio::time::timeout(FORCE_BOUND, &mut self.done).await.is_err() {
                    return Stopped::ThreadLeft;
                }
            }
        }
        // The thread said it is done as its last act: joining it returns at once.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        stopped
    }

    /// Tells it to stop without waiting (the sidecar was dropped): its thread ends on its own.
    pub(super) fn stop_soon(&self) {
        self.calls.cancel();
        self.stop.cancel();
        self.force.cancel();
    }
}

/// The tokens one serving ends by.
struct Ending {
    calls: CancellationToken,
    stop: CancellationToken,
    force: CancellationToken,
}

/// Serves on a thread of its own with a single-threaded runtime whose events are handed over in batches.
fn serve_on_own_thread(
    state: &Arc<SidecarState>,
    listeners: Listeners,
    apis: Apis,
    ending: Ending,
    done_tx: oneshot::Sender<()>,
) -> Result<std::thread::JoinHandle<()>, SidecarError> {
    let addr = listeners.http.local_addr().unwrap_or(state.options.listen);
    let bind_error = |source| SidecarError::Bind {
        app_id: format!("the {} sidecar", state.app_id),
        addr,
        source,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Whatever its requests emitted goes out as the thread goes idle, in one hand-over (see batch.rs).
        .on_thread_park(batch::flush_this_thread)
        .build()
        .map_err(bind_error)?;
    std::thread::Builder::new()
        .name(format!("sidecar-{}", state.app_id))
        .spawn(move || {
            batch::batch_on_this_thread();
            runtime.block_on(serve(listeners, apis, ending));
            // Every task left on it (after a forced stop, the connections) is dropped here.
            runtime.shutdown_timeout(BLOCKING_BOUND);
            batch::flush_this_thread();
            let _ = done_tx.send(());
        })
        .map_err(bind_error)
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
    pub http: super::http_api::HttpApi,
    pub grpc: grpc::DaprService,
}

/// Serves until `ending.stop` is cancelled (or `Shutdown` is called over gRPC) and every connection has
/// drained, or until `ending.force`; the HTTP API, the gRPC API and the metrics, on this runtime.
async fn serve(listeners: Listeners, apis: Apis, ending: Ending) {
    let Listeners { http, grpc, metrics } = listeners;
    let Ending { calls, stop, force } = ending;
    // Dropped, a JoinSet drops its servers: what a forced stop on the caller's runtime needs.
    let mut servers = tokio::task::JoinSet::new();
    let state = apis.grpc.state.clone();
    // daprd's gRPC `Shutdown` stops both APIs, and what they are doing.
    servers.spawn({
        let stop = stop.clone();
        async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = state.shutdown_requested.notified() => {
                    calls.cancel();
                    stop.cancel();
                }
            }
        }
    });
    if let Some((listener, metrics)) = metrics {
        servers.spawn(crate::metrics::server::serve(
            listener,
            metrics,
            stop.clone().cancelled_owned(),
        ));
    }
    if let Some(listener) = grpc {
        servers.spawn(grpc::serve(listener, apis.grpc, stop.clone().cancelled_owned()));
    }
    if let Ok(listener) = tokio::net::TcpListener::from_std(http) {
        let serving = axum::serve(listener, axum::ServiceExt::into_make_service(apis.http))
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        servers.spawn(async move {
            let _ = serving.await;
        });
    }
    let drained = async { while servers.join_next().await.is_some() {} };
    tokio::select! {
        () = drained => {}
        // What is left is dropped: on its own thread with the runtime, on the caller's with `servers`.
        () = force.cancelled() => {}
    }
}

/// `addr` bound without listening: a connection to it is refused, and no other socket can take it.
pub(super) fn hold_port(addr: SocketAddr) -> Option<tokio::net::TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .ok()?;
    socket.set_reuseaddr(true).ok()?;
    socket.bind(addr).ok()?;
    Some(socket)
}
