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
    /// `--fault NAME@START..END`: a fault of the scenario by name, injected at START and cleared at END.
    pub named_faults: Vec<NamedFault>,
    /// End the run after this long (default: until q, Ctrl-C, SIGTERM or SIGHUP).
    pub duration: Option<Duration>,
    /// Time checkout waits between orders (the quickstart's 1s).
    pub order_interval: Option<Duration>,
    pub api_token: Option<String>,
    /// Which server a stopped state store runs on.
    pub state_store: crate::faults::StateStoreChoice,
    /// The Redis container's name (`dapr init` names it `dapr_redis`); empty means `dapr_redis`.
    pub redis_container: String,
    /// Where sidecars and apps listen; loopback (127.0.0.1) when not given.
    pub listen_address: Option<std::net::IpAddr>,
    /// Every sidecar's body limit (daprd's `--max-body-size`); else `max_body_per_app`'s, else 4Mi.
    pub max_body_bytes: Option<usize>,
    /// A run template's `maxBodySize`, per app id.
    pub max_body_per_app: Vec<(String, usize)>,
    /// Serve the sidecars on the caller's runtime instead of a thread each (tests on a paused clock).
    pub sidecars_on_this_runtime: bool,
    /// The sidecars' metrics ports: daprd's 9090, 9091, … from the command line; any free port by default.
    pub metrics_ports: crate::metrics::server::MetricsPorts,
    /// Warnings from before the run (a local scenario file that replaced a built-in one), said at start.
    pub start_warnings: Vec<crate::event::Event>,
    /// The sidecars' gRPC ports: daprd's 50001 and the next free ones from the command line; any free port by
    /// default.
    pub grpc_ports: GrpcPorts,
}

/// Which port each sidecar's gRPC API takes (daprd's `--dapr-grpc-port`).
#[derive(Debug, Clone, Default)]
pub struct GrpcPorts {
    /// The first sidecar's port; the next ones take the next free ports after it. `None`: any free port
    /// (tests, which never take 50001).
    pub first: Option<u16>,
    /// `--dapr-grpc-port APP=PORT` and a template's `daprGRPCPort`: exactly these ports (the last one given
    /// for an app wins).
    pub overrides: Vec<(String, u16)>,
}

impl GrpcPorts {
    /// daprd's default gRPC port.
    pub const DAPRD_DEFAULT: u16 = 50001;

    pub fn daprd(overrides: Vec<(String, u16)>) -> Self {
        Self {
            first: Some(Self::DAPRD_DEFAULT),
            overrides,
        }
    }

    /// The port for the sidecar of `app_id`, the `index`th started: its override, else the first free port
    /// from `first + index` (0, any free port, without a `first`).
    pub fn port(&self, app_id: &str, index: usize, ip: std::net::IpAddr) -> u16 {
        if let Some((_, port)) = self.overrides.iter().rev().find(|(app, _)| app == app_id) {
            return *port;
        }
        let Some(first) = self.first else {
            return 0;
        };
        let from = first.saturating_add(u16::try_from(index).unwrap_or(u16::MAX));
        (from..=u16::MAX)
            .take(100)
            .find(|p| std::net::TcpListener::bind((ip, *p)).is_ok())
            .unwrap_or(from)
    }
}

/// One `--fault NAME@START[..END]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFault {
    pub name: String,
    pub at: Duration,
    pub until: Option<Duration>,
}

impl std::str::FromStr for NamedFault {
    type Err = String;

    /// `latency@10s..40s`, or `latency@10s` (on until the end, or until `c`).
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = "write it as NAME@START..END, e.g. `--fault slow-order-processor@10s..40s` (END is optional)";
        let (name, times) = s.split_once('@').ok_or_else(|| format!("`{s}` has no `@`; {usage}"))?;
        let (at, until) = match times.split_once("..") {
            Some((at, until)) => (at, Some(until)),
            None => (times, None),
        };
        let time = |t: &str| crate::duration::parse_flag(t).map_err(|e| format!("`{t}` in `{s}`: {e}; {usage}"));
        let fault = NamedFault {
            name: name.trim().to_string(),
            at: time(at)?,
            until: until.map(time).transpose()?,
        };
        if fault.name.is_empty() {
            return Err(format!("`{s}` names no fault; {usage}"));
        }
        if fault.until.is_some_and(|u| u <= fault.at) {
            return Err(format!("in `{s}` the end comes before the start; {usage}"));
        }
        Ok(fault)
    }
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

    /// Every `--fault` names a fault of `scenario`; its index there, in the order given.
    pub fn named_fault_indexes(&self, scenario: &crate::scenario::Scenario) -> anyhow::Result<Vec<usize>> {
        self.named_faults
            .iter()
            .map(|nf| match scenario.faults.iter().position(|f| f.name == nf.name) {
                Some(i) => Ok(i),
                None => {
                    let names: Vec<&str> = scenario.faults.iter().map(|f| f.name.as_str()).collect();
                    let hint = match crate::resources::node::did_you_mean(&nf.name, &names) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => format!("its faults are: {}", names.join(", ")),
                    };
                    bail!(
                        "--fault {}@…: scenario {} has no fault `{}`; {hint}",
                        nf.name,
                        scenario.name,
                        nf.name
                    )
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::GrpcPorts;

    #[test]
    fn grpc_ports_take_daprds_50001_then_the_next_free_unless_moved() {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        // The last override for an app wins: a template's daprGRPCPort first, then --dapr-grpc-port.
        let ports = GrpcPorts::daprd(vec![("a".into(), 50100), ("a".into(), 50200)]);
        assert_eq!(ports.port("a", 0, ip), 50200);
        // A taken port is skipped for the next free one after it.
        let taken = std::net::TcpListener::bind((ip, 0)).unwrap();
        let busy = taken.local_addr().unwrap().port();
        let ports = GrpcPorts {
            first: Some(busy),
            overrides: Vec::new(),
        };
        assert!(ports.port("b", 0, ip) > busy);
        assert_eq!(GrpcPorts::default().port("b", 3, ip), 0, "any free port");
    }
}
