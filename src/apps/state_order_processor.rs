//! `order-processor` (state flavour), as the state-management quickstart app does: one order at a time, save
//! `{"orderId":"N"}` under key `N` through its sidecar's state API, read it back, sleep, next. No client
//! timeout shorter than the policy's: a save held in the sidecar's retry loop simply waits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::http::SidecarClient;
use crate::event::{AppEvent, EventBus};

pub struct StateOrderProcessor {
    pub app_id: Arc<str>,
    pub sidecar: SocketAddr,
    pub store: String,
    pub interval: Duration,
    /// Cancelled when the run ends: answers after that are not reported.
    pub stop: tokio_util::sync::CancellationToken,
}

impl StateOrderProcessor {
    /// Runs until the run ends (`stop`).
    pub async fn run(self, bus: EventBus) {
        let client = SidecarClient::new(self.sidecar);
        let base = format!("/v1.0/state/{}", self.store);
        for order_id in 1u64.. {
            bus.app(&self.app_id, AppEvent::OrderSent { order_id });
            let body = format!("[{{\"key\":\"{order_id}\",\"value\":{{\"orderId\":\"{order_id}\"}}}}]");
            let Some(saved) = super::unless_run_ended(&self.stop, client.post_json(&base, &[], body)).await else {
                return;
            };
            let event = match saved {
                Ok(answer) if answer.is_success() => {
                    bus.app(&self.app_id, AppEvent::OrderSaved { order_id });
                    let read = read_back(&client, &base, order_id);
                    let Some(event) = super::unless_run_ended(&self.stop, read).await else {
                        return;
                    };
                    event
                }
                saved => super::order_failed(order_id, saved),
            };
            bus.app(&self.app_id, event);
            let pause = tokio::time::sleep(self.interval);
            if self.stop.run_until_cancelled(pause).await.is_none() {
                return;
            }
        }
    }
}

/// Reads the order back: `OrderRead` when the store holds it, else why not.
async fn read_back(client: &SidecarClient, base: &str, order_id: u64) -> AppEvent {
    match client.get(&format!("{base}/{order_id}")).await {
        Ok(answer) if answer.status == 200 && super::order_id(&answer.body) == Some(order_id) => {
            AppEvent::OrderRead { order_id }
        }
        Ok(answer) if answer.status == 200 => AppEvent::OrderFailed {
            order_id,
            status: 200,
            error_code: None,
            message: format!("read back {} instead", String::from_utf8_lossy(&answer.body)),
        },
        other => super::order_failed(order_id, other),
    }
}
