//! `order-processor` (state flavour), as the state-management quickstart app does: one order at a time, save
//! `{"orderId":"N"}` under key `N` through its sidecar's state API, read it back, sleep, next. No client
//! timeout shorter than the policy's: a save held in the sidecar's retry loop simply waits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::event::{AppEvent, EventBus};

pub struct StateOrderProcessor {
    pub app_id: Arc<str>,
    pub sidecar: SocketAddr,
    pub store: String,
    pub interval: Duration,
}

impl StateOrderProcessor {
    /// Runs until the task is dropped or aborted.
    pub async fn run(self, bus: EventBus) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client without TLS always builds");
        let base = format!("http://{}/v1.0/state/{}", self.sidecar, self.store);
        for order_id in 1u64.. {
            bus.app(&self.app_id, AppEvent::OrderSent { order_id });
            let body = format!("[{{\"key\":\"{order_id}\",\"value\":{{\"orderId\":\"{order_id}\"}}}}]");
            let saved = client
                .post(&base)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            match saved {
                Ok(r) if r.status().is_success() => bus.app(&self.app_id, AppEvent::OrderSaved { order_id }),
                other => {
                    bus.app(&self.app_id, failure(order_id, other).await);
                    tokio::time::sleep(self.interval).await;
                    continue;
                }
            }
            let read = client.get(format!("{base}/{order_id}")).send().await;
            match read {
                Ok(r) if r.status().as_u16() == 200 => {
                    let body = r.bytes().await.unwrap_or_default();
                    if super::order_id(&body) == Some(order_id) {
                        bus.app(&self.app_id, AppEvent::OrderRead { order_id });
                    } else {
                        let message = format!("read back {} instead", String::from_utf8_lossy(&body));
                        let event = AppEvent::OrderFailed {
                            order_id,
                            status: 200,
                            error_code: None,
                            message,
                        };
                        bus.app(&self.app_id, event);
                    }
                }
                other => bus.app(&self.app_id, failure(order_id, other).await),
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

async fn failure(order_id: u64, answer: Result<reqwest::Response, reqwest::Error>) -> AppEvent {
    match answer {
        Ok(r) => {
            let status = r.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or_default();
            let field = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
            AppEvent::OrderFailed {
                order_id,
                status,
                error_code: field("errorCode"),
                message: field("message").unwrap_or_default(),
            }
        }
        Err(e) => AppEvent::OrderFailed {
            order_id,
            status: 503,
            error_code: None,
            message: format!("could not reach the sidecar: {e}"),
        },
    }
}
