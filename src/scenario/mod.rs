//! Scenarios: a scenario file (`scenarios/<name>.yaml`) says which apps run, on which ports, with which Dapr
//! resources, and which faults a learner can inject. The built-in ones are compiled in (`builtin.rs`);
//! `init.rs` writes them out for editing; `crate::lifecycle` runs one.

pub mod builtin;
mod fault_action;
mod file;
pub mod init;
mod lookup;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::hop_faults::channel::ChannelFault;
pub use crate::hop_faults::store_calls::StoreFault;

pub use file::{RESERVED_KEYS, load, parse};
pub use lookup::{Found, Origin, find, list};

use crate::resources::{LoadError, Resources};

/// One app of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSpec {
    /// Sends orders to `target` through its sidecar.
    Checkout {
        app_id: String,
        dapr_http_port: u16,
        target: String,
    },
    /// Serves `POST /orders` on `app_port`.
    OrderProcessor {
        app_id: String,
        app_port: u16,
        dapr_http_port: u16,
    },
    /// Sends `per_second` orders a second to `target`, each without waiting for the one before (a service's many
    /// clients), numbered from `first_order_id`.
    CheckoutLoad {
        app_id: String,
        dapr_http_port: u16,
        target: String,
        per_second: u32,
        first_order_id: u64,
    },
    /// A real process (a run template's app): its command in its folder, with the Dapr CLI's environment.
    Process {
        app_id: String,
        dapr_http_port: u16,
        app_port: Option<u16>,
        process: crate::apps::process::ProcessSpec,
    },
    /// Saves and reads back orders through its sidecar's state API (the state-management quickstart).
    StateOrderProcessor {
        app_id: String,
        dapr_http_port: u16,
        store: String,
    },
}

impl AppSpec {
    pub fn app_id(&self) -> &str {
        match self {
            AppSpec::Checkout { app_id, .. }
            | AppSpec::CheckoutLoad { app_id, .. }
            | AppSpec::Process { app_id, .. }
            | AppSpec::OrderProcessor { app_id, .. }
            | AppSpec::StateOrderProcessor { app_id, .. } => app_id,
        }
    }

    pub fn dapr_http_port(&self) -> u16 {
        match self {
            AppSpec::Checkout { dapr_http_port, .. }
            | AppSpec::CheckoutLoad { dapr_http_port, .. }
            | AppSpec::Process { dapr_http_port, .. }
            | AppSpec::OrderProcessor { dapr_http_port, .. }
            | AppSpec::StateOrderProcessor { dapr_http_port, .. } => *dapr_http_port,
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Stop an app's listener (connections refused); clearing starts it again on the same port. Its sidecar
    /// stays up and answers callers that its app channel fails (gRPC Internal).
    StopApp { app_id: String },
    /// Stop an app and its sidecar, as Ctrl-C on the quickstart's `dapr run` does: callers' sidecars cannot
    /// reach it (gRPC Unavailable). Clearing starts both again on the same ports.
    StopAppAndSidecar { app_id: String },
    /// Stop a state store component's server (see `faults/stores.rs` for which one a run uses); clearing
    /// starts it.
    StopStateStore { component: String },
    /// A fault on an app's channel, the hop from its sidecar to the app: hang, reset, latency, http-error.
    Channel { app_id: String, fault: ChannelFault },
    /// Freeze a real app (SIGSTOP to its process group; SIGCONT clears): it holds its connections and answers
    /// nothing.
    PauseApp { app_id: String },
    /// An app stops for `down`, listens for `up`, and so on until cleared.
    Flap {
        app_id: String,
        down: Duration,
        up: Duration,
    },
    /// Freeze a state store's server (`docker pause`, SIGSTOP, or a simulated pause): it holds its
    /// connections and answers nothing.
    PauseStateStore { component: String },
    /// A fault on the hop from a sidecar to a state store: its calls wait, or fail.
    StoreCall { component: String, fault: StoreFault },
}

impl FaultAction {
    /// What pressing the fault's key does, in a few words.
    pub fn summary(&self) -> String {
        match self {
            FaultAction::StopApp { .. } => "stop app only".to_string(),
            FaultAction::StopAppAndSidecar { app_id } => format!("stop {app_id}"),
            FaultAction::StopStateStore { component } => format!("stop Redis ({component})"),
            FaultAction::Channel { fault, .. } => match fault {
                ChannelFault::Hang => "app hangs".to_string(),
                ChannelFault::Reset => "app resets".to_string(),
                ChannelFault::Latency { .. } => format!("latency {}", fault.parameters()),
                ChannelFault::HttpError { status, percent: 100 } => format!("answer {status}"),
                ChannelFault::HttpError { status, percent } => format!("{status} on {percent}%"),
            },
            FaultAction::Flap { .. } => "flap".to_string(),
            FaultAction::PauseApp { app_id } => format!("pause {app_id}"),
            FaultAction::PauseStateStore { component } => format!("pause Redis ({component})"),
            FaultAction::StoreCall { fault, .. } => match fault {
                StoreFault::Latency { .. } => format!("store latency {}", fault.parameters()),
                StoreFault::Error { .. } => "store errors".to_string(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub name: String,
    pub key: char,
    pub action: FaultAction,
    /// A short explanation for learners: what happens and what to watch.
    pub explain: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub summary: String,
    /// The Dapr resources: a folder resolved relative to the scenario file, or a built-in one.
    pub resources: ResourcesSource,
    pub apps: Vec<AppSpec>,
    pub faults: Vec<FaultSpec>,
    pub file: PathBuf,
}

impl Scenario {
    pub fn app(&self, app_id: &str) -> Option<&AppSpec> {
        self.apps.iter().find(|a| a.app_id() == app_id)
    }
}

/// Where a scenario's Dapr resources come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcesSource {
    Dir(PathBuf),
    /// A built-in scenario's resources, compiled in.
    BuiltIn(&'static builtin::BuiltIn),
}

impl ResourcesSource {
    pub fn load(&self) -> Result<Resources, LoadError> {
        match self {
            ResourcesSource::Dir(dir) => crate::resources::load_dir(dir, None),
            ResourcesSource::BuiltIn(b) => {
                let files = b
                    .resources
                    .iter()
                    .map(|(name, text)| (self.path().join(name), text.as_bytes().to_vec()))
                    .collect();
                Ok(crate::resources::load_files(files, None))
            }
        }
    }

    /// The folder, or where a built-in one would be (`<built-in>/resources/NAME`), for messages.
    pub fn path(&self) -> PathBuf {
        match self {
            ResourcesSource::Dir(dir) => dir.clone(),
            ResourcesSource::BuiltIn(b) => Path::new(BUILT_IN_PREFIX).join("resources").join(b.resources_dir),
        }
    }
}

impl std::fmt::Display for ResourcesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path().display())
    }
}

/// How messages name the built-in files.
pub const BUILT_IN_PREFIX: &str = "<built-in>";

/// Where a scenario comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    BuiltIn(&'static builtin::BuiltIn),
}

impl Source {
    pub fn load(&self) -> Result<Scenario, String> {
        match self {
            Source::File(path) => load(path),
            Source::BuiltIn(b) => {
                let path = Path::new(BUILT_IN_PREFIX)
                    .join("scenarios")
                    .join(format!("{}.yaml", b.name));
                let mut scenario = parse(&path, b.scenario.to_string())?;
                scenario.resources = ResourcesSource::BuiltIn(b);
                Ok(scenario)
            }
        }
    }

    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.file_stem().unwrap_or_default().to_string_lossy().into_owned(),
            Source::BuiltIn(b) => b.name.to_string(),
        }
    }
}

