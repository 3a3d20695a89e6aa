//! Faults a learner injects and clears, and what they act on. Inject and clear are idempotent; every change is
//! an event.
//!
//! What a fault stops depends on the scenario and on what this machine has (`stores.rs` chooses): an app's
//! listener, a `redis-server` process the tool started (`redis_server.rs`), Docker's `dapr_redis` container
//! (`docker.rs`, with `leftover.rs` for what a killed run left), or the in-memory store (a simulated outage).
//! [`FaultSet`] holds a run's faults; once the run shuts down it refuses new injections, so a key pressed
//! during the shutdown cannot stop something after it was started again.

pub mod blackhole;
pub mod channel;
pub mod docker;
pub mod leftover;
pub mod redis_server;
pub(crate) mod stores;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::apps::order_processor::OrderProcessor;
use crate::event::{Event, EventBus, FaultChange, FaultEvent};
use crate::scenario::FaultSpec;
use crate::sidecar::Sidecar;
use crate::state::memory::MemoryStore;
use blackhole::Blackhole;
use channel::{ChannelFault, ChannelFaults};
use docker::Container;
use redis_server::RedisServer;

/// What a fault acts on.
pub enum FaultTarget {
    App(Arc<OrderProcessor>),
    /// An app and its sidecar, stopped and started together.
    AppAndSidecar {
        app: Arc<OrderProcessor>,
        sidecar: Arc<Sidecar>,
    },
    RedisServer(Arc<RedisServer>),
    MemoryOutage {
        component: String,
        store: Arc<MemoryStore>,
    },
    /// Docker's `dapr_redis` (stop / start through the engine's API).
    Container(Arc<Container>),
    /// A fault on an app's channel: the hop from its sidecar to the app (see `channel.rs`).
    Channel {
        app_id: String,
        faults: Arc<ChannelFaults>,
        fault: ChannelFault,
        /// Where a hang or a reset sends the calls.
        blackhole: Option<Blackhole>,
    },
    /// An app that stops for `down` and listens for `up`, over and over, while the fault is on.
    Flap {
        app: Arc<OrderProcessor>,
        down: Duration,
        up: Duration,
        cycle: std::sync::Mutex<Option<JoinHandle<()>>>,
    },
}

/// One fault of the running scenario.
pub struct Fault {
    pub spec: FaultSpec,
    target: FaultTarget,
    injected: Mutex<bool>,
}

impl Fault {
    pub fn new(spec: FaultSpec, target: FaultTarget) -> Self {
        Self {
            spec,
            target,
            injected: Mutex::new(false),
        }
    }

    /// A fault already in effect when the run starts (e.g. `dapr_redis` found stopped): clearing it (key `c`,
    /// or the exit) starts the store.
    pub fn already_injected(spec: FaultSpec, target: FaultTarget) -> Self {
        Self {
            spec,
            target,
            injected: Mutex::new(true),
        }
    }

    fn changing(&self, bus: &EventBus, what: FaultChange, description: String) {
        bus.emit(Event::Fault(FaultEvent::Changing {
            fault: self.spec.name.clone(),
            what,
            description,
        }));
    }

    /// The command that clears this fault by hand, when the tool could not.
    pub fn manual_clear_command(&self) -> Option<String> {
        match &self.target {
            FaultTarget::Container(c) => Some(c.start_command()),
            _ => None,
        }
    }

    pub async fn is_injected(&self) -> bool {
        *self.injected.lock().await
    }

