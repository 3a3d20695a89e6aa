//! Command-line interface: parses arguments and dispatches to the subcommands.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::headless::Output;
use crate::scenario::{self, PortOverrides, run::RunOptions};

#[derive(Parser, Debug)]
#[command(
    name = "resilience-tui",
    version,
    about = "Watch Dapr's retries and circuit breakers work, in one terminal command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// The scenario's arguments make this enum large; it is parsed once per process, so boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario: its apps, their Dapr sidecars, and the faults you inject.
    Scenario(ScenarioArgs),
    /// List the scenarios, one line each.
    Scenarios,
    /// Load Dapr resource files, print the policies and targets they define, and every error and warning.
    Validate {
        /// A folder of Dapr resources (as `dapr run --resources-path`). Default: every folder under ./resources.
        #[arg(long, value_name = "DIR")]
        resources_path: Option<PathBuf>,
        /// Check the folder as this app's sidecar would load it (scopes, and which policies its targets see).
        #[arg(long, value_name = "ID")]
        app_id: Option<String>,
    },
    /// Measure what the sidecar costs: added latency over a direct call, CPU, memory, throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Internal: a process `bench sidecar` measures (an app, or a sidecar or a bare proxy hop in front of it).
    #[command(hide = true)]
    BenchServe {
        #[arg(value_enum)]
        role: crate::bench::serve::Role,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        #[arg(long)]
        app_addr: Option<std::net::SocketAddr>,
        #[arg(long, value_enum, default_value_t = crate::bench::serve::PolicyChoice::Quickstart)]
        policy: crate::bench::serve::PolicyChoice,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The same fixed-rate load at an order-processor-like app, directly, through a sidecar applying the
    /// service-invoke quickstart's policy and through a bare proxy hop (the yardstick), alternating in one run;
    /// then each path saturated.
    Sidecar(SidecarBenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct SidecarBenchArgs {
    /// Requests a second (fixed rate, open loop: latency counts from when each request was due).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub rps: u32,
    /// Fixed-rate time per path, alternated in slices of --slice.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "20s")]
    pub duration: Duration,
    /// Request body size (an order padded to this size).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub body_bytes: usize,
    /// Kept-alive connections per path (Dapr's perf tests use 16).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub connections: usize,
    /// Length of one slice of one path.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    pub slice: Duration,
    /// Unrecorded load per path before measuring.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Closed-loop time per path for the saturated throughput (0 skips it).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    pub saturate: Duration,
    /// The policy the sidecar applies: the quickstart's, or none (the sidecar with no resiliency resource).
    #[arg(long, value_enum, default_value_t = crate::bench::serve::PolicyChoice::Quickstart)]
    pub policy: crate::bench::serve::PolicyChoice,
    /// text for people, json for machines.
    #[arg(long, value_enum, default_value_t = BenchOutput::Text)]
    pub output: BenchOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchOutput {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    /// A scenario name (see `resilience-tui scenarios`) or a path to a scenario file.
    pub name: String,
    /// Print one line per event instead of the full-screen UI (the default when stdout is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Headless output: text for people, jsonl for machines.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Inject the scenario's fault this long after start (repeatable; Go duration, e.g. 10s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub fault_at: Vec<Duration>,
    /// Clear the faults this long after start (repeatable; paired in order with --fault-at).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub clear_at: Vec<Duration>,
    /// End the run after this long (default: until Ctrl-C).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Use this Dapr resources folder instead of the scenario's.
    #[arg(long, value_name = "DIR")]
    pub resources_path: Option<PathBuf>,
    /// Move an app's Dapr HTTP port, e.g. `--dapr-http-port checkout=3600` (repeatable).
    #[arg(long, value_name = "APP=PORT", value_parser = parse_app_port)]
    pub dapr_http_port: Vec<(String, u16)>,
    /// Move an app's own port, e.g. `--app-port order-processor=8101` (repeatable).
    #[arg(long, value_name = "APP=PORT", value_parser = parse_app_port)]
    pub app_port: Vec<(String, u16)>,
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
    /// Where a stopped state store runs (state-management): a redis-server the tool starts, or in memory.
    #[arg(long, value_enum, default_value_t = scenario::run::StateStoreChoice::Auto)]
    pub state_store: scenario::run::StateStoreChoice,
    /// The Redis container the state-management fault stops and starts (`dapr init` names it dapr_redis).
    #[arg(long, value_name = "NAME", default_value = "dapr_redis")]
    pub redis_container: String,
    /// Listen on this address instead of 127.0.0.1 (sidecars and apps). Anything but loopback exposes the Dapr
    /// API to the network, so the tool warns.
    #[arg(long, value_name = "IP")]
    pub listen_address: Option<std::net::IpAddr>,
    /// Largest request body a sidecar accepts, as daprd's --max-body-size (e.g. 4Mi, 16Mi, 512Ki, 1000000).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "4Mi")]
    pub max_body_size: usize,
    /// Time checkout waits between orders.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "1s")]
    pub order_interval: Duration,
}

/// Diagnostics: to `--log-file` when given (everything from info up), else warnings to stderr in headless
/// mode, and nothing in the UI (writing behind a full-screen UI corrupts the screen and recordings).
fn init_logging(path: Option<&std::path::Path>, headless: bool) -> anyhow::Result<()> {
    use tracing_subscriber::fmt;
    match path {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot write the log file {}: {e}; check --log-file", path.display()))?;
            fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None if headless => fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::stderr)
            .init(),
        None => {}
    }
    Ok(())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse_go_duration(s).map_err(|e| format!("{e}; {}", e.hint()))
}

/// A byte size as Kubernetes quantities write it (Dapr's `--max-body-size`): `4Mi`, `512Ki`, `1G`, `100`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size; write bytes or a number with Ki, Mi or Gi, e.g. 4Mi"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "KB" => 1000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}` in `{s}` is not a size unit; use Ki, Mi or Gi (or k, M, G), e.g. 4Mi"
            ));
        }
    };
    let bytes = n.checked_mul(multiplier).filter(|b| *b > 0 && *b <= 1 << 32);
    bytes
        .map(|b| b as usize)
        .ok_or_else(|| format!("`{s}` is out of range; give a size from 1 byte to 4Gi"))
}

