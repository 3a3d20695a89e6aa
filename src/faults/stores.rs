//! Which server a state store that a fault stops runs on, in the order: Docker's `dapr_redis`, a
//! `redis-server` the tool starts, or the in-memory store. The chosen component is rewritten to reach it.

use std::sync::Arc;

use anyhow::{Context, bail};

use super::docker::Container;
use super::redis_server::RedisServer;
use crate::event::{Event, EventBus};
use crate::lifecycle::StateStoreChoice;
use crate::net::loopback;
use crate::resources::Resources;
use crate::scenario::{FaultAction, Scenario};

/// Where a stopped state store runs.
pub(crate) enum StoreServer {
    RedisServer(Arc<RedisServer>),
    /// The container, and whether it was running when the run started.
    Container(Arc<Container>, bool),
}

/// For each state store a fault stops, which server this run uses, and the component rewritten to reach it:
/// a `redis-server` started by the tool on a free loopback port when one is on PATH, else the in-memory store
/// (whose fault simulates an outage). Docker's `dapr_redis` container comes with the Docker support.
pub(crate) async fn choose_state_stores(
    scenario: &Scenario,
    loaded: &mut Resources,
    bus: &EventBus,
    choice: StateStoreChoice,
    redis_container: &str,
) -> anyhow::Result<Vec<(String, StoreServer)>> {
    let mut servers = Vec::new();
    for spec in &scenario.faults {
        let FaultAction::StopStateStore { component } = &spec.action else {
            continue;
        };
        let Some(c) = loaded.components.iter_mut().find(|c| &c.name == component) else {
            bail!(
                "fault `{}` stops the state store `{component}`, which no component in {} defines",
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
        let container = match choice {
            StateStoreChoice::Docker => Some(
                Container::find(name)
                    .await
                    .map_err(|e| anyhow::anyhow!("--state-store docker: {e}"))?,
            ),
            StateStoreChoice::Auto => Container::find(name).await.ok(),
            _ => None,
        };
        if let Some(container) = container {
            match container.recover_left_stopped().await {
                Ok(Some(text)) => {
                    tracing::warn!("{text}");
                    bus.emit(Event::Notice { text });
                }
                Ok(None) => {}
                Err(e) => bus.emit(Event::Notice {
                    text: format!("could not check {name} for a fault an earlier run left: {e}"),
                }),
            }
            let running = container.is_running().await.unwrap_or(false);
            let host = c.metadata_value("redisHost").unwrap_or("localhost:6379").to_string();
            let mut text = format!("state store `{component}`: Docker container {name} (redisHost {host})");
            if !running {
                text.push_str(&format!("; {name} is stopped: press c to start it"));
            }
            tracing::info!("{text}");
            bus.emit(Event::Notice { text });
            servers.push((component.clone(), StoreServer::Container(Arc::new(container), running)));
            continue;
        }
        let use_redis = match choice {
            StateStoreChoice::Memory => false,
            StateStoreChoice::Auto | StateStoreChoice::Docker => RedisServer::available().await,
            StateStoreChoice::RedisServer if RedisServer::available().await => true,
            StateStoreChoice::RedisServer => {
                bail!(
                    "--state-store redis-server: no redis-server on PATH; install it (apt-get install redis-server) or use --state-store memory"
                )
            }
        };
        let text = if use_redis {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let process = Arc::new(RedisServer::new(loopback(port))?);
            process.start().await.context("starting redis-server")?;
            c.metadata.retain(|(k, _)| !k.eq_ignore_ascii_case("redisHost"));
            c.metadata.push(("redisHost".into(), process.addr().to_string()));
            servers.push((component.clone(), StoreServer::RedisServer(process.clone())));
            format!(
                "state store `{component}`: a redis-server started by resilience-tui on {}",
                process.addr()
            )
        } else {
            c.component_type = "state.in-memory".into();
            format!("state store `{component}`: the embedded in-memory store; the fault simulates an outage")
        };
        tracing::info!("{text}");
        bus.emit(Event::Notice { text });
    }
    Ok(servers)
}