    /// What injecting does, in words.
    pub fn description(&self) -> String {
        match &self.target {
            FaultTarget::App(app) => format!(
                "stop {}'s app only ({} refuses connections; its sidecar answers)",
                app.app_id(),
                app.addr()
            ),
            FaultTarget::AppAndSidecar { app, sidecar } => format!(
                "stop {} and its sidecar ({} and {} refuse connections)",
                app.app_id(),
                app.addr(),
                sidecar.addr()
            ),
            FaultTarget::RedisServer(p) => format!("stop redis-server ({} refuses connections)", p.addr()),
            FaultTarget::MemoryOutage { component, .. } => {
                format!("simulated outage of the in-memory {component} store (every call fails)")
            }
            FaultTarget::Container(c) => format!("docker stop {}", c.name()),
            FaultTarget::Channel { app_id, fault, .. } => match fault {
                ChannelFault::Hang => format!("{app_id} hangs: its sidecar's calls are accepted and never answered"),
                ChannelFault::Reset => format!("{app_id} resets every connection from its sidecar"),
                ChannelFault::Latency { .. } => {
                    format!(
                        "every call to {app_id} waits {} on its sidecar's hop",
                        fault.parameters()
                    )
                }
                ChannelFault::HttpError { status, percent } => {
                    format!("{app_id}'s sidecar answers {status} in its place to {percent}% of calls")
                }
            },
            FaultTarget::Flap { app, down, up, .. } => format!(
                "{} stops for {}, listens for {}, over and over",
                app.app_id(),
                crate::duration::format_go_duration(*down),
                crate::duration::format_go_duration(*up)
            ),
        }
    }

    fn cleared_description(&self) -> String {
        match &self.target {
            FaultTarget::App(app) => format!("{} listens again on {}", app.app_id(), app.addr()),
            FaultTarget::AppAndSidecar { app, sidecar } => format!(
                "{} and its sidecar listen again on {} and {}",
                app.app_id(),
                app.addr(),
                sidecar.addr()
            ),
            FaultTarget::RedisServer(p) => format!("redis-server listens again on {}", p.addr()),
            FaultTarget::MemoryOutage { component, .. } => format!("the in-memory {component} store answers again"),
            FaultTarget::Container(c) => format!("docker start {}", c.name()),
            FaultTarget::Channel { app_id, .. } => format!("calls to {app_id} pass again"),
            FaultTarget::Flap { app, .. } => format!("{} listens again on {}", app.app_id(), app.addr()),
        }
    }

