//! Scenarios: a scenario file (`scenarios/<name>.yaml`) says which apps run, on which ports, with which Dapr
//! resources, and which faults a learner can inject. `run.rs` runs one.

mod file;
pub mod run;
mod stores;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use file::load;

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
            | AppSpec::OrderProcessor { app_id, .. }
            | AppSpec::StateOrderProcessor { app_id, .. } => app_id,
        }
    }

    pub fn dapr_http_port(&self) -> u16 {
        match self {
            AppSpec::Checkout { dapr_http_port, .. }
            | AppSpec::OrderProcessor { dapr_http_port, .. }
            | AppSpec::StateOrderProcessor { dapr_http_port, .. } => *dapr_http_port,
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Stop an app's listener (connections refused); clearing starts it again on the same port.
    StopApp { app_id: String },
    /// Stop a state store component's server (see `run.rs` for which one a run uses); clearing starts it.
    StopStateStore { component: String },
}

impl FaultAction {
    /// What pressing the fault's key does, in a few words.
    pub fn summary(&self) -> String {
        match self {
            FaultAction::StopApp { app_id } => format!("stop {app_id}"),
            FaultAction::StopStateStore { component } => format!("stop Redis ({component})"),
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
    /// The Dapr resources folder, resolved relative to the scenario file.
    pub resources: PathBuf,
    pub apps: Vec<AppSpec>,
    pub faults: Vec<FaultSpec>,
    pub file: PathBuf,
}

impl Scenario {
    pub fn app(&self, app_id: &str) -> Option<&AppSpec> {
        self.apps.iter().find(|a| a.app_id() == app_id)
    }
}

/// Where scenario files are looked up by name: `./scenarios`, then next to the executable's project.
pub fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("scenarios")];
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    if !dirs.contains(&built_in) {
        dirs.push(built_in);
    }
    dirs
}

/// A scenario name (`service-invoke`) or a path to a scenario file.
pub fn find(name_or_path: &str) -> Option<PathBuf> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    scenario_dirs()
        .into_iter()
        .map(|d| d.join(format!("{name_or_path}.yaml")))
        .find(|p| p.is_file())
}

/// Every scenario file found, by name.
pub fn list() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in scenario_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let named_like = |q: &PathBuf| q.file_name() == p.file_name();
            if p.extension().is_some_and(|x| x == "yaml") && !found.iter().any(named_like) {
                found.push(p);
            }
        }
    }
    found.sort();
    found
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
                    | AppSpec::OrderProcessor { dapr_http_port, .. }
                    | AppSpec::StateOrderProcessor { dapr_http_port, .. },
                ) => *dapr_http_port = *port,
                None => return Err(unknown_app(scenario, id, "--dapr-http-port")),
            }
        }
        for (id, port) in &self.app {
            match scenario.apps.iter_mut().find(|a| a.app_id() == id) {
                Some(AppSpec::OrderProcessor { app_port, .. }) => *app_port = *port,
                Some(_) => {
                    return Err(format!("--app-port {id}=…: {id} serves no app port in this scenario"));
                }
                None => return Err(unknown_app(scenario, id, "--app-port")),
            }
        }
        Ok(())
    }
}

fn unknown_app(scenario: &Scenario, id: &str, flag: &str) -> String {
    let ids: Vec<&str> = scenario.apps.iter().map(AppSpec::app_id).collect();
    format!(
        "{flag} {id}=…: scenario {} has no app `{id}`; its apps are {}",
        scenario.name,
        ids.join(", ")
    )
}

/// Loopback address for a port (everything binds to loopback).
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
