//! Which server a state store that a fault stops runs on, in the order: Docker's `dapr_redis`, a
//! `redis-server` the tool starts, or the in-memory store. The chosen component is rewritten to reach it.

use std::sync::Arc;

use anyhow::{Context, bail};

use super::docker::Container;
use super::redis_server::RedisServer;
use crate::event::{Event, EventBus};
use crate::lifecycle::StateStoreChoice;
use crate::net::loopback;
use crate::resources::{ComponentSpec, Resources};
use crate::scenario::{FaultAction, Scenario};

/// Where a stopped state store runs.
pub(crate) enum StoreServer {
    RedisServer(Arc<RedisServer>),
    /// The container, and whether it was running when the run started.
    Container(Arc<Container>, bool),
}

/// For each state store a fault acts on (stops, pauses, or slows or breaks its calls), which server this run uses, and the component rewritten to reach it:
/// Docker's `dapr_redis` when asked for (or found, with `auto`); else a `redis-server` started by the tool on a
/// free loopback port when one is on PATH; else the in-memory store (whose fault simulates an outage).
pub(crate) async fn choose_state_stores(
    scenario: &Scenario,
    loaded: &mut Resources,
    bus: &EventBus,
    choice: StateStoreChoice,
    redis_container: &str,
) -> anyhow::Result<Vec<(String, StoreServer)>> {
    let mut servers = Vec::new();
    for spec in &scenario.faults {
        let (FaultAction::StopStateStore { component }
        | FaultAction::PauseStateStore { component }
        | FaultAction::StoreCall { component, .. }) = &spec.action
        else {
            continue;
        };
        // A store both stopped and paused by faults runs on one server.
        if servers.iter().any(|(c, _)| c == component) {
            continue;
        }
        let Some(c) = loaded.components.iter_mut().find(|c| &c.name == component) else {
            bail!(
                "fault `{}` acts on the state store `{component}`, which no component in {} defines",
                spec.name,
                scenario.resources
            );
        };
        if c.component_type != "state.redis" {
            continue;
        }
        let name = if redis_container.is_empty() {
            "dapr_redis"
        } else {
            redis_container
        };
        let server = match docker_store(choice, name, c, bus).await? {
            Some(container) => Some(container),
            None => local_store(choice, c, bus).await?,
        };
        servers.extend(server.map(|s| (component.clone(), s)));
    }
    Ok(servers)
}

/// The container, when `--state-store` is `docker` (an error when it is not there) or `auto` (when it is).
async fn docker_store(
    choice: StateStoreChoice,
    name: &str,
    c: &ComponentSpec,
    bus: &EventBus,
) -> anyhow::Result<Option<StoreServer>> {
    let container = match choice {
        StateStoreChoice::Docker => Container::find(name)
            .await
            .map_err(|e| anyhow::anyhow!("--state-store docker: {e}"))?,
        StateStoreChoice::Auto => match Container::find(name).await {
            Ok(container) => container,
            Err(_) => return Ok(None),
        },
        StateStoreChoice::RedisServer | StateStoreChoice::Memory => return Ok(None),
    };
    match container.recover_left_stopped().await {
        Ok(Some(text)) => notice(bus, text),
        Ok(None) => {}
        Err(e) => notice(
            bus,
            format!("could not check {name} for a fault an earlier run left: {e}"),
        ),
    }
    let running = container.is_running().await.unwrap_or(false);
    let host = c.metadata_value("redisHost").unwrap_or("localhost:6379");
    let mut text = format!("state store `{}`: Docker container {name} (redisHost {host})", c.name);
    if !running {
        text.push_str(&format!(
            "; {name} is stopped: clearing the faults starts it, and so does the end of the run"
        ));
    }
    notice(bus, text);
    Ok(Some(StoreServer::Container(Arc::new(container), running)))
}

/// A redis-server the tool starts (the component is pointed at it), else the in-memory store (`None`).
async fn local_store(
    choice: StateStoreChoice,
    c: &mut ComponentSpec,
    bus: &EventBus,
) -> anyhow::Result<Option<StoreServer>> {
    let use_redis = match choice {
        StateStoreChoice::Memory => false,
        StateStoreChoice::Auto | StateStoreChoice::Docker => RedisServer::available().await,
        StateStoreChoice::RedisServer if RedisServer::available().await => true,
        StateStoreChoice::RedisServer => bail!(
            "--state-store redis-server: no redis-server on PATH; install it (apt-get install redis-server) or use --state-store memory"
        ),
    };
    if !use_redis {
        c.component_type = "state.in-memory".into();
        let text = format!(
            "state store `{}`: the embedded in-memory store; the fault simulates an outage",
            c.name
        );
        notice(bus, text);
        return Ok(None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let process = Arc::new(RedisServer::new(loopback(port))?);
    process.start().await.context("starting redis-server")?;
    c.metadata.retain(|(k, _)| !k.eq_ignore_ascii_case("redisHost"));
    c.metadata.push(("redisHost".into(), process.addr().to_string()));
    let addr = process.addr();
    notice(
        bus,
        format!(
            "state store `{}`: a redis-server started by resilience-tui on {addr}",
            c.name
        ),
    );
    Ok(Some(StoreServer::RedisServer(process)))
}

fn notice(bus: &EventBus, text: String) {
    tracing::info!("{text}");
    bus.emit(Event::Notice { text });
}
