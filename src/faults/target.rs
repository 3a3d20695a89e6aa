//! What a fault acts on, and what injecting and clearing it do there.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::docker::Container;
use super::redis_server::RedisServer;
use crate::apps::order_processor::OrderProcessor;
use crate::apps::process::AppProcess;
use crate::duration::format_go_duration as go;
use crate::hop_faults::blackhole::Blackhole;
use crate::hop_faults::channel::{ChannelFault, ChannelFaults};
use crate::hop_faults::store_calls::{StoreFault, StoreFaults};
use crate::sidecar::{STOP_GRACE, Sidecar};
use crate::state::memory::MemoryStore;

/// What a fault acts on.
pub enum FaultTarget {
    App(Arc<OrderProcessor>),
    /// An app and its sidecar, stopped and started together.
    AppAndSidecar {
        app: Arc<OrderProcessor>,
        sidecar: Arc<Sidecar>,
    },
    RedisServer(Arc<RedisServer>),
    /// A redis-server frozen with SIGSTOP, let go with SIGCONT.
    PauseRedisServer(Arc<RedisServer>),
    MemoryOutage {
        component: String,
        store: Arc<MemoryStore>,
    },
    /// The in-memory store's calls wait until it is unpaused.
    PauseMemory {
        component: String,
        store: Arc<MemoryStore>,
    },
    /// Docker's `dapr_redis` (stop / start through the engine's API).
    Container(Arc<Container>),
    /// Docker's `dapr_redis` paused and unpaused.
    PauseContainer(Arc<Container>),
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
        /// The cycle running while the fault is on, and what ends it.
        cycle: std::sync::Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
    },
    /// A run template's app, a real process: SIGTERM to its group (SIGKILL after 5 s); clearing starts it again.
    Process(Arc<AppProcess>),
    /// ... and its sidecar with it (the quickstart's Ctrl-C on `dapr run`).
    ProcessAndSidecar {
        process: Arc<AppProcess>,
        sidecar: Arc<Sidecar>,
    },
    /// A real app frozen with SIGSTOP to its group, let go with SIGCONT.
    PauseProcess(Arc<AppProcess>),
    /// A fault on the hop from a sidecar to a state store (see `store_calls.rs`).
    StoreCall {
        component: String,
        faults: Arc<StoreFaults>,
        fault: StoreFault,
    },
}

fn text<E: std::fmt::Display>(r: Result<(), E>) -> Result<(), String> {
    r.map_err(|e| e.to_string())
}

impl FaultTarget {
    /// What injecting does, in words.
    pub fn description(&self) -> String {
        match self {
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
            FaultTarget::PauseRedisServer(p) => {
                format!(
                    "pause redis-server on {} (SIGSTOP: it holds connections and answers nothing)",
                    p.addr()
                )
            }
            FaultTarget::MemoryOutage { component, .. } => {
                format!("simulated outage of the in-memory {component} store (every call fails)")
            }
            FaultTarget::PauseMemory { component, .. } => {
                format!("simulated pause of the in-memory {component} store (every call waits)")
            }
            FaultTarget::Container(c) => format!("docker stop {}", c.name()),
            FaultTarget::PauseContainer(c) => {
                format!(
                    "docker pause {} (Redis holds its connections and answers nothing)",
                    c.name()
                )
            }
            FaultTarget::Channel { app_id, fault, .. } => match fault {
                ChannelFault::Hang => format!("{app_id} accepts calls and never answers"),
                ChannelFault::Reset => format!("{app_id} resets every connection"),
                ChannelFault::Latency { .. } => {
                    format!("calls to {app_id} wait {}", fault.parameters())
                }
                ChannelFault::HttpError { status, percent } => {
                    format!("{app_id} answers {status} to {percent}% of calls (its sidecar does, in its place)")
                }
            },
            FaultTarget::Flap { app, down, up, .. } => format!(
                "{} stops for {}, listens for {}, over and over",
                app.app_id(),
                go(*down),
                go(*up)
            ),
            FaultTarget::StoreCall { component, fault, .. } => match fault {
                StoreFault::Latency { .. } => {
                    format!("calls to the {component} store wait {}", fault.parameters())
                }
                StoreFault::Error { message } => format!("calls to the {component} store fail: {message}"),
            },
            FaultTarget::Process(p) => format!("stop {} (SIGTERM to its process group)", p.app_id()),
            FaultTarget::ProcessAndSidecar { process, sidecar } => format!(
                "stop {} and its sidecar ({} refuses connections)",
                process.app_id(),
                sidecar.addr()
            ),
            FaultTarget::PauseProcess(p) => {
                format!(
                    "pause {} (SIGSTOP: it holds its connections and answers nothing)",
                    p.app_id()
                )
            }
        }
    }

