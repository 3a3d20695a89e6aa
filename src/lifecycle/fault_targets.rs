//! What each of a scenario's faults acts on in this run: an app, its sidecar, its app channel, a state store's
//! server (Docker's container, a redis-server, the in-memory store) or the hop to it.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Context;

use crate::apps::order_processor::OrderProcessor;
use crate::apps::process::AppProcess;
use crate::event::{ContainerState, Event, EventBus};
use crate::faults::docker::Container;
use crate::faults::stores::StoreServer;
use crate::faults::{Fault, FaultTarget};
use crate::hop_faults::blackhole::{Behaviour, Blackhole};
use crate::hop_faults::channel::ChannelFault;
use crate::scenario::{FaultAction, FaultSpec};
use crate::sidecar::Sidecar;

use super::tasks::RunTasks;

/// What this run's faults can act on.
pub(super) struct Targets<'a> {
    pub apps: &'a [Arc<OrderProcessor>],
    pub processes: &'a [Arc<AppProcess>],
    pub sidecars: &'a [Arc<Sidecar>],
    pub stores: &'a [(String, StoreServer)],
}

/// Each fault with what it acts on. A container's state is followed on Docker's event stream (a task of the
/// run); a container already stopped at start counts as an injected fault, so the exit starts it.
pub(super) async fn build_faults(
    specs: &[FaultSpec],
    targets: &Targets<'_>,
    bus: &EventBus,
    tasks: &RunTasks,
) -> anyhow::Result<Vec<Fault>> {
    let Targets {
        apps,
        processes,
        sidecars,
        stores,
    } = *targets;
    let mut faults = Vec::new();
    let mut followed = HashSet::new();
    for spec in specs {
        let target = match &spec.action {
            FaultAction::Channel { app_id, fault } => channel_target(spec, app_id, fault, sidecars).await?,
            FaultAction::Flap { app_id, down, up } => FaultTarget::Flap {
                app: app_serving(spec, app_id, apps)?,
                down: *down,
                up: *up,
                cycle: std::sync::Mutex::new(None),
            },
            FaultAction::PauseApp { app_id } => FaultTarget::PauseProcess(process(spec, app_id, processes)?),
            FaultAction::StopApp { app_id } | FaultAction::StopAppAndSidecar { app_id }
                if processes.iter().any(|p| &**p.app_id() == app_id.as_str()) =>
            {
                let process = process(spec, app_id, processes)?;
                match &spec.action {
                    FaultAction::StopAppAndSidecar { .. } => FaultTarget::ProcessAndSidecar {
                        process,
                        sidecar: sidecar_of(spec, app_id, sidecars)?,
                    },
                    _ => FaultTarget::Process(process),
                }
            }
            FaultAction::StopApp { app_id } | FaultAction::StopAppAndSidecar { app_id } => {
                let app = app_serving(spec, app_id, apps)?;
                match &spec.action {
                    FaultAction::StopAppAndSidecar { .. } => {
                        let sidecar = sidecars
                            .iter()
                            .find(|s| s.app_id() == app_id)
                            .with_context(|| format!("fault `{}`: `{app_id}` has no sidecar", spec.name))?;
                        FaultTarget::AppAndSidecar {
                            app,
                            sidecar: sidecar.clone(),
                        }
                    }
                    _ => FaultTarget::App(app),
                }
            }
            FaultAction::StopStateStore { component } | FaultAction::PauseStateStore { component } => {
                let pause = matches!(spec.action, FaultAction::PauseStateStore { .. });
                let server = stores.iter().find(|(c, _)| c == component).map(|(_, s)| s);
                if let Some(StoreServer::Container(container, running)) = server
                    && followed.insert(container.name().to_string())
                {
                    follow_container(container, *running, bus, tasks);
                }
                let target = store_target(spec, component, server, pause, sidecars)?;
                // A container found stopped is a stop fault already in effect: clearing it starts it.
                if let (Some(StoreServer::Container(_, false)), false) = (server, pause) {
                    faults.push(Fault::already_injected(spec.clone(), target));
                    continue;
                }
                target
            }
            FaultAction::StoreCall { component, fault } => FaultTarget::StoreCall {
                component: component.clone(),
                faults: sidecars
                    .iter()
                    .find_map(|s| s.store_faults(component))
                    .with_context(|| no_store(spec, component))?,
                fault: fault.clone(),
            },
        };
        faults.push(Fault::new(spec.clone(), target));
    }
    Ok(faults)
}

