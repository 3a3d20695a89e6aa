//! Faults a learner injects and clears. Inject and clear are idempotent; every change is an event.
//!
//! What a fault stops depends on the scenario and on what this machine has: an app's listener, a
//! `redis-server` process the tool started, or the in-memory store (a simulated outage).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::apps::order_processor::OrderProcessor;
use crate::docker::Container;
use crate::event::{Event, EventBus, FaultEvent};
use crate::scenario::FaultSpec;
use crate::state::memory::MemoryStore;

/// What a fault acts on.
pub enum FaultTarget {
    App(Arc<OrderProcessor>),
    RedisProcess(Arc<RedisProcess>),
    MemoryOutage {
        component: String,
        store: Arc<MemoryStore>,
    },
    /// Docker's `dapr_redis` (stop / start through the engine's API).
    Container(Arc<Container>),
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

    fn changing(&self, bus: &EventBus, what: &'static str, description: String) {
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
            FaultTarget::App(app) => format!("stop {} ({} refuses connections)", app.app_id(), app.addr()),
            FaultTarget::RedisProcess(p) => format!("stop redis-server ({} refuses connections)", p.addr()),
            FaultTarget::MemoryOutage { component, .. } => {
                format!("simulated outage of the in-memory {component} store (every call fails)")
            }
            FaultTarget::Container(c) => format!("docker stop {}", c.name()),
        }
    }

    fn cleared_description(&self) -> String {
        match &self.target {
            FaultTarget::App(app) => format!("{} listens again on {}", app.app_id(), app.addr()),
            FaultTarget::RedisProcess(p) => format!("redis-server listens again on {}", p.addr()),
            FaultTarget::MemoryOutage { component, .. } => format!("the in-memory {component} store answers again"),
            FaultTarget::Container(c) => format!("docker start {}", c.name()),
        }
    }

    pub async fn inject(&self, bus: &EventBus) {
        let mut injected = self.injected.lock().await;
        if *injected {
            return;
        }
        self.changing(bus, "injecting", self.description());
        let result = match &self.target {
            FaultTarget::App(app) => {
                app.stop().await;
                Ok(())
            }
            FaultTarget::RedisProcess(p) => {
                p.stop().await;
                Ok(())
            }
            FaultTarget::MemoryOutage { store, .. } => {
                store.set_down(true);
                Ok(())
            }
            FaultTarget::Container(c) => c.stop().await.map_err(|e| e.to_string()),
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

    pub async fn clear(&self, bus: &EventBus) {
        let mut injected = self.injected.lock().await;
        if !*injected {
            return;
        }
        self.changing(bus, "clearing", self.cleared_description());
        let result = match &self.target {
            FaultTarget::App(app) => app.start().await.map_err(|e| e.to_string()),
            FaultTarget::RedisProcess(p) => p.start().await.map_err(|e| e.to_string()),
            FaultTarget::MemoryOutage { store, .. } => {
                store.set_down(false);
                Ok(())
            }
            FaultTarget::Container(c) => c.start().await.map_err(|e| e.to_string()),
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

/// A `redis-server` the tool runs on a loopback port (when Docker's `dapr_redis` is not used), which the
/// fault stops and starts. Like `dapr_redis` it keeps Redis's default snapshots (in a temporary folder), and it
/// is stopped with SIGTERM so it saves them: an order saved before the stop is still there after the start.
/// Killed when dropped.
pub struct RedisProcess {
    addr: SocketAddr,
    dir: std::path::PathBuf,
    child: Mutex<Option<tokio::process::Child>>,
}

impl RedisProcess {
    /// Whether `redis-server` is on PATH.
    pub async fn available() -> bool {
        let probe = tokio::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .await;
        probe.is_ok_and(|o| o.status.success())
    }

    pub fn new(addr: SocketAddr) -> Self {
        let dir = std::env::temp_dir().join(format!("resilience-tui-redis-{}-{}", std::process::id(), addr.port()));
        Self {
            addr,
            dir,
            child: Mutex::new(None),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts it (no persistence) and waits until it accepts connections.
    pub async fn start(&self) -> std::io::Result<()> {
        let mut child = self.child.lock().await;
        if child.is_some() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let spawned = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &self.addr.port().to_string(),
                "--bind",
                &self.addr.ip().to_string(),
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        *child = Some(spawned);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::other(format!(
            "redis-server did not listen on {} within 5s",
            self.addr
        )))
    }

    /// SIGTERM (Redis saves its snapshot and exits), then SIGKILL if it has not exited within 3s.
    pub async fn stop(&self) {
        let Some(mut child) = self.child.lock().await.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(3), child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = child.kill().await;
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