    pub fn cleared_description(&self) -> String {
        match self {
            FaultTarget::App(app) => format!("{} listens again on {}", app.app_id(), app.addr()),
            FaultTarget::AppAndSidecar { app, sidecar } => format!(
                "{} and its sidecar listen again on {} and {}",
                app.app_id(),
                app.addr(),
                sidecar.addr()
            ),
            FaultTarget::RedisServer(p) => format!("redis-server listens again on {}", p.addr()),
            FaultTarget::PauseRedisServer(p) => format!("redis-server on {} goes on (SIGCONT)", p.addr()),
            FaultTarget::MemoryOutage { component, .. } | FaultTarget::PauseMemory { component, .. } => {
                format!("the in-memory {component} store answers again")
            }
            FaultTarget::Container(c) => format!("docker start {}", c.name()),
            FaultTarget::PauseContainer(c) => format!("docker unpause {}", c.name()),
            FaultTarget::Channel { app_id, .. } => format!("calls to {app_id} pass again"),
            FaultTarget::Flap { app, .. } => format!("{} listens again on {}", app.app_id(), app.addr()),
            FaultTarget::StoreCall { component, .. } => format!("calls to the {component} store pass again"),
            FaultTarget::Process(p) => format!("{} started again", p.app_id()),
            FaultTarget::ProcessAndSidecar { process, sidecar } => {
                format!(
                    "{} started again; its sidecar listens on {}",
                    process.app_id(),
                    sidecar.addr()
                )
            }
            FaultTarget::PauseProcess(p) => format!("{} goes on (SIGCONT)", p.app_id()),
        }
    }

    /// The command that clears this fault by hand, when the tool could not.
    pub fn manual_clear_command(&self) -> Option<String> {
        match self {
            FaultTarget::Container(c) => Some(c.start_command()),
            FaultTarget::PauseContainer(c) => Some(c.unpause_command()),
            _ => None,
        }
    }

    /// Makes an injected latency `step` longer or shorter: the new one, if this is a latency and it changed.
    pub fn adjust_latency(&self, step: Duration, longer: bool) -> Option<Adjusted> {
        match self {
            FaultTarget::Channel { app_id, faults, .. } => {
                let delay = faults.adjust_latency(step, longer)?;
                Some(Adjusted {
                    description: format!("calls to {app_id} now wait {}", go(delay)),
                    action: format!("latency {}", go(delay)),
                    delay,
                })
            }
            FaultTarget::StoreCall { component, faults, .. } => {
                let delay = faults.adjust_latency(step, longer)?;
                Some(Adjusted {
                    description: format!("calls to the {component} store now wait {}", go(delay)),
                    action: format!("store latency {}", go(delay)),
                    delay,
                })
            }
            _ => None,
        }
    }

