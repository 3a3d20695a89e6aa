//! Which server a state store that a fault stops runs on, in the order: Docker's `dapr_redis`, a
//! `redis-server` the tool starts, or the in-memory store. The chosen component is rewritten to reach it.

use std::sync::Arc;

use anyhow::{Context, bail};

use super::docker::Container;
use super::redis_server::RedisServer;
use crate::event::{Event, EventBus};
use crate::net::loopback;
use crate::resources::{ComponentSpec, Resources, Severity};
use crate::scenario::{FaultAction, Scenario};

/// Where a stopped state store runs.
pub(crate) enum StoreServer {
    RedisServer(Arc<RedisServer>),
    /// The container, and whether it was running when the run started.
    Container(Arc<Container>, bool),
}

/// For each state store a fault acts on (stops, pauses, or slows or breaks its calls), which server this run uses, and the component rewritten to reach it:
/// the Docker container that publishes the component's `redisHost` port (or the one named by
/// `--redis-container`, `dapr_redis` by default), when asked for or found with `auto`; else a `redis-server`
/// started by the tool on a free loopback port when one is on PATH; else the in-memory store (whose fault
/// simulates an outage). A store that cannot be reached at start is said as a warning at its component.
pub(crate) async fn choose_state_stores(
    scenario: &Scenario,
    loaded: &mut Resources,
    bus: &EventBus,
    choice: StateStoreChoice,
    redis_container: &str,
) -> anyhow::Result<Vec<(String, StoreServer)>> {
    let mut servers = Vec::new();
    let mut unreachable = Vec::new();
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
        if let Some(why) = cannot_reach(server.as_ref(), c, choice).await {
            unreachable.push((c.file_id, c.span.clone(), why));
        }
        servers.extend(server.map(|s| (component.clone(), s)));
    }
    for (file_id, span, (message, help)) in unreachable {
        let field = Some("spec.metadata.redisHost".to_string());
        let d = loaded
            .files
            .diagnostic(Severity::Warning, file_id, span, field, message, Some(help));
        tracing::warn!("{d}");
        bus.emit(Event::warning_of(&d));
    }
    Ok(servers)
}

/// How to get a `dapr_redis` on a machine without the Dapr CLI or an image registry (README, "State stores").
pub const CREATE_DAPR_REDIS: &str =
    "scripts/build-redis-image.sh && docker create --name dapr_redis -p 6379:6379 resilience-tui/redis:local";

/// Why the component's store cannot be reached as this run starts, and what to do: its container is stopped,
/// nothing answers where it runs, or there is no Redis at all and the in-memory store stands in.
async fn cannot_reach(
    server: Option<&StoreServer>,
    c: &ComponentSpec,
    choice: StateStoreChoice,
) -> Option<(String, String)> {
    let host = c.metadata_value("redisHost").unwrap_or("localhost:6379").to_string();
    let store = &c.name;
    match server {
        Some(StoreServer::Container(container, false)) => Some((
            format!(
                "state store `{store}` cannot be reached at start: the container {} that serves {host} is stopped (daprd would not start: it pings Redis as the component initialises and exits when that fails; this run starts anyway)",
                container.name()
            ),
            format!(
                "clear the faults (`c`, or --clear-at) to start it, or run `{}`; the end of the run starts it too",
                container.start_command()
            ),
        )),
        Some(StoreServer::Container(container, true)) if !redis_answers(&host).await => Some((
            format!(
                "state store `{store}` cannot be reached at start: nothing answers Redis's PING at {host}, though the container {} runs (daprd would not start; this run starts anyway)",
                container.name()
            ),
            format!(
                "check `docker logs {}` and that it publishes {host}; or create a `dapr_redis` without a registry: `{CREATE_DAPR_REDIS}`",
                container.name()
            ),
        )),
        None if c.component_type == "state.in-memory" && choice != StateStoreChoice::Memory => Some((
            format!(
                "state store `{store}` (redisHost {host}): no Docker container publishes that port and there is no redis-server on PATH, so this run keeps its state in memory"
            ),
            format!(
                "create a `dapr_redis` without a registry: `{CREATE_DAPR_REDIS}` then `docker start dapr_redis`; or install redis-server (the tool then starts one)"
            ),
        )),
        _ => None,
    }
}

/// Whether a Redis answers `PING` at `host` within a second (`+PONG`, or an error such as `-NOAUTH`: both are
/// Redis speaking).
async fn redis_answers(host: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ping = async {
        let mut conn = tokio::net::TcpStream::connect(host).await.ok()?;
        conn.write_all(b"PING\r\n").await.ok()?;
        let mut first = [0u8; 1];
        conn.read_exact(&mut first).await.ok()?;
        Some(matches!(first[0], b'+' | b'-'))
    };
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(1), ping).await,
        Ok(Some(true))
    )
}

/// The host port of a `redisHost` on this machine (`localhost:6379`, `127.0.0.1:6380`), where a container
/// would publish it; `None` for a remote host.
fn local_port(host: &str) -> Option<u16> {
    let (name, port) = host.rsplit_once(':').unwrap_or((host, "6379"));
    let local = matches!(
        name.trim_matches(|c| c == '[' || c == ']'),
        "localhost" | "127.0.0.1" | "::1" | "0.0.0.0" | ""
    );
    local.then(|| port.parse().ok()).flatten()
}

/// The container, when `--state-store` is `docker` (an error when there is none) or `auto` (when there is
/// one): the one `--redis-container` names when it names another than `dapr_redis`, else the one that
/// publishes the component's `redisHost` port, else `dapr_redis`.
async fn docker_store(
    choice: StateStoreChoice,
    name: &str,
    c: &ComponentSpec,
    bus: &EventBus,
) -> anyhow::Result<Option<StoreServer>> {
    if matches!(choice, StateStoreChoice::RedisServer | StateStoreChoice::Memory) {
        return Ok(None);
    }
    let host = c.metadata_value("redisHost").unwrap_or("localhost:6379").to_string();
    let by_port = match local_port(&host) {
        Some(port) if name == "dapr_redis" => Container::publishing(port).await.ok().flatten(),
        _ => None,
    };
    let container = match (by_port, choice) {
        (Some(container), _) => container,
        (None, StateStoreChoice::Docker) => Container::find(name)
            .await
            .map_err(|e| anyhow::anyhow!("--state-store docker: no container publishes {host}, and {e}"))?,
        (None, _) => match Container::find(name).await {
            Ok(container) => container,
            Err(_) => return Ok(None),
        },
    };
    let name = container.name().to_string();
    match container.recover_left_stopped().await {
        Ok(Some(text)) => notice(bus, text),
        Ok(None) => {}
        Err(e) => notice(
            bus,
            format!("could not check {name} for a fault an earlier run left: {e}"),
        ),
    }
    let running = container.is_running().await.unwrap_or(false);
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

/// `--state-store`: where the state-management scenario's Redis comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StateStoreChoice {
    /// Docker's `dapr_redis` when the engine answers and the container exists; else a redis-server on PATH,
    /// started by the tool; else the in-memory store.
    #[default]
    Auto,
    /// Docker's `dapr_redis` container (an error when there is no engine or no container).
    Docker,
    /// A redis-server on PATH, started by the tool (an error when there is none).
    RedisServer,
    /// The embedded in-memory store; its fault simulates an outage.
    Memory,
}
