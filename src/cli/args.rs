//! The arguments every run takes (a scenario today; `run -f dapr.yaml` later): how it is shown, and what it
//! runs with. Flattened into each subcommand, so they are written once.

use std::path::PathBuf;
use std::time::Duration;

use crate::headless::{LogFormat, Output};
use crate::lifecycle::{RunOptions, StateStoreChoice};
use crate::scenario::PortOverrides;

#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    /// A scenario name (see `resilience-tui scenarios`) or a path to a scenario file. Without one, the
    /// scenarios are listed.
    pub name: Option<String>,
    /// Run the `kind: command` apps of a scenario found by name in ./scenarios (one given by path runs them
    /// anyway): without it, such a scenario is refused, so a cloned repository's commands never run unasked.
    #[arg(long)]
    pub allow_commands: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `run -f`: a Dapr multi-app run template.
#[derive(clap::Args, Debug)]
pub struct RunFileArgs {
    /// The run template (`dapr.yaml`), or its folder, as `dapr run -f`.
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR")]
    pub file: PathBuf,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// How a run is shown.
#[derive(clap::Args, Debug)]
pub struct DisplayArgs {
    /// Print one line per event instead of the full-screen UI (the default when stdout is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Headless output: text for people, jsonl for machines.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// How headless text writes the sidecars' log lines: as daprd on a terminal (tty), or as daprd writes them
    /// to a file (logfmt: time=… level=… msg=… app_id=… scope=…).
    #[arg(long, value_enum, default_value_t = LogFormat::Tty)]
    pub log_format: LogFormat,
    /// Most frames a second the UI draws.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
    /// Pin the UI's drawing area, e.g. `100x30`, so a recording has a fixed geometry.
    #[arg(long, value_name = "COLSxROWS", value_parser = parse_viewport)]
    pub viewport: Option<(u16, u16)>,
    /// Record what the UI draws to this asciicast v2 file (play it with asciinema).
    #[arg(long, value_name = "FILE.cast")]
    pub record: Option<PathBuf>,
    /// Write diagnostics here (the UI never prints behind itself; headless mode prints warnings to stderr).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// What a run runs with: its timeline, resources, ports and stores.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Inject the scenario's fault this long after start (repeatable; Go duration, e.g. 10s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub fault_at: Vec<Duration>,
    /// Clear the faults this long after start (repeatable; paired in order with --fault-at).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub clear_at: Vec<Duration>,
    /// Inject a fault of the scenario by name at START and clear it at END, e.g. `--fault
    /// slow-order-processor@10s..40s` (repeatable; END is optional).
    #[arg(long = "fault", value_name = "NAME@START..END")]
    pub named_fault: Vec<crate::lifecycle::NamedFault>,
    /// End the run after this long (default: until Ctrl-C).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Use this Dapr resources folder instead of the scenario's.
    #[arg(long, value_name = "DIR")]
    pub resources_path: Option<PathBuf>,
    /// Move an app's Dapr HTTP port, e.g. `--dapr-http-port checkout=3600` (repeatable).
    #[arg(long, value_name = "APP=PORT", value_parser = parse_app_port)]
    pub dapr_http_port: Vec<(String, u16)>,
    /// Move an app's Dapr gRPC port (daprd's --dapr-grpc-port; 50001 for the first sidecar, then the next free
    /// ones), e.g. `--dapr-grpc-port order-processor=50010` (repeatable).
    #[arg(long, value_name = "APP=PORT", value_parser = parse_app_port)]
    pub dapr_grpc_port: Vec<(String, u16)>,
    /// Move an app's own port, e.g. `--app-port order-processor=8101` (repeatable).
    #[arg(long, value_name = "APP=PORT", value_parser = parse_app_port)]
    pub app_port: Vec<(String, u16)>,
    /// Move a sidecar's metrics port (daprd's --metrics-port; 9090 for the first sidecar, 9091 for the next…),
    /// e.g. `--metrics-port checkout=9190` (repeatable).
    #[arg(long, value_name = "APP=PORT", value_parser = parse_app_port)]
    pub metrics_port: Vec<(String, u16)>,
    /// Where a stopped state store runs (state-management): a redis-server the tool starts, or in memory.
    #[arg(long, value_enum, default_value_t = StateStoreChoice::Auto)]
    pub state_store: StateStoreChoice,
    /// The Redis container the state-management fault stops and starts (`dapr init` names it dapr_redis).
    #[arg(long, value_name = "NAME", default_value = "dapr_redis")]
    pub redis_container: String,
    /// Listen on this address instead of 127.0.0.1 (sidecars and apps). Anything but loopback exposes the Dapr
    /// API to the network, so the tool warns.
    #[arg(long, value_name = "IP")]
    pub listen_address: Option<std::net::IpAddr>,
    /// Largest request body (and app answer) a sidecar passes on, as daprd's --max-body-size (e.g. 4Mi, 16Mi,
    /// 512Ki, 1000000); default 4Mi, or a run template's `maxBodySize`, which this overrides.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body_size: Option<usize>,
    /// Time checkout waits between orders.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "1s")]
    pub order_interval: Duration,
}

impl RunArgs {
    pub fn into_options(self) -> RunOptions {
        RunOptions {
            resources_path: self.resources_path,
            ports: PortOverrides {
                dapr_http: self.dapr_http_port,
                app: self.app_port,
            },
            fault_at: self.fault_at,
            clear_at: self.clear_at,
            named_faults: self.named_fault,
            duration: self.duration,
            order_interval: Some(self.order_interval),
            api_token: std::env::var("DAPR_API_TOKEN").ok().filter(|t| !t.is_empty()),
            state_store: self.state_store,
            redis_container: self.redis_container,
            listen_address: self.listen_address,
            max_body_bytes: self.max_body_size,
            max_body_per_app: Vec::new(),
            sidecars_on_this_runtime: false,
            metrics_ports: crate::metrics::server::MetricsPorts::daprd(self.metrics_port),
            start_warnings: Vec::new(),
            grpc_ports: crate::lifecycle::GrpcPorts::daprd(self.dapr_grpc_port),
        }
    }
}

/// A Go duration on the command line. Unlike in resource files, a bare number has no default unit here.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse_flag(s)
}

/// A byte size as Kubernetes quantities write it (Dapr's `--max-body-size`): `4Mi`, `512Ki`, `1G`, `100`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    crate::quantity::bytes(s)
}

pub fn parse_viewport(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}` is not COLSxROWS, e.g. 100x30"))?;
    let parse = |v: &str| v.parse::<u16>().ok().filter(|n| *n > 0);
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) if w >= crate::tui::view::MIN_WIDTH && h >= crate::tui::view::MIN_HEIGHT => Ok((w, h)),
        (Some(_), Some(_)) => Err(format!("`{s}` is smaller than the UI's minimum of 80x24")),
        _ => Err(format!("`{s}` is not COLSxROWS, e.g. 100x30")),
    }
}

pub fn parse_app_port(s: &str) -> Result<(String, u16), String> {
    let (app, port) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not APP=PORT, e.g. checkout=3600"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("`{port}` is not a TCP port (1-65535)"))?;
    Ok((app.to_string(), port))
}
