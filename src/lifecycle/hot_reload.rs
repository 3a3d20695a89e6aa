//! Hot reload of the Resiliency resources, as daprd v1.18 does it with its `HotReload` feature. daprd watches
//! the resources folder; on any file event it decodes every Resiliency and compares each with the one it had
//! loaded (`differ.AreSame`: the decoded objects, so a comment or a reformatting changes nothing). For each
//! resource created, updated or deleted it logs `Received Resiliency UPDATED event: NAME - triggering SIGHUP
//! reload` and sends itself SIGHUP, which restarts its runtime: `Received signal 'hangup'; restarting`, then
//! every resource loaded again, with new breakers (dapr/dapr `pkg/runtime/hotreload/reconciler/sighup.go`,
//! dapr/kit `signals/signals_posix.go`). An edit of a Component (`statestore.yaml`) restarts nothing.
//!
//! Here each sidecar whose resources changed says those lines and gets a new policy registry from the folder;
//! calls in flight finish under the old one. What else daprd's restart does, and we do not, is in
//! ARCHITECTURE.md's differences list.
//!
//! A folder that no longer loads keeps the old policies (daprd would fail to restart; a learner's typo should
//! not end the lesson), and its errors are said, located, as warnings: in the UI's banner and sidecar log, and
//! on stderr headless. Only a scenario whose resources are a folder on disk is watched; the built-in ones are
//! compiled in (`resilience-tui init` writes them out to edit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::start::say_warning;
use crate::event::{Event, EventBus, ResourceChange};
use crate::resiliency::Resiliency;
use crate::resources::{Resources, Severity};
use crate::sidecar::Sidecar;

/// How often the folder is looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// The YAML files of `dir` and their bytes, in name order: a cheap look that says whether to decode again.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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

/// A Resiliency resource as loaded: what daprd compares on a reload, and who it applies to.
#[derive(Debug, Clone)]
pub struct Known {
    pub name: String,
    pub fingerprint: String,
    pub scopes: Vec<String>,
}

/// The Resiliency resources that decoded in `resources`.
pub fn known_of(resources: &Resources) -> Vec<Known> {
    resources
        .resiliencies
        .iter()
        .map(|r| Known {
            name: r.config.name.clone(),
            fingerprint: r.fingerprint.clone(),
            scopes: r.config.scopes.clone(),
        })
        .collect()
}

/// The resources `app_id`'s sidecar loads (daprd loads only those whose scopes name it, or have none), by
/// name (of two with one name, the later one, as it is applied last).
fn loaded_by<'k>(known: &'k [Known], app_id: &str) -> BTreeMap<&'k str, &'k str> {
    known
        .iter()
        .filter(|k| k.scopes.is_empty() || k.scopes.iter().any(|s| s == app_id))
        .map(|k| (k.name.as_str(), k.fingerprint.as_str()))
        .collect()
}

/// What changed for `app_id`'s sidecar between two looks, in the order daprd sends the events (deleted,
/// updated, created: `loader/disk/resource.go`), by name within each.
pub fn changes(before: &[Known], after: &[Known], app_id: &str) -> Vec<(ResourceChange, String)> {
    let (before, after) = (loaded_by(before, app_id), loaded_by(after, app_id));
    let deleted = before.keys().filter(|n| !after.contains_key(*n));
    let updated = after.iter().filter(|(n, f)| before.get(*n).is_some_and(|b| b != *f));
    let created = after.keys().filter(|n| !before.contains_key(*n));
    deleted
        .map(|n| (ResourceChange::Deleted, n.to_string()))
        .chain(updated.map(|(n, _)| (ResourceChange::Updated, n.to_string())))
        .chain(created.map(|n| (ResourceChange::Created, n.to_string())))
        .collect()
}

/// Watches `dir` until `stop` is cancelled; on a change, restarts the sidecars whose Resiliency resources
/// changed, or says why the folder cannot be reloaded. A reload begun finishes first.
pub async fn watch(dir: PathBuf, sidecars: Vec<Arc<Sidecar>>, bus: EventBus, stop: CancellationToken) {
    let dir = Arc::new(dir);
    let mut seen = read_off_runtime(&dir).await;
    let mut known = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            crate::resources::load_dir(&dir, None).map_or_else(|_| Vec::new(), |r| known_of(&r))
        })
        .await
        .unwrap_or_default()
    };
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if stop.run_until_cancelled(tick.tick()).await.is_none() {
            return;
        }
        let now = read_off_runtime(&dir).await;
        if now == seen {
            continue;
        }
        seen = now;
        // Reading and parsing the files is blocking work: off the runtime's threads.
        let (dir, sidecars, bus, before) = (dir.clone(), sidecars.clone(), bus.clone(), known.clone());
        if let Ok(Some(after)) = tokio::task::spawn_blocking(move || reload(&dir, &sidecars, &bus, &before)).await {
            known = after;
        }
    }
}

/// [`snapshot`] on a blocking thread (file reads never stall the runtime that serves the sidecars).
async fn read_off_runtime(dir: &Arc<PathBuf>) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || snapshot(&dir))
        .await
        .unwrap_or_default()
}

/// Decodes the folder and restarts each sidecar whose resources changed; the resources now loaded, or `None`
/// when the folder does not load (the sidecars keep what they had).
fn reload(dir: &Path, sidecars: &[Arc<Sidecar>], bus: &EventBus, before: &[Known]) -> Option<Vec<Known>> {
    let loaded = load_or_say_why(dir, bus)?;
    let after = known_of(&loaded);
    let mut restarting = Vec::new();
    for sidecar in sidecars {
        let changed = changes(before, &after, sidecar.app_id());
        if changed.is_empty() {
            continue;
        }
        let app_id: Arc<str> = sidecar.app_id().into();
        for (change, resource) in changed {
            let app_id = app_id.clone();
            say(
                bus,
                Event::ResiliencyReloaded {
                    app_id,
                    change,
                    resource,
                },
            );
        }
        say(bus, Event::SidecarRestarting { app_id });
        restarting.push(sidecar);
    }
    if restarting.is_empty() {
        return Some(after);
    }
    // The restarted sidecars load every resource again: their warnings are said again too.
    for d in loaded.diagnostics.iter().filter(|d| d.severity == Severity::Warning) {
        say_warning(bus, Event::warning_of(d));
    }
    for sidecar in restarting {
        let observer = sidecar.resiliency().observer();
        let fresh = Resiliency::new(sidecar.app_id(), loaded.resiliency_configs(), observer);
        sidecar.reload_resiliency(fresh);
    }
    Some(after)
}

fn say(bus: &EventBus, event: Event) {
    tracing::info!(source = %event.source(), "{}", event.text().unwrap_or_default());
    bus.emit(event);
}

/// The folder's resources, or `None` after saying, located, why they do not load.
fn load_or_say_why(dir: &Path, bus: &EventBus) -> Option<Resources> {
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
            return None;
        }
    };
    if !loaded.has_errors() {
        return Some(loaded);
    }
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
        let warning = Event::Warning {
            message,
            location,
            field,
            help,
        };
        say_warning(bus, warning);
    }
    None
}
