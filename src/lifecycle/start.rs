//! Starting a run: load the resources, start the stores, the apps and their sidecars on real ports, and build
//! the faults. Each step is one function, called in order by [`start`]; `stop.rs` ends the run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::RunOptions;
use super::tasks::RunTasks;
use crate::apps::checkout::Checkout;
use crate::apps::load::{CheckoutLoad, LoadStats, meter};
use crate::apps::order_processor::OrderProcessor;
use crate::apps::process::AppProcess;
use crate::apps::state_order_processor::StateOrderProcessor;
use crate::event::{Event, EventBus, Events};
use crate::faults::FaultSet;
use crate::faults::redis_server::RedisServer;
use crate::faults::stores::{StoreServer, choose_state_stores};
use crate::resiliency::Resiliency;
use crate::resources::Resources;
use crate::scenario::{AppSpec, Scenario};
use crate::sidecar::batch::Batched;
use crate::sidecar::{DEFAULT_MAX_BODY_BYTES, NameResolver, Sidecar, SidecarOptions};
use crate::summary::SharedLedger;

/// A scenario whose apps and sidecars are running.
pub struct Running {
    pub bus: EventBus,
    /// The bus's recorder: every event counted as it is emitted, for the summary.
    pub ledger: Arc<SharedLedger>,
    pub faults: Arc<FaultSet>,
    pub(super) sidecars: Vec<Arc<Sidecar>>,
    pub(super) apps: Vec<Arc<OrderProcessor>>,
    /// A run template's apps, real processes.
    pub(super) processes: Vec<Arc<AppProcess>>,
    /// Every task of the run (the client apps, the traffic meters, the hot-reload watcher, Docker's event
    /// stream, the fault timers and the keys' fault changes), and the token they stop by: once it is
    /// cancelled, the clients report no answer.
    pub(super) tasks: RunTasks,
    /// redis-server processes the tool started; stopped at shutdown (and killed if dropped).
    pub(super) redis: Vec<Arc<RedisServer>>,
}

/// Starts everything. Resources with errors stop the start with the located report.
pub async fn start(mut scenario: Scenario, opts: &RunOptions) -> anyhow::Result<(Running, Events)> {
    opts.ports.apply(&mut scenario).map_err(anyhow::Error::msg)?;
    if let Some(path) = &opts.resources_path {
        scenario.resources = crate::scenario::ResourcesSource::Dir(path.clone());
    }
    let mut loaded = load_resources(&scenario)?;
    let ledger = Arc::new(SharedLedger::default());
    let (bus, events) = EventBus::new(ledger.clone());
    for warning in &opts.start_warnings {
        say_warning(&bus, warning.clone());
    }
    warn_about_exposure(&bus, opts);
    // What the loader found doubtful in the resources in use (a bare-number duration, an unknown policy name,
    // an ignored field): a learner should see it without running `validate`.
    for d in loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::resources::Severity::Warning)
    {
        say_warning(&bus, Event::warning_of(d));
    }
    let stores = choose_state_stores(&scenario, &mut loaded, &bus, opts.state_store, &opts.redis_container).await?;
    let resolver = Arc::new(NameResolver::default());
    let apps = start_order_processors(&scenario, opts, &bus).await?;
    let sidecars = start_sidecars(&scenario, opts, &bus, &resolver, &loaded).await?;
    let processes = super::processes::start_processes(&scenario, opts, &sidecars, &bus).await?;
    let tasks = RunTasks::default();
    let targets = super::fault_targets::Targets {
        apps: &apps,
        processes: &processes,
        sidecars: &sidecars,
        stores: &stores,
    };
    let faults = super::fault_targets::build_faults(&scenario.faults, &targets, &bus, &tasks).await?;
    start_clients(&scenario, opts, &bus, &sidecars, &tasks)?;
    if let crate::scenario::ResourcesSource::Dir(dir) = &scenario.resources {
        let (dir, sidecars, bus) = (dir.clone(), sidecars.clone(), bus.clone());
        tasks.spawn("hot reload", |stop| super::hot_reload::watch(dir, sidecars, bus, stop));
    }
    let redis = stores
        .into_iter()
        .filter_map(|(_, server)| match server {
            StoreServer::RedisServer(p) => Some(p),
            StoreServer::Container(..) => None,
        })
        .collect();
    let running = Running {
        faults: Arc::new(FaultSet::new(faults, bus.clone())),
        bus,
        ledger,
        sidecars,
        apps,
        processes,
        tasks,
        redis,
    };
    Ok((running, events))
}

