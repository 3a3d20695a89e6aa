//! Running a scenario: start the apps and their sidecars on real loopback ports, schedule faults, and hand
//! every event to a display until the run ends; then clear what we injected and stop everything.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use super::stores::{StoreServer, choose_state_stores};
use super::{AppSpec, FaultAction, PortOverrides, Scenario, loopback};
use crate::apps::checkout::Checkout;
use crate::apps::order_processor::OrderProcessor;
use crate::apps::state_order_processor::StateOrderProcessor;
use crate::event::{Event, EventBus, Stamped};
use crate::fault::{Fault, FaultTarget, RedisProcess};
use crate::headless::{Output, Printer};
use crate::resiliency::Resiliency;
use crate::resources::{self, Resources};
use crate::sidecar::{DEFAULT_MAX_BODY_BYTES, NameResolver, Sidecar, SidecarOptions};

/// How to run a scenario (from the command line).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub resources_path: Option<PathBuf>,
    pub ports: PortOverrides,
    /// Inject the scenario's first fault at each of these times since start…
    pub fault_at: Vec<Duration>,
    /// …and clear all faults at these (paired in order).
    pub clear_at: Vec<Duration>,
    /// End the run after this long (default: until Ctrl-C or SIGTERM).
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
    fn listen(&self, port: u16) -> std::net::SocketAddr {
        match self.listen_address {
            Some(ip) => std::net::SocketAddr::new(ip, port),
            None => loopback(port),
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

/// A scenario whose apps and sidecars are running.
pub struct Running {
    pub bus: EventBus,
    pub scenario: Scenario,
    pub faults: Vec<Fault>,
    sidecars: Vec<Sidecar>,
    apps: Vec<Arc<OrderProcessor>>,
    tasks: Vec<JoinHandle<()>>,
    /// redis-server processes the tool started; stopped at shutdown (and killed if dropped).
    redis: Vec<Arc<RedisProcess>>,
}

/// Starts everything. Resources with errors stop the start with the located report.
pub async fn start(mut scenario: Scenario, opts: &RunOptions) -> anyhow::Result<(Running, UnboundedReceiver<Stamped>)> {
    opts.ports.apply(&mut scenario).map_err(anyhow::Error::msg)?;
    if let Some(path) = &opts.resources_path {
        scenario.resources = path.clone();
    }
    let mut loaded: Resources = resources::load_dir(&scenario.resources, None)?;
    if loaded.has_errors() {
        bail!(
            "the resources in {} do not load:\n{}",
            scenario.resources.display(),
            loaded.render_diagnostics()
        );
    }
    let (bus, rx) = EventBus::new();
    if let Some(ip) = opts.listen_address.filter(|ip| !ip.is_loopback()) {
        let text = format!(
            "warning: --listen-address {ip} exposes the sidecars' Dapr API (invoke, state, metadata) and order-processor beyond this machine, without TLS{}; use it only on a network you trust",
            if opts.api_token.is_some() {
                ""
            } else {
                " and without DAPR_API_TOKEN"
            }
        );
        tracing::warn!("{text}");
        bus.emit(Event::Notice { text });
    }
    let redis_processes =
        choose_state_stores(&scenario, &mut loaded, &bus, opts.state_store, &opts.redis_container).await?;
    let resolver = Arc::new(NameResolver::default());
    let mut apps = Vec::new();
    for app in &scenario.apps {
        if let AppSpec::OrderProcessor { app_id, app_port, .. } = app {
            let flag = format!("--app-port {app_id}=PORT");
            let processor = Arc::new(OrderProcessor::new(app_id, opts.listen(*app_port), &flag, bus.clone()));
            processor.start().await?;
            resolver.register(app_id, processor.addr());
            apps.push(processor);
        }
    }
    let mut sidecars = Vec::new();
    for app in &scenario.apps {
        let app_id = app.app_id();
        let resiliency = Resiliency::new(app_id, loaded.resiliency_configs(), bus.resiliency_observer(app_id));
        let options = SidecarOptions {
            app_id: app_id.to_string(),
            listen: opts.listen(app.dapr_http_port()),
            port_flag: format!("--dapr-http-port {app_id}=PORT"),
            app_port: match app {
                AppSpec::OrderProcessor { app_port, .. } => Some(*app_port),
                AppSpec::Checkout { .. } | AppSpec::StateOrderProcessor { .. } => None,
            },
            api_token: opts.api_token.clone(),
            max_body_bytes: opts.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        };
        let components = loaded
            .components
            .iter()
            .filter(|c| c.applies_to(app_id))
            .cloned()
            .collect();
        let sidecar = Sidecar::start(options, resiliency, resolver.clone(), components).await?;
        tracing::info!(app_id, addr = %sidecar.addr(), "sidecar listening");
        sidecars.push(sidecar);
    }
    let mut faults = Vec::new();
    let mut watchers = Vec::new();
    for spec in &scenario.faults {
        let target = match &spec.action {
            FaultAction::StopApp { app_id } => {
                let app = apps
                    .iter()
                    .find(|a| &**a.app_id() == app_id.as_str())
                    .context("fault target app")?;
                FaultTarget::App(app.clone())
            }
            FaultAction::StopStateStore { component } => match redis_processes.iter().find(|(c, _)| c == component) {
                Some((_, StoreServer::Process(process))) => FaultTarget::RedisProcess(process.clone()),
                Some((_, StoreServer::Container(container, running))) => {
                    let (on_state, on_error) = (bus.clone(), bus.clone());
                    let name = container.name().to_string();
                    on_state.emit(Event::Container {
                        name: name.clone(),
                        state: if *running { "running" } else { "exited" },
                    });
                    watchers.push(container.watch(
                        move |state| {
                            on_state.emit(Event::Container {
                                name: name.clone(),
                                state,
                            })
                        },
                        move |text| on_error.emit(Event::Notice { text }),
                    ));
                    let target = FaultTarget::Container(container.clone());
                    if !*running {
                        faults.push(Fault::already_injected(spec.clone(), target));
                        continue;
                    }
                    target
                }
                None => {
                    let store = sidecars
                        .iter()
                        .find_map(|s| s.memory_store(component))
                        .with_context(|| {
                            format!("fault `{}`: no sidecar serves the state store `{component}`", spec.name)
                        })?;
                    FaultTarget::MemoryOutage {
                        component: component.clone(),
                        store: store.clone(),
                    }
                }
            },
        };
        faults.push(Fault::new(spec.clone(), target));
    }
    let interval = opts.order_interval.unwrap_or(Duration::from_secs(1));
    let sidecar_of = |app_id: &str| sidecars.iter().find(|s| s.app_id() == app_id).map(Sidecar::addr);
    let mut tasks = watchers;
    for app in &scenario.apps {
        match app {
            AppSpec::Checkout { app_id, target, .. } => {
                let sidecar = sidecar_of(app_id).context("checkout sidecar")?;
                let checkout = Checkout {
                    app_id: app_id.as_str().into(),
                    sidecar,
                    target: target.clone(),
                    interval,
                };
                tasks.push(tokio::spawn(checkout.run(bus.clone())));
            }
            AppSpec::StateOrderProcessor { app_id, store, .. } => {
                let sidecar = sidecar_of(app_id).context("order-processor sidecar")?;
                let app = StateOrderProcessor {
                    app_id: app_id.as_str().into(),
                    sidecar,
                    store: store.clone(),
                    interval,
                };
                tasks.push(tokio::spawn(app.run(bus.clone())));
            }
            AppSpec::OrderProcessor { .. } => {}
        }
    }
    let redis = redis_processes
        .into_iter()
        .filter_map(|(_, server)| match server {
            StoreServer::Process(p) => Some(p),
            StoreServer::Container(..) => None,
        })
        .collect();
    Ok((
        Running {
            bus,
            scenario,
            faults,
            sidecars,
            apps,
            tasks,
            redis,
        },
        rx,
    ))
}

impl Running {
    /// Clears every fault in effect; returns a warning (with the command that does it by hand) for each fault
    /// that stays in effect.
    pub async fn clear_faults(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for fault in &self.faults {
            fault.clear(&self.bus).await;
            if fault.is_injected().await {
                let by_hand = fault
                    .manual_clear_command()
                    .map(|c| format!("; run: {c}"))
                    .unwrap_or_default();
                warnings.push(format!(
                    "warning: fault {} could not be cleared{by_hand}",
                    fault.spec.name
                ));
            }
        }
        warnings
    }

    /// Clears every fault we injected, then stops the apps' tasks, the sidecars and the app listeners.
    pub async fn shutdown(self) {
        for fault in &self.faults {
            fault.clear(&self.bus).await;
        }
        for task in &self.tasks {
            task.abort();
        }
        for sidecar in self.sidecars {
            // A request held in a retry loop would keep a graceful stop waiting: give it a moment, no more.
            let app_id = sidecar.app_id().to_string();
            if tokio::time::timeout(Duration::from_secs(1), sidecar.stop())
                .await
                .is_err()
            {
                tracing::warn!(
                    app_id,
                    "the sidecar did not stop within 1s (a request was held in a retry loop)"
                );
            }
        }
        for app in &self.apps {
            let _ = tokio::time::timeout(Duration::from_secs(1), app.stop()).await;
        }
        for redis in &self.redis {
            redis.stop().await;
        }
        for redis in &self.redis {
            redis.stop().await;
        }
    }
}

/// Schedules `--fault-at` / `--clear-at` on the running scenario.
pub(crate) fn schedule(running: &Arc<Running>, opts: &RunOptions) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let start = tokio::time::Instant::now() - running.bus.elapsed();
    for (at, inject) in opts
        .fault_at
        .iter()
        .map(|t| (*t, true))
        .chain(opts.clear_at.iter().map(|t| (*t, false)))
    {
        let running = running.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start + at).await;
            match (inject, running.faults.first()) {
                (true, Some(fault)) => fault.inject(&running.bus).await,
                (false, _) => {
                    for fault in &running.faults {
                        fault.clear(&running.bus).await;
                    }
                }
                (true, None) => {}
            }
        }));
    }
    tasks
}

