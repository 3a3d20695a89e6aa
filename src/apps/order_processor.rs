//! `order-processor` (service-invoke flavour): an HTTP app serving `POST /orders`, which can be stopped
//! (its listener closes: connections are refused) and started again on the same port, for the fault.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use crate::event::{AppEvent, EventBus};
use crate::net::{BindError, bind};

struct Running {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The order-processor app. `start` and `stop` are idempotent.
pub struct OrderProcessor {
    app_id: Arc<str>,
    addr: SocketAddr,
    port_flag: String,
    bus: EventBus,
    running: Mutex<Option<Running>>,
}

impl OrderProcessor {
    pub fn new(app_id: &str, addr: SocketAddr, port_flag: &str, bus: EventBus) -> Self {
        Self {
            app_id: app_id.into(),
            addr,
            port_flag: port_flag.into(),
            bus,
            running: Mutex::new(None),
        }
    }

    pub fn app_id(&self) -> &Arc<str> {
        &self.app_id
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn is_running(&self) -> bool {
        self.running.lock().await.is_some()
    }

    /// Listens on the app port (again). Returns once the port is bound.
    pub async fn start(&self) -> Result<(), BindError> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let listener = bind(&self.app_id, self.addr, &self.port_flag).await?;
        let router = Router::new()
            .route("/orders", post(order))
            .with_state((self.app_id.clone(), self.bus.clone()));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        *running = Some(Running { shutdown: tx, task });
        self.bus.app(&self.app_id, AppEvent::Listening { addr: self.addr });
        Ok(())
    }

    /// Closes the listener (new connections are refused at once) and lets requests in flight finish.
    pub async fn stop(&self) {
        let Some(run) = self.running.lock().await.take() else {
            return;
        };
        let _ = run.shutdown.send(());
        let _ = run.task.await;
        self.bus.app(&self.app_id, AppEvent::Stopped);
    }
}

async fn order(State((app_id, bus)): State<(Arc<str>, EventBus)>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(order_id) = super::order_id(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if headers.contains_key(super::OUR_ORDER) {
        bus.app(&app_id, AppEvent::OrderReceived { order_id });
    } else {
        // Another client's order (the quickstart's own checkout, say): shown, not counted in the ledger.
        let line = format!("Order received: {{\"orderId\":{order_id}}} (from another client: not counted)");
        bus.app(&app_id, AppEvent::Output { line });
    }
    StatusCode::OK
}