fn no_store(spec: &FaultSpec, component: &str) -> String {
    format!("fault `{}`: no sidecar serves the state store `{component}`", spec.name)
}

/// Stopping or pausing the server a state store runs on in this run.
fn store_target(
    spec: &FaultSpec,
    component: &str,
    server: Option<&StoreServer>,
    pause: bool,
    sidecars: &[Arc<Sidecar>],
) -> anyhow::Result<FaultTarget> {
    Ok(match (server, pause) {
        (Some(StoreServer::RedisServer(p)), false) => FaultTarget::RedisServer(p.clone()),
        (Some(StoreServer::RedisServer(p)), true) => FaultTarget::PauseRedisServer(p.clone()),
        (Some(StoreServer::Container(c, _)), false) => FaultTarget::Container(c.clone()),
        (Some(StoreServer::Container(c, _)), true) => FaultTarget::PauseContainer(c.clone()),
        (None, pause) => {
            let store = sidecars
                .iter()
                .find_map(|s| s.memory_store(component))
                .with_context(|| no_store(spec, component))?
                .clone();
            let component = component.to_string();
            match pause {
                false => FaultTarget::MemoryOutage { component, store },
                true => FaultTarget::PauseMemory { component, store },
            }
        }
    })
}

fn process(spec: &FaultSpec, app_id: &str, processes: &[Arc<AppProcess>]) -> anyhow::Result<Arc<AppProcess>> {
    processes
        .iter()
        .find(|p| &**p.app_id() == app_id)
        .cloned()
        .with_context(|| {
            format!(
                "fault `{}`: `{app_id}` is not an app this run started as a process",
                spec.name
            )
        })
}

fn sidecar_of(spec: &FaultSpec, app_id: &str, sidecars: &[Arc<Sidecar>]) -> anyhow::Result<Arc<Sidecar>> {
    sidecars
        .iter()
        .find(|s| s.app_id() == app_id)
        .cloned()
        .with_context(|| format!("fault `{}`: `{app_id}` has no sidecar", spec.name))
}

fn app_serving(spec: &FaultSpec, app_id: &str, apps: &[Arc<OrderProcessor>]) -> anyhow::Result<Arc<OrderProcessor>> {
    apps.iter()
        .find(|a| &**a.app_id() == app_id)
        .cloned()
        .with_context(|| format!("fault `{}`: no app `{app_id}` serves a port", spec.name))
}

/// A fault on `app_id`'s app channel, held by its sidecar; a hang or reset gets its blackhole now.
async fn channel_target(
    spec: &FaultSpec,
    app_id: &str,
    fault: &ChannelFault,
    sidecars: &[Arc<Sidecar>],
) -> anyhow::Result<FaultTarget> {
    let sidecar = sidecars
        .iter()
        .find(|s| s.app_id() == app_id)
        .with_context(|| format!("fault `{}`: `{app_id}` has no sidecar", spec.name))?;
    let behaviour = match fault {
        ChannelFault::Hang => Some(Behaviour::Hang),
        ChannelFault::Reset => Some(Behaviour::Reset),
        _ => None,
    };
    let blackhole = match behaviour {
        Some(b) => Some(
            Blackhole::start(sidecar.addr().ip(), b)
                .await
                .with_context(|| format!("fault `{}`: cannot open its listener", spec.name))?,
        ),
        None => None,
    };
    Ok(FaultTarget::Channel {
        app_id: app_id.to_string(),
        faults: sidecar.channel_faults(),
        fault: fault.clone(),
        blackhole,
    })
}

/// Reports the container's state now, then as Docker's event stream tells it, until the run ends.
fn follow_container(container: &Container, running: bool, bus: &EventBus, tasks: &RunTasks) {
    let (on_state, on_error) = (bus.clone(), bus.clone());
    let name = container.name().to_string();
    let state = if running {
        ContainerState::Running
    } else {
        ContainerState::Exited
    };
    bus.emit(Event::Container {
        name: name.clone(),
        state,
    });
    let task = format!("following {}", container.name());
    let watching = container.watch(
        move |state| {
            on_state.emit(Event::Container {
                name: name.clone(),
                state,
            })
        },
        move |text| on_error.emit(Event::Notice { text }),
    );
    tasks.spawn(task, |stop| async move {
        stop.run_until_cancelled(watching).await;
    });
}