/// Runs the scenario headless: prints every event, then the summary. Exit 0, or 2 when an order was lost.
pub async fn headless(scenario: Scenario, opts: RunOptions, output: Output) -> anyhow::Result<ExitCode> {
    opts.check_schedule()?;
    let (running, mut rx) = start(scenario, &opts).await?;
    let running = Arc::new(running);
    let timers = schedule(&running, &opts);
    let mut printer = Printer::new(std::io::stdout().lock(), output);
    let end = async {
        match opts.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    loop {
        tokio::select! {
            Some(event) = rx.recv() => printer.print(&event)?,
            _ = &mut end => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        }
    }
    for t in timers {
        t.abort();
    }
    let bus = running.bus.clone();
    let end_at = bus.elapsed();
    let warnings = tokio::time::timeout(Duration::from_secs(15), running.clear_faults())
        .await
        .unwrap_or_else(|_| vec!["warning: clearing the faults timed out".to_string()]);
    match Arc::try_unwrap(running) {
        Ok(running) => running.shutdown().await,
        Err(shared) => {
            for fault in &shared.faults {
                fault.clear(&shared.bus).await;
            }
        }
    }
    while let Ok(event) = rx.try_recv() {
        printer.print(&event)?;
    }
    let (_, ledger) = printer.finish(end_at)?;
    for w in warnings {
        eprintln!("{w}");
    }
    Ok(if ledger.summary().lost > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn signal(kind: tokio::signal::unix::SignalKind) -> anyhow::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("cannot listen for signals")
}
