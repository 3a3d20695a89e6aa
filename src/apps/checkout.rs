//! `checkout`: sends orders 1, 2, 3, … to order-processor through its sidecar, one at a time, as the
//! quickstart app does: `POST <sidecar>/orders` with `dapr-app-id: order-processor`, wait for the answer (no
//! client timeout: a request held in the sidecar's retry loop simply waits), sleep 1 s, next.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::http::SidecarClient;
use crate::event::{AppEvent, EventBus};

pub struct Checkout {
    pub app_id: Arc<str>,
    pub sidecar: SocketAddr,
    pub target: String,
    pub interval: Duration,
    /// Cancelled when the run ends: answers after that are not reported.
    pub stop: tokio_util::sync::CancellationToken,
}

impl Checkout {
    /// Runs until the run ends (`stop`).
    pub async fn run(self, bus: EventBus) {
        let client = SidecarClient::new(self.sidecar);
        let headers = [("dapr-app-id", self.target.as_str()), (super::OUR_ORDER, &*self.app_id)];
        for order_id in 1u64.. {
            bus.app(&self.app_id, AppEvent::OrderSent { order_id });
            let body = format!("{{\"orderId\":{order_id}}}");
            let sent = client.post_json("/orders", &headers, body);
            let Some(answer) = super::unless_run_ended(&self.stop, sent).await else {
                return;
            };
            bus.app(&self.app_id, outcome(order_id, answer));
            let pause = tokio::time::sleep(self.interval);
            if self.stop.run_until_cancelled(pause).await.is_none() {
                return;
            }
        }
    }
}

/// What checkout prints for an order's answer: passed, or failed with Dapr's status, code and message.
pub(super) fn outcome(order_id: u64, answer: Result<super::http::Answer, String>) -> AppEvent {
    match answer {
        Ok(answer) if answer.is_success() => AppEvent::OrderPassed { order_id },
        other => super::order_failed(order_id, other),
    }
}