fn load_resources(scenario: &Scenario) -> anyhow::Result<Resources> {
    let loaded = scenario.resources.load()?;
    if loaded.has_errors() {
        bail!(
            "the resources in {} do not load:\n{}",
            scenario.resources,
            loaded.render_diagnostics()
        );
    }
    Ok(loaded)
}

/// A warning to the log (stderr headless) and to the displays.
pub(super) fn say_warning(bus: &EventBus, warning: Event) {
    tracing::warn!("{}", warning.text().unwrap_or_default());
    bus.emit(warning);
}

fn warn_about_exposure(bus: &EventBus, opts: &RunOptions) {
    let Some(ip) = opts.listen_address.filter(|ip| !ip.is_loopback()) else {
        return;
    };
    let token = if opts.api_token.is_some() {
        ""
    } else {
        " and without DAPR_API_TOKEN"
    };
    let message = format!(
        "--listen-address {ip} exposes the sidecars' Dapr API (invoke, state, metadata) and order-processor beyond this machine, without TLS{token}"
    );
    let warning = Event::Warning {
        message,
        location: None,
        field: None,
        help: Some("use it only on a network you trust".into()),
    };
    say_warning(bus, warning);
}

/// The apps that serve an HTTP port.
async fn start_order_processors(
    scenario: &Scenario,
    opts: &RunOptions,
    bus: &EventBus,
) -> anyhow::Result<Vec<Arc<OrderProcessor>>> {
    let mut apps = Vec::new();
    for app in &scenario.apps {
        if let AppSpec::OrderProcessor { app_id, app_port, .. } = app {
            let flag = format!("--app-port {app_id}=PORT");
            let processor = Arc::new(OrderProcessor::new(app_id, opts.listen(*app_port), &flag, bus.clone()));
            processor.start().await?;
            apps.push(processor);
        }
    }
    Ok(apps)
}

/// One sidecar per app, each with the resources scoped to it, registered with name resolution: apps are
/// reached through their sidecars, as in Dapr.
async fn start_sidecars(
    scenario: &Scenario,
    opts: &RunOptions,
    bus: &EventBus,
    resolver: &Arc<NameResolver>,
    loaded: &Resources,
) -> anyhow::Result<Vec<Arc<Sidecar>>> {
    let mut sidecars = Vec::new();
    for (index, app) in scenario.apps.iter().enumerate() {
        let app_id = app.app_id();
        // The sidecar's thread hands its events over in batches (see sidecar/batch.rs), counted first by its
        // metrics (metrics/mod.rs).
        let metrics = crate::metrics::SidecarMetrics::new(app_id);
        let observer = crate::metrics::Tee::new(metrics.clone(), Arc::new(Batched(bus.resiliency_observer(app_id))));
        let resiliency = Resiliency::new(app_id, loaded.resiliency_configs(), observer);
        let options = SidecarOptions {
            app_id: app_id.to_string(),
            listen: opts.listen(app.dapr_http_port()),
            port_flag: format!("--dapr-http-port {app_id}=PORT"),
            grpc_listen: Some(opts.listen(opts.grpc_ports.port(app_id, index, opts.listen(0).ip()))),
            grpc_port_chosen: !opts.grpc_ports.overrides.iter().any(|(app, _)| app == app_id),
            app_port: match app {
                AppSpec::OrderProcessor { app_port, .. } => Some(*app_port),
                AppSpec::Process { app_port, .. } => *app_port,
                AppSpec::Checkout { .. } | AppSpec::CheckoutLoad { .. } | AppSpec::StateOrderProcessor { .. } => None,
            },
            api_token: opts.api_token.clone(),
            max_body_bytes: opts
                .max_body_bytes
                .or_else(|| {
                    opts.max_body_per_app
                        .iter()
                        .find(|(app, _)| app == app_id)
                        .map(|(_, n)| *n)
                })
                .unwrap_or(DEFAULT_MAX_BODY_BYTES),
            metrics: Some(crate::metrics::server::MetricsOptions {
                listen: opts.listen(opts.metrics_ports.port(app_id, index)),
                port_flag: format!("--metrics-port {app_id}=PORT"),
                metrics,
            }),
        };
        let components = loaded
            .components
            .iter()
            .filter(|c| c.applies_to(app_id))
            .cloned()
            .collect();
        let sidecar = if opts.sidecars_on_this_runtime {
            Sidecar::start_on_this_runtime(options, resiliency, resolver.clone(), components).await?
        } else {
            Sidecar::start(options, resiliency, resolver.clone(), components).await?
        };
        let grpc = sidecar.grpc_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(app_id, addr = %sidecar.addr(), grpc, "sidecar listening (HTTP API at addr, gRPC API at grpc)");
        if let Some(grpc) = sidecar.grpc_addr() {
            // An SDK app dying on UNIMPLEMENTED is told which method, and what to use (issue 18 item 14).
            let (bus, app, http) = (bus.clone(), app_id.to_string(), sidecar.addr().port());
            sidecar.on_unserved_grpc(Arc::new(move |method: &str| {
                let served = crate::sidecar::GRPC_SERVED;
                say_warning(&bus, Event::unserved_grpc(&app, method, grpc.port(), http, served));
            }));
        }
        resolver.register_sidecar(app_id, sidecar.addr());
        sidecars.push(Arc::new(sidecar));
    }
    Ok(sidecars)
}