    /// Injects: stops, freezes or breaks what this fault acts on.
    pub async fn apply(&self) -> Result<(), String> {
        match self {
            FaultTarget::App(app) => app.stop().await,
            FaultTarget::AppAndSidecar { app, sidecar } => {
                sidecar.stop_serving(STOP_GRACE).await;
                app.stop().await;
            }
            FaultTarget::RedisServer(p) => p.stop().await,
            FaultTarget::PauseRedisServer(p) => return text(p.set_paused(true).await),
            FaultTarget::MemoryOutage { store, .. } => store.set_down(true),
            FaultTarget::PauseMemory { store, .. } => store.set_paused(true),
            FaultTarget::Container(c) => return text(c.stop().await),
            FaultTarget::PauseContainer(c) => return text(c.pause().await),
            FaultTarget::Channel {
                faults,
                fault,
                blackhole,
                ..
            } => faults.set(fault, true, blackhole.as_ref().map(Blackhole::addr)),
            FaultTarget::Flap { app, down, up, cycle } => {
                let (app, down, up) = (app.clone(), *down, *up);
                let stop = CancellationToken::new();
                let ends = stop.clone();
                // Told to end, it ends between two steps: never with the app half stopped or half started.
                let task = tokio::spawn(async move {
                    loop {
                        app.stop().await;
                        if ends.run_until_cancelled(tokio::time::sleep(down)).await.is_none() {
                            return;
                        }
                        if let Err(e) = app.start().await {
                            tracing::warn!("flap: {} could not listen again: {e}", app.app_id());
                        }
                        if ends.run_until_cancelled(tokio::time::sleep(up)).await.is_none() {
                            return;
                        }
                    }
                });
                *cycle.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, task));
            }
            FaultTarget::StoreCall { faults, fault, .. } => faults.set(fault, true),
            FaultTarget::Process(p) => p.stop().await,
            FaultTarget::ProcessAndSidecar { process, sidecar } => {
                sidecar.stop_serving(STOP_GRACE).await;
                process.stop().await;
            }
            FaultTarget::PauseProcess(p) => return text(p.set_paused(true).await),
        }
        Ok(())
    }

    /// Clears: starts, lets go or mends what this fault acts on.
    pub async fn undo(&self) -> Result<(), String> {
        match self {
            FaultTarget::App(app) => text(app.start().await),
            FaultTarget::AppAndSidecar { app, sidecar } => match app.start().await {
                Ok(()) => text(sidecar.start_serving().await),
                Err(e) => Err(e.to_string()),
            },
            FaultTarget::RedisServer(p) => text(p.start().await),
            FaultTarget::PauseRedisServer(p) => text(p.set_paused(false).await),
            FaultTarget::MemoryOutage { store, .. } => {
                store.set_down(false);
                Ok(())
            }
            FaultTarget::PauseMemory { store, .. } => {
                store.set_paused(false);
                Ok(())
            }
            FaultTarget::Container(c) => text(c.start().await),
            FaultTarget::PauseContainer(c) => text(c.unpause().await),
            FaultTarget::Channel { faults, fault, .. } => {
                faults.set(fault, false, None);
                Ok(())
            }
            FaultTarget::Flap { app, cycle, .. } => {
                let running = cycle.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some((stop, task)) = running {
                    stop.cancel();
                    let _ = task.await;
                }
                text(app.start().await)
            }
            FaultTarget::StoreCall { faults, fault, .. } => {
                faults.set(fault, false);
                Ok(())
            }
            FaultTarget::Process(p) => text(p.start().await),
            FaultTarget::ProcessAndSidecar { process, sidecar } => match sidecar.start_serving().await {
                Ok(()) => text(process.start().await),
                Err(e) => Err(e.to_string()),
            },
            FaultTarget::PauseProcess(p) => text(p.set_paused(false).await),
        }
    }
}

/// A latency made longer or shorter: what the fault now does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjusted {
    /// `calls to order-processor now wait 1.5s`.
    pub description: String,
    /// The fault's action in a few words (`latency 1.5s`), as the footer and picker show it.
    pub action: String,
    pub delay: Duration,
}
