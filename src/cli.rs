//! Command-line interface: parses arguments and dispatches to the subcommands.

mod args;
mod list;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use args::parse_duration;
pub use args::{DisplayArgs, RunArgs, RunFileArgs, ScenarioArgs, parse_size};

use crate::scenario;

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
    /// Run your own apps from Dapr's multi-app run template (`dapr.yaml`), each with its sidecar, under the UI.
    Run(RunFileArgs),
    /// List the scenarios: the quickstarts, then the lessons in teaching order.
    Scenarios,
    /// Write built-in scenarios and their Dapr resources into a folder, to edit and run.
    Init {
        /// The scenario to write (default: every built-in one).
        scenario: Option<String>,
        /// The folder to write into (created when missing).
        #[arg(default_value = "resilience-lab")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
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
        /// The Redis the state sidecar's store is on.
        #[arg(long)]
        redis_addr: Option<std::net::SocketAddr>,
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

/// Runs the command line; the exit code says whether it succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { resources_path, app_id } => crate::validate::run(resources_path, app_id.as_deref()),
        Command::Scenarios => list_scenarios(),
        Command::Init { scenario, dir, force } => init(scenario.as_deref(), &dir, force),
        Command::Scenario(args) => run_scenario(args),
        Command::Run(args) => run_template(args),
        Command::Bench(BenchCommand::Sidecar(args)) => bench_sidecar(args),
        Command::BenchServe {
            role,
            listen,
            app_addr,
            policy,
            redis_addr,
        } => tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(crate::bench::serve::serve(role, listen, app_addr, policy, redis_addr)))
            .map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::lifecycle::eprintln_quietly(&format!("error: {e:#}"));
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
        BenchOutput::Text => print_quietly(&report.to_text()),
        BenchOutput::Json => print_quietly(&format!("{}\n", report.to_json())),
    }
    Ok(ExitCode::SUCCESS)
}

fn list_scenarios() -> anyhow::Result<ExitCode> {
    let width = list::width(std::io::stdout().is_terminal());
    // A closed stdout (`| head -1`) ends the list quietly.
    print_quietly(&format!("{}\n{}", list::listing(width), list::how_to_run(width)));
    Ok(ExitCode::SUCCESS)
}

/// `scenario` with no name: the list and how to run one, on stderr with clap's exit code for a missing
/// argument (2), since the run asked for did not happen (a script's `scenario "$NAME"` with an empty NAME fails).
fn scenario_without_a_name() -> ExitCode {
    let width = list::width(std::io::stderr().is_terminal());
    crate::lifecycle::eprintln_quietly(&format!(
        "which scenario? give its name (or a path to a scenario file); the scenarios are:\n\n{}\n{}",
        list::listing(width),
        list::how_to_run(width).trim_end()
    ));
    ExitCode::from(2)
}

fn init(name: Option<&str>, dir: &std::path::Path, force: bool) -> anyhow::Result<ExitCode> {
    let written = scenario::init::write(name, dir, force)?;
    let mut out: String = written.iter().map(|p| format!("wrote {}\n", p.display())).collect();
    // The first file written is the first built-in scenario's (a quickstart, see `builtin::BUILT_IN`): its
    // written copy, so what a learner edits is what runs.
    let first = written.first().map(|p| p.display().to_string()).unwrap_or_default();
    match name {
        Some(_) => out.push_str(&format!("\nedit it, then run: resilience-tui scenario {first}\n")),
        None => out.push_str(&format!(
            "\nfirst run: resilience-tui scenario {first}\nthen the lessons, in the order `resilience-tui scenarios` lists them;\nedit a scenario or its resources, then run it the same way\n"
        )),
    }
    let resources = written
        .iter()
        .filter_map(|p| p.parent())
        .find(|d| d.starts_with(dir.join("resources")));
    if let Some(resources) = resources {
        out.push_str(&format!(
            "check the resources: resilience-tui validate --resources-path {}\n",
            resources.display()
        ));
    }
    print_quietly(&out);
    Ok(ExitCode::SUCCESS)
}

pub use crate::output::print_quietly;

fn run_scenario(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name else {
        return Ok(scenario_without_a_name());
    };
    let found = scenario::find(&name).ok_or_else(|| {
        let names: Vec<String> = scenario::list().iter().map(scenario::Source::name).collect();
        anyhow::anyhow!(
            "no scenario `{name}`; the scenarios are: {} (or give a path to a scenario file)",
            names.join(", ")
        )
    })?;
    let scenario = found
        .source
        .load()
        .map_err(|report| anyhow::anyhow!("the scenario `{name}` does not load:\n{report}"))?;
    found
        .check_commands(&scenario, args.allow_commands)
        .map_err(anyhow::Error::msg)?;
    let mut opts = args.run.into_options();
    if let Some(message) = found.replacement() {
        opts.start_warnings.push(crate::event::Event::Warning {
            message,
            location: None,
            field: None,
            help: Some("to run the built-in one, run from another folder or rename the local file".into()),
        });
    }
    run_under(scenario, args.display, opts)
}

/// `run -f`: the template's apps as real processes, each with its sidecar.
fn run_template(args: RunFileArgs) -> anyhow::Result<ExitCode> {
    let (template, warnings) = crate::runfile::load(&args.file).map_err(anyhow::Error::msg)?;
    for w in &warnings {
        crate::lifecycle::eprintln_quietly(w);
    }
    let scenario = crate::runfile::scenario(&template, args.run.resources_path.as_deref())?;
    let mut opts = args.run.into_options();
    // A template's `daprGRPCPort`, unless `--dapr-grpc-port` moves it (the last override given wins).
    let from_template = template
        .apps
        .iter()
        .filter_map(|a| a.dapr_grpc_port.map(|port| (a.app_id.clone(), port)));
    opts.grpc_ports.overrides.splice(0..0, from_template);
    // A template's `maxBodySize` (its own or `common`'s), unless `--max-body-size` sets every sidecar's.
    opts.max_body_per_app = template
        .apps
        .iter()
        .filter_map(|a| a.max_body_size.map(|n| (a.app_id.clone(), n)))
        .collect();
    opts.metrics_ports = crate::runfile::metrics_ports(&template, opts.metrics_ports.overrides)?;
    run_under(scenario, args.display, opts)
}

/// Runs `scenario` under the UI, or headless when asked or when stdout is not a terminal.
fn run_under(
    scenario: crate::scenario::Scenario,
    display: DisplayArgs,
    opts: crate::lifecycle::RunOptions,
) -> anyhow::Result<ExitCode> {
    let headless = display.headless || !std::io::stdout().is_terminal();
    init_logging(display.log_file.as_deref(), headless)?;
    let runtime = tokio::runtime::Runtime::new()?;
    // A recording without a terminal draws the UI off-screen into the cast (and prints the summary).
    if headless && display.record.is_none() {
        let printer = crate::headless::Headless {
            output: display.output,
            log_format: display.log_format,
        };
        runtime.block_on(crate::lifecycle::run(scenario, opts, printer))
    } else {
        let ui = crate::tui::TuiOptions {
            fps: display.fps,
            viewport: display.viewport,
            record: display.record,
            offscreen: headless,
        };
        let tui = crate::tui::Tui::new(&scenario, ui)?;
        runtime.block_on(crate::lifecycle::run(scenario, opts, tui))
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
