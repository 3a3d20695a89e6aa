//! How a run is asked for on the command line: its resources, ports, fault timeline and stores.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::scenario::PortOverrides;

/// How to run a scenario (from the command line).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub resources_path: Option<PathBuf>,
    pub ports: PortOverrides,
    /// Inject the scenario's first fault at each of these times since start…
    pub fault_at: Vec<Duration>,
    /// …and clear all faults at these (paired in order).
    pub clear_at: Vec<Duration>,
    /// End the run after this long (default: until q, Ctrl-C, SIGTERM or SIGHUP).
    pub duration: Option<Duration>,
    /// Time checkout waits between orders (the quickstart's 1s).
    pub order_interval: Option<Duration>,
    pub api_token: Option<String>,
    /// Which server a stopped state store runs on.
    pub state_store: StateStoreChoice,
    /// The Redis container's name (`dapr init` names it `dapr_redis`); empty means `dapr_redis`.
    pub redis_container: String,
    /// Where sidecars and apps listen; loopback (127.0.0.1) when not given.
    pub listen_address: Option<std::net::IpAddr>,
    /// The sidecars' request body limit (daprd's `--max-body-size`); 4Mi when not given.
    pub max_body_bytes: Option<usize>,
    /// Serve the sidecars on the caller's runtime instead of a thread each (tests on a paused clock).
    pub sidecars_on_this_runtime: bool,
    /// The sidecars' metrics ports: daprd's 9090, 9091, … from the command line; any free port by default.
    pub metrics_ports: crate::metrics::server::MetricsPorts,
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

impl RunOptions {
    pub(crate) fn listen(&self, port: u16) -> std::net::SocketAddr {
        match self.listen_address {
            Some(ip) => std::net::SocketAddr::new(ip, port),
            None => crate::net::loopback(port),
        }
    }

    /// Fault-at/clear-at pairs must be ordered: each clear comes after its fault, and before the next fault.
    pub fn check_schedule(&self) -> anyhow::Result<()> {
        if self.clear_at.len() > self.fault_at.len() {
            bail!(
                "there are more --clear-at times than --fault-at times; each --clear-at clears the fault of the --fault-at in the same position"
            );
        }
        for (i, fault) in self.fault_at.iter().enumerate() {
            if let Some(clear) = self.clear_at.get(i).filter(|c| *c <= fault) {
                bail!("--clear-at {clear:?} comes before its --fault-at {fault:?}; give times in order");
            }
        }
        Ok(())
    }
}