/// The apps that send: checkout's orders, the state app's saves. They start last, once everything they call
/// is listening.
fn start_clients(
    scenario: &Scenario,
    opts: &RunOptions,
    bus: &EventBus,
    sidecars: &[Arc<Sidecar>],
    tasks: &RunTasks,
) -> anyhow::Result<()> {
    let interval = opts.order_interval.unwrap_or(Duration::from_secs(1));
    let sidecar_of = |app_id: &str| {
        sidecars
            .iter()
            .find(|s| s.app_id() == app_id)
            .map(|s| s.addr())
            .with_context(|| format!("no sidecar for {app_id}"))
    };
    let mut loads: std::collections::BTreeMap<String, Vec<_>> = std::collections::BTreeMap::new();
    for app in &scenario.apps {
        match app {
            AppSpec::Checkout { app_id, target, .. } => {
                let checkout = Checkout {
                    app_id: app_id.as_str().into(),
                    sidecar: sidecar_of(app_id)?,
                    target: target.clone(),
                    interval,
                    stop: tasks.token(),
                };
                tasks.spawn(app_id.as_str(), |_| checkout.run(bus.clone()));
            }
            AppSpec::StateOrderProcessor { app_id, store, .. } => {
                let app = StateOrderProcessor {
                    app_id: app_id.as_str().into(),
                    sidecar: sidecar_of(app_id)?,
                    store: store.clone(),
                    interval,
                    stop: tasks.token(),
                };
                tasks.spawn(app_id.as_str(), |_| app.run(bus.clone()));
            }
            AppSpec::CheckoutLoad {
                app_id,
                target,
                per_second,
                first_order_id,
                ..
            } => {
                let stats = Arc::new(std::sync::Mutex::new(LoadStats::default()));
                let load = CheckoutLoad {
                    app_id: app_id.as_str().into(),
                    sidecar: sidecar_of(app_id)?,
                    target: target.clone(),
                    per_second: *per_second,
                    first_order_id: *first_order_id,
                    stats: stats.clone(),
                    stop: tasks.token(),
                };
                tasks.spawn(app_id.as_str(), |_| load.run(bus.clone()));
                loads
                    .entry(target.clone())
                    .or_insert_with(Vec::new)
                    .push((app_id.clone(), stats));
            }
            // Real processes are started by `processes.rs`, after every sidecar listens.
            AppSpec::OrderProcessor { .. } | AppSpec::Process { .. } => {}
        }
    }
    // One traffic meter per service under load.
    for (callee, callers) in loads {
        if let Some(sidecar) = sidecars.iter().find(|s| s.app_id() == callee) {
            let (sidecar, bus) = (sidecar.clone(), bus.clone());
            tasks.spawn(format!("traffic meter of {callee}"), |stop| {
                meter(sidecar, callers, bus, stop)
            });
        }
    }
    Ok(())
}