    async fn inject(&self, bus: &EventBus, closing: &AtomicBool) {
        let mut injected = self.injected.lock().await;
        // Checked under the lock: a shutdown that has begun clearing never sees a fault injected after it.
        if *injected || closing.load(Ordering::SeqCst) {
            return;
        }
        self.changing(bus, FaultChange::Injecting, self.description());
        let result = match &self.target {
            FaultTarget::App(app) => {
                app.stop().await;
                Ok(())
            }
            FaultTarget::AppAndSidecar { app, sidecar } => {
                sidecar.stop_serving().await;
                app.stop().await;
                Ok(())
            }
            FaultTarget::RedisServer(p) => {
                p.stop().await;
                Ok(())
            }
            FaultTarget::MemoryOutage { store, .. } => {
                store.set_down(true);
                Ok(())
            }
            FaultTarget::Container(c) => c.stop().await.map_err(|e| e.to_string()),
            FaultTarget::Channel {
                faults,
                fault,
                blackhole,
                ..
            } => {
                faults.set(fault, true, blackhole.as_ref().map(Blackhole::addr));
                Ok(())
            }
            FaultTarget::Flap { app, down, up, cycle } => {
                let (app, down, up) = (app.clone(), *down, *up);
                let task = tokio::spawn(async move {
                    loop {
                        app.stop().await;
                        tokio::time::sleep(down).await;
                        if let Err(e) = app.start().await {
                            tracing::warn!("flap: {} could not listen again: {e}", app.app_id());
                        }
                        tokio::time::sleep(up).await;
                    }
                });
                *cycle.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::warn!(fault = %self.spec.name, "injecting failed: {error}");
            bus.emit(Event::Fault(FaultEvent::Failed {
                fault: self.spec.name.clone(),
                error,
            }));
            return;
        }
        *injected = true;
        tracing::info!(fault = %self.spec.name, "injected: {}", self.description());
        bus.emit(Event::Fault(FaultEvent::Injected {
            fault: self.spec.name.clone(),
            description: self.description(),
        }));
    }

    async fn clear(&self, bus: &EventBus) {
        let mut injected = self.injected.lock().await;
        if !*injected {
            return;
        }
        self.changing(bus, FaultChange::Clearing, self.cleared_description());
        let result = match &self.target {
            FaultTarget::App(app) => app.start().await.map_err(|e| e.to_string()),
            FaultTarget::AppAndSidecar { app, sidecar } => match app.start().await {
                Ok(()) => sidecar.start_serving().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            FaultTarget::RedisServer(p) => p.start().await.map_err(|e| e.to_string()),
            FaultTarget::MemoryOutage { store, .. } => {
                store.set_down(false);
                Ok(())
            }
            FaultTarget::Container(c) => c.start().await.map_err(|e| e.to_string()),
            FaultTarget::Channel { faults, fault, .. } => {
                faults.set(fault, false, None);
                Ok(())
            }
            FaultTarget::Flap { app, cycle, .. } => {
                let task = cycle.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(task) = task {
                    task.abort();
                    let _ = task.await;
                }
                app.start().await.map_err(|e| e.to_string())
            }
        };
        match result {
            Ok(()) => {
                *injected = false;
                tracing::info!(fault = %self.spec.name, "cleared");
                let description = self.cleared_description();
                bus.emit(Event::Fault(FaultEvent::Cleared {
                    fault: self.spec.name.clone(),
                    description,
                }));
            }
            Err(error) => {
                tracing::warn!(fault = %self.spec.name, "clearing failed: {error}");
                bus.emit(Event::Fault(FaultEvent::Failed {
                    fault: self.spec.name.clone(),
                    error,
                }));
            }
        }
    }
}

/// A run's faults, shared by the keys, the `--fault-at` timers and the shutdown.
pub struct FaultSet {
    faults: Vec<Fault>,
    bus: EventBus,
    /// Set when the run starts to shut down: no fault is injected after that.
    closing: AtomicBool,
}

impl FaultSet {
    pub fn new(faults: Vec<Fault>, bus: EventBus) -> Self {
        Self {
            faults,
            bus,
            closing: AtomicBool::new(false),
        }
    }

    pub fn specs(&self) -> impl Iterator<Item = &FaultSpec> {
        self.faults.iter().map(|f| &f.spec)
    }

    pub fn len(&self) -> usize {
        self.faults.len()
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Injects fault `i` (nothing when there is none, or the run is shutting down).
    pub async fn inject(&self, i: usize) {
        if let Some(fault) = self.faults.get(i) {
            fault.inject(&self.bus, &self.closing).await;
        }
    }

    /// Clears fault `i` (nothing when there is none, or it is not injected).
    pub async fn clear(&self, i: usize) {
        if let Some(fault) = self.faults.get(i) {
            fault.clear(&self.bus).await;
        }
    }

    pub async fn clear_all(&self) {
        for fault in &self.faults {
            fault.clear(&self.bus).await;
        }
    }

    /// From now on nothing is injected; then clears everything. An injection in flight finishes first (it
    /// holds its fault's lock), and is then cleared.
    pub async fn close_and_clear(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.clear_all().await;
    }

    /// For each fault still in effect, what to tell the user: its name and, where there is one, the command
    /// that clears it by hand. Never waits: a fault whose change is still in flight counts as in effect.
    pub fn still_injected(&self) -> Vec<String> {
        self.faults
            .iter()
            .filter(|f| f.injected.try_lock().map(|i| *i).unwrap_or(true))
            .map(|f| {
                let by_hand = f
                    .manual_clear_command()
                    .map(|c| format!("; run: {c}"))
                    .unwrap_or_default();
                format!("warning: fault {} is still in effect{by_hand}", f.spec.name)
            })
            .collect()
    }
}
