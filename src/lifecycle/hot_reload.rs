//! Hot reload of the Resiliency resources, as daprd v1.18 does it with its `HotReload` feature: a Resiliency
//! resource created, updated or deleted makes daprd restart its runtime (SIGHUP), which loads every resource
//! again and builds new breakers (dapr/dapr `pkg/runtime/hotreload/reconciler/sighup.go`, which logs
//! `Received Resiliency UPDATED event: NAME - triggering SIGHUP reload`). Here each sidecar gets a new policy
//! registry from the edited folder; calls in flight finish under the old one.
//!
//! A folder that no longer loads keeps the old policies (daprd would fail to restart; a learner's typo should
//! not end the lesson), and its errors are said, located, as warnings: in the UI's banner and sidecar log, and
//! on stderr headless. Only a scenario whose resources are a folder on disk is watched; the built-in ones are
//! compiled in (`resilience-tui init` writes them out to edit).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::start::say_warning;
use crate::event::{Event, EventBus};
use crate::resiliency::Resiliency;
use crate::resources::Severity;
use crate::sidecar::Sidecar;

/// How often the folder is looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// The YAML files of `dir` and their bytes, in name order: what is compared between looks.
fn snapshot(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect();
    files.sort();
    files
}

/// Watches `dir` until aborted; on a change, reloads every sidecar's policies, or says why not.
pub fn watch(dir: PathBuf, sidecars: Vec<Arc<Sidecar>>, bus: EventBus) -> JoinHandle<()> {
    tokio::spawn(async move {
        let dir = Arc::new(dir);
        let mut seen = read_off_runtime(&dir).await;
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = read_off_runtime(&dir).await;
            if now == seen {
                continue;
            }
            seen = now;
            // Reading and parsing the files is blocking work: off the runtime's threads.
            let (dir, sidecars, bus) = (dir.clone(), sidecars.clone(), bus.clone());
            let _ = tokio::task::spawn_blocking(move || reload(&dir, &sidecars, &bus)).await;
        }
    })
}

/// [`snapshot`] on a blocking thread (file reads never stall the runtime that serves the sidecars).
async fn read_off_runtime(dir: &Arc<PathBuf>) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || snapshot(&dir))
        .await
        .unwrap_or_default()
}

fn reload(dir: &std::path::Path, sidecars: &[Arc<Sidecar>], bus: &EventBus) {
    let keep = "the sidecars keep their policies";
    let loaded = match crate::resources::load_dir(dir, None) {
        Ok(loaded) => loaded,
        Err(e) => {
            let message = format!("{} was edited but cannot be read ({e}); {keep}", dir.display());
            let warning = Event::Warning {
                message,
                location: None,
                field: None,
                help: None,
            };
            say_warning(bus, warning);
            return;
        }
    };
    if loaded.has_errors() {
        for d in loaded.diagnostics.iter().filter(|d| d.severity == Severity::Error) {
            let Event::Warning {
                message,
                location,
                field,
                help,
            } = Event::warning_of(d)
            else {
                continue;
            };
            let message = format!("the edited resources do not load, so {keep}: {message}");
            say_warning(
                bus,
                Event::Warning {
                    message,
                    location,
                    field,
                    help,
                },
            );
        }
        return;
    }
    let resources: Vec<String> = loaded.resiliency_configs().into_iter().map(|c| c.name).collect();
    let reloaded = Event::ResiliencyReloaded { resources };
    tracing::info!("{}", reloaded.text().unwrap_or_default());
    bus.emit(reloaded);
    for d in loaded.diagnostics.iter().filter(|d| d.severity == Severity::Warning) {
        say_warning(bus, Event::warning_of(d));
    }
    for sidecar in sidecars {
        let observer = sidecar.resiliency().observer();
        let fresh = Resiliency::new(sidecar.app_id(), loaded.resiliency_configs(), observer);
        sidecar.reload_resiliency(fresh);
    }
}