/// Port overrides from the command line: `--dapr-http-port APP=PORT`, `--app-port APP=PORT`.
#[derive(Debug, Clone, Default)]
pub struct PortOverrides {
    pub dapr_http: Vec<(String, u16)>,
    pub app: Vec<(String, u16)>,
}

impl PortOverrides {
    pub fn apply(&self, scenario: &mut Scenario) -> Result<(), String> {
        for (id, port) in &self.dapr_http {
            match scenario.apps.iter_mut().find(|a| a.app_id() == id) {
                Some(
                    AppSpec::Checkout { dapr_http_port, .. }
                    | AppSpec::CheckoutLoad { dapr_http_port, .. }
                    | AppSpec::Process { dapr_http_port, .. }
                    | AppSpec::OrderProcessor { dapr_http_port, .. }
                    | AppSpec::StateOrderProcessor { dapr_http_port, .. },
                ) => *dapr_http_port = *port,
                None => return Err(unknown_app(scenario, id, "--dapr-http-port")),
            }
        }
        for (id, port) in &self.app {
            match scenario.apps.iter_mut().find(|a| a.app_id() == id) {
                Some(AppSpec::OrderProcessor { app_port, .. }) => *app_port = *port,
                Some(AppSpec::Process {
                    app_port: Some(app_port),
                    ..
                }) => *app_port = *port,
                Some(_) => {
                    return Err(format!("--app-port {id}=…: {id} serves no app port in this scenario"));
                }
                None => return Err(unknown_app(scenario, id, "--app-port")),
            }
        }
        check_port_clash(scenario)
    }
}

/// Two of the scenario's own listeners on one port would fail with "port in use" against ourselves: say so.
fn check_port_clash(scenario: &Scenario) -> Result<(), String> {
    let mut taken: Vec<(u16, String, String)> = Vec::new();
    for app in &scenario.apps {
        let id = app.app_id();
        let mut ports = vec![(
            app.dapr_http_port(),
            format!("{id}'s sidecar"),
            format!("--dapr-http-port {id}=PORT"),
        )];
        if let AppSpec::OrderProcessor { app_port, .. } = app {
            ports.push((*app_port, id.to_string(), format!("--app-port {id}=PORT")));
        }
        for (port, who, flag) in ports {
            if let Some((_, other, other_flag)) = taken.iter().find(|(p, ..)| *p == port) {
                return Err(format!(
                    "port {port} would be both {other} and {who} in this scenario; give each its own port ({other_flag}, {flag})"
                ));
            }
            taken.push((port, who, flag));
        }
    }
    Ok(())
}

fn unknown_app(scenario: &Scenario, id: &str, flag: &str) -> String {
    let ids: Vec<&str> = scenario.apps.iter().map(AppSpec::app_id).collect();
    format!(
        "{flag} {id}=…: scenario {} has no app `{id}`; its apps are {}",
        scenario.name,
        ids.join(", ")
    )
}
