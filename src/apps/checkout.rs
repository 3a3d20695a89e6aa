//! `checkout`: sends orders 1, 2, 3, … to order-processor through its sidecar, one at a time, as the
//! quickstart app does: `POST <sidecar>/orders` with `dapr-app-id: order-processor`, wait for the answer (no
//! client timeout: a request held in the sidecar's retry loop simply waits), sleep 1 s, next.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use crate::event::{AppEvent, EventBus};

pub struct Checkout {
    pub app_id: Arc<str>,
    pub sidecar: SocketAddr,
    pub target: String,
    pub interval: Duration,
}

impl Checkout {
    /// Runs until the task is dropped or aborted.
    pub async fn run(self, bus: EventBus) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client without TLS always builds");
        let url = format!("http://{}/orders", self.sidecar);
        for order_id in 1u64.. {
            bus.app(&self.app_id, AppEvent::OrderSent { order_id });
            let sent = client
                .post(&url)
                .header("dapr-app-id", &self.target)
                .header("content-type", "application/json")
                .body(format!("{{\"orderId\":{order_id}}}"))
                .send()
                .await;
            let event = match sent {
                Ok(r) if r.status().is_success() => AppEvent::OrderPassed { order_id },
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.bytes().await.unwrap_or_default();
                    let (error_code, message) = dapr_error(&body);
                    AppEvent::OrderFailed {
                        order_id,
                        status,
                        error_code,
                        message,
                    }
                }
                Err(e) => AppEvent::OrderFailed {
                    order_id,
                    status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
                    error_code: None,
                    message: format!("could not reach the sidecar at {url}: {e}"),
                },
            };
            bus.app(&self.app_id, event);
            tokio::time::sleep(self.interval).await;
        }
    }
}

/// The `errorCode` and `message` of a Dapr error body, or the raw body.
fn dapr_error(body: &[u8]) -> (Option<String>, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    match parsed {
        Some(v) if field(&v, "errorCode").is_some() => {
            (field(&v, "errorCode"), field(&v, "message").unwrap_or_default())
        }
        _ => (None, String::from_utf8_lossy(body).into_owned()),
    }
}
