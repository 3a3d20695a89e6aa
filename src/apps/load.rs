//! `checkout-load`: a checkout that does not wait for one order before the next: it sends `per_second` orders
//! a second, each on its own, as many clients of a real service would. The quickstart's checkout sends one
//! order at a time, so a held order blocks the rest and a circuit breaker has little to save; under load the
//! breaker's point shows: without it every retry lands on the sick service.
//!
//! The [`meter`] says once a second, per caller, how many calls reached the callee's sidecar and how long the
//! callers' answers took (an [`Event::Traffic`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::http::SidecarClient;
use crate::event::{AppEvent, CallerTraffic, Event, EventBus};
use crate::sidecar::Sidecar;

/// The answers one caller got since the meter last looked.
#[derive(Debug, Default)]
pub struct LoadStats {
    answered: u64,
    total: Duration,
    longest: Duration,
}

impl LoadStats {
    fn note(&mut self, took: Duration) {
        self.answered += 1;
        self.total += took;
        self.longest = self.longest.max(took);
    }
}

pub struct CheckoutLoad {
    pub app_id: Arc<str>,
    pub sidecar: SocketAddr,
    pub target: String,
    pub per_second: u32,
    /// Its orders are numbered from here, so that two callers' orders never share an id.
    pub first_order_id: u64,
    pub stats: Arc<Mutex<LoadStats>>,
    /// Cancelled when the run ends: answers after that are not reported.
    pub stop: tokio_util::sync::CancellationToken,
}

impl CheckoutLoad {
    /// Runs until the run ends (`stop`); each order's request is a task of its own, and each ends with it.
    pub async fn run(self, bus: EventBus) {
        let client = Arc::new(SidecarClient::new(self.sidecar));
        let gap = Duration::from_secs(1) / self.per_second.max(1);
        let mut tick = tokio::time::interval(gap);
        let mut orders = tokio::task::JoinSet::new();
        for order_id in self.first_order_id.. {
            if self.stop.run_until_cancelled(tick.tick()).await.is_none() {
                break;
            }
            while orders.try_join_next().is_some() {}
            let (client, bus, app_id, target, stats, stop) = (
                client.clone(),
                bus.clone(),
                self.app_id.clone(),
                self.target.clone(),
                self.stats.clone(),
                self.stop.clone(),
            );
            orders.spawn(async move {
                bus.app(&app_id, AppEvent::OrderSent { order_id });
                let started = Instant::now();
                let headers = [("dapr-app-id", target.as_str()), (super::OUR_ORDER, &*app_id)];
                let sent = client.post_json("/orders", &headers, format!("{{\"orderId\":{order_id}}}"));
                let Some(answer) = super::unless_run_ended(&stop, sent).await else {
                    return;
                };
                stats.lock().unwrap_or_else(|p| p.into_inner()).note(started.elapsed());
                bus.app(&app_id, super::checkout::outcome(order_id, answer));
            });
        }
        // Each order in flight ends at once now (it reports nothing after the run's end).
        while orders.join_next().await.is_some() {}
    }
}

/// Once a second, the calls from each of `callers` that reached `callee`'s sidecar, and their answers' times;
/// until `stop` is cancelled.
pub async fn meter(
    callee: Arc<Sidecar>,
    callers: Vec<(String, Arc<Mutex<LoadStats>>)>,
    bus: EventBus,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        if stop.run_until_cancelled(tick.tick()).await.is_none() {
            return;
        }
        let served = callee.take_served();
        let callers = callers
            .iter()
            .map(|(caller, stats)| {
                let s = std::mem::take(&mut *stats.lock().unwrap_or_else(|p| p.into_inner()));
                let mean = s.total.checked_div(s.answered as u32).unwrap_or_default();
                CallerTraffic {
                    caller: caller.clone(),
                    reached: served.get(caller).copied().unwrap_or(0),
                    answered: s.answered,
                    mean_ms: mean.as_millis() as u64,
                    max_ms: s.longest.as_millis() as u64,
                }
            })
            .collect();
        bus.emit(Event::Traffic {
            callee: callee.app_id().to_string(),
            callers,
        });
    }
}