fn parse_viewport(s: &str) -> Result<(u16, u16), String> {
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

fn parse_app_port(s: &str) -> Result<(String, u16), String> {
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

/// Runs the command line; the exit code says whether it succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { resources_path, app_id } => crate::validate::run(resources_path, app_id.as_deref()),
        Command::Scenarios => list_scenarios(),
        Command::Scenario(args) => run_scenario(args),
        Command::Bench(BenchCommand::Sidecar(args)) => bench_sidecar(args),
        Command::BenchServe {
            role,
            listen,
            app_addr,
            policy,
        } => tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(crate::bench::serve::serve(role, listen, app_addr, policy)))
            .map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench_sidecar(args: SidecarBenchArgs) -> anyhow::Result<ExitCode> {
    let opts = crate::bench::BenchOptions {
        rps: args.rps,
        duration: args.duration,
        body_bytes: args.body_bytes,
        connections: args.connections,
        slice: args.slice,
        warmup: args.warmup,
        saturate: args.saturate,
        policy: args.policy,
        progress: args.output == BenchOutput::Text && std::io::stderr().is_terminal(),
    };
    // One thread for the load generator: it leaves the other core to the processes under test.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(crate::bench::run(&opts))?;
    match args.output {
        BenchOutput::Text => print!("{}", report.to_text()),
        BenchOutput::Json => println!("{}", report.to_json()),
    }
    Ok(ExitCode::SUCCESS)
}

fn list_scenarios() -> anyhow::Result<ExitCode> {
    for path in scenario::list() {
        match scenario::load(&path) {
            Ok(s) => println!("{:<20} {} - {}", s.name, s.title, s.summary),
            Err(e) => println!(
                "{:<20} (does not load: {})",
                path.display(),
                e.lines().next().unwrap_or_default()
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_scenario(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    let path = scenario::find(&args.name).ok_or_else(|| {
        let names: Vec<String> = scenario::list()
            .iter()
            .filter_map(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        anyhow::anyhow!("no scenario `{}`; the scenarios are: {}", args.name, names.join(", "))
    })?;
    let scenario = scenario::load(&path).map_err(anyhow::Error::msg)?;
    let opts = RunOptions {
        resources_path: args.resources_path,
        ports: PortOverrides {
            dapr_http: args.dapr_http_port,
            app: args.app_port,
        },
        fault_at: args.fault_at,
        clear_at: args.clear_at,
        duration: args.duration,
        order_interval: Some(args.order_interval),
        api_token: std::env::var("DAPR_API_TOKEN").ok().filter(|t| !t.is_empty()),
        state_store: args.state_store,
        redis_container: args.redis_container,
        listen_address: args.listen_address,
        max_body_bytes: Some(args.max_body_size),
    };
    let headless = args.headless || !std::io::stdout().is_terminal();
    init_logging(args.log_file.as_deref(), headless)?;
    let runtime = tokio::runtime::Runtime::new()?;
    if headless {
        runtime.block_on(scenario::run::headless(scenario, opts, args.output))
    } else {
        let ui = crate::tui::TuiOptions {
            fps: args.fps,
            viewport: args.viewport,
            record: args.record,
        };
        runtime.block_on(crate::tui::run(scenario, opts, ui))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_as_dapr_writes_them() {
        assert_eq!(parse_size("4Mi"), Ok(4 << 20));
        assert_eq!(parse_size("512Ki"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1_000_000_000));
        assert_eq!(parse_size("100"), Ok(100));
        for bad in ["", "Mi", "4Xi", "0", "-1", "5Gi", "4.5Mi"] {
            let err = parse_size(bad).unwrap_err();
            assert!(
                err.contains(bad) && (err.contains("4Mi") || err.contains("4Gi")),
                "{bad}: {err}"
            );
        }
    }
}
