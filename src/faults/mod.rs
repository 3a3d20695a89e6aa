//! Faults a learner injects and clears, and what they act on. Inject and clear are idempotent; every change is
//! an event.
//!
//! What a fault stops depends on the scenario and on what this machine has (`stores.rs` chooses): an app's
//! listener, a `redis-server` process the tool started (`redis_server.rs`), Docker's `dapr_redis` container
//! (`docker.rs`, with `leftover.rs` for what a killed run left), or the in-memory store (a simulated outage).
//! [`FaultSet`] holds a run's faults; once the run shuts down it refuses new injections, so a key pressed
//! during the shutdown cannot stop something after it was started again.

pub mod docker;
pub mod redis_server;
pub(crate) mod stores;
mod target;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Mutex;

use crate::event::{Event, EventBus, FaultChange, FaultEvent};
use crate::scenario::FaultSpec;
pub use stores::StateStoreChoice;
pub use target::FaultTarget;

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
        self.target.manual_clear_command()
    }

    pub async fn is_injected(&self) -> bool {
        *self.injected.lock().await
    }

    /// What injecting does, in words.
    pub fn description(&self) -> String {
        self.target.description()
    }

    async fn inject(&self, bus: &EventBus, closing: &AtomicBool) {
        let mut injected = self.injected.lock().await;
        // Checked under the lock: a shutdown that has begun clearing never sees a fault injected after it.
        if *injected || closing.load(Ordering::SeqCst) {
            return;
        }
        self.changing(bus, FaultChange::Injecting, self.description());
        let result = self.target.apply().await;
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
        self.changing(bus, FaultChange::Clearing, self.target.cleared_description());
        let result = self.target.undo().await;
        match result {
            Ok(()) => {
                *injected = false;
                tracing::info!(fault = %self.spec.name, "cleared");
                let description = self.target.cleared_description();
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

    /// Makes every injected latency `step` longer (or shorter), and says so for each.
    pub async fn adjust_latency(&self, step: std::time::Duration, longer: bool) {
        for fault in &self.faults {
            if !fault.is_injected().await {
                continue;
            }
            if let Some(adjusted) = fault.target.adjust_latency(step, longer) {
                self.bus.emit(Event::Fault(FaultEvent::Adjusted {
                    fault: fault.spec.name.clone(),
                    description: adjusted.description,
                    action: adjusted.action,
                    delay: adjusted.delay,
                }));
            }
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
