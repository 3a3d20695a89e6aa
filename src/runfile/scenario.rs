//! A run template as a scenario: its apps as real processes with their sidecars, one resources folder, and
//! the faults a learner can inject on them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::Template;
use crate::apps::process::ProcessSpec;
use crate::metrics::server::MetricsPorts;
use std::time::Duration;

use crate::hop_faults::store_calls::DEFAULT_STORE_ERROR;
use crate::scenario::{AppSpec, ChannelFault, FaultAction, FaultSpec, ResourcesSource, Scenario, StoreFault};

/// The scenario that runs `t`. Every app's sidecar loads the same resources here, so apps whose resources
/// differ are refused (each sidecar of one run loads one folder; `--resources-path` chooses it for all).
pub fn scenario(t: &Template, resources_path: Option<&Path>) -> anyhow::Result<Scenario> {
    let resources = match resources_path {
        Some(path) => path.to_path_buf(),
        None => one_resources_folder(t)?,
    };
    let stores = state_stores(&resources);
    let apps: Vec<AppSpec> = t
        .apps
        .iter()
        .map(|a| {
            Ok(AppSpec::Process {
                app_id: a.app_id.clone(),
                dapr_http_port: match a.dapr_http_port {
                    Some(p) => p,
                    None => crate::net::free_port()?, // the CLI's way for an unset port
                },
                app_port: a.app_port,
                process: ProcessSpec {
                    app_id: a.app_id.clone(),
                    dir: a.dir.clone(),
                    command: a.command.clone(),
                    env: a.env.clone(),
                },
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Scenario {
        name: t.name.clone(),
        title: format!("Your apps: {}", t.name),
        summary: format!("the apps of {}", t.file.display()),
        resources: ResourcesSource::Dir(resources),
        faults: faults(t, &stores),
        apps,
        file: t.file.clone(),
    })
}

/// Each sidecar's metrics port as the Dapr CLI chooses it (dapr/cli `pkg/standalone/run.go` `validatePort`):
/// the template's `metricsPort`, else a free random port, not daprd's 9090; the app gets it as
/// `DAPR_METRICS_PORT`. `--metrics-port APP=PORT` (`flags`) still moves one.
pub fn metrics_ports(t: &Template, flags: Vec<(String, u16)>) -> std::io::Result<MetricsPorts> {
    let mut overrides = Vec::with_capacity(t.apps.len() + flags.len());
    for app in &t.apps {
        let port = match app.metrics_port {
            Some(port) => port,
            None => crate::net::free_port()?,
        };
        overrides.push((app.app_id.clone(), port));
    }
    overrides.extend(flags); // the last one for an app wins
    Ok(MetricsPorts { first: None, overrides })
}

fn one_resources_folder(t: &Template) -> anyhow::Result<PathBuf> {
    let mut sets: Vec<&[PathBuf]> = t.apps.iter().map(|a| a.resources.as_slice()).collect();
    sets.dedup();
    match sets.as_slice() {
        [] | [[]] => Ok(empty_folder()?),
        [[one]] => Ok(one.clone()),
        [[_, _, ..]] => anyhow::bail!(
            "{}: the apps load several resources folders; this tool loads one per run: merge them, or choose one with --resources-path",
            t.file.display()
        ),
        _ => anyhow::bail!(
            "{}: the apps load different resources folders ({}); this tool loads one per run for every sidecar: give them the same `resourcesPath` in `common`, or choose one with --resources-path",
            t.file.display(),
            t.apps
                .iter()
                .map(|a| format!(
                    "{}: {}",
                    a.app_id,
                    a.resources
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// A folder with no resources, for a template that names none (Dapr would use `~/.dapr/components`).
fn empty_folder() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join("resilience-tui-no-resources");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The state stores the folder's components define, of the types the sidecars serve. A folder that does not
/// load has none here: the start reports why it does not.
fn state_stores(dir: &Path) -> Vec<String> {
    let Ok(loaded) = crate::resources::load_dir(dir, None) else {
        return Vec::new();
    };
    loaded
        .components
        .iter()
        .filter(|c| matches!(c.component_type.as_str(), "state.redis" | "state.in-memory"))
        .map(|c| c.name.clone())
        .collect()
}

/// For each app that serves a port: stop it with its sidecar (the quickstart's Ctrl-C), stop it alone, pause
/// it, and the hop faults of the chaos catalogue (2s latency, a hang, 503 answers). Then for each state store:
/// stop its server (the seed's `docker stop dapr_redis`), pause it, slow its calls, fail them. The first
/// app's faults get letters (`f` `a` `p` `l` `h` `u`), the first store's theirs where free (`r` `p` `l` `e`,
/// and `f` when no app serves a port, so that `f` and `--fault-at` stop the store as the seed does); the
/// next ones' keys are digits and capitals while they last (the picker, `F`, lists them all).
fn faults(t: &Template, stores: &[String]) -> Vec<FaultSpec> {
    let serving: Vec<&str> = t
        .apps
        .iter()
        .filter(|a| a.app_port.is_some() && !a.command.is_empty())
        .map(|a| a.app_id.as_str())
        .collect();
    let mut groups: Vec<Vec<Kind>> = serving.iter().map(|app_id| kinds(app_id)).collect();
    groups.extend(stores.iter().map(|c| store_kinds(c, serving.is_empty())));
    let mut spare = ('1'..='9').chain('A'..='E');
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for (i, group) in groups.into_iter().enumerate() {
        // The first app's and the first store's faults keep their letters; later ones take spares.
        let lettered = i == 0 || i == serving.len();
        for (what, action, letter, explain) in group {
            let key = if lettered && taken.insert(letter) {
                letter
            } else {
                match spare.next() {
                    Some(key) => key,
                    None => return out,
                }
            };
            out.push(FaultSpec {
                name: what,
                key,
                action,
                explain,
            });
        }
    }
    out
}

/// A fault's name, action, preferred key and what to watch.
type Kind = (String, FaultAction, char, String);

fn store_kinds(component: &str, first: bool) -> Vec<Kind> {
    let c = || component.to_string();
    vec![
        (
            format!("stop-{component}"),
            FaultAction::StopStateStore { component: c() },
            if first { 'f' } else { 'r' },
            format!(
                "The server of the state store `{component}` stops (`docker stop` on the container that publishes its redisHost, as the quickstart's `docker stop dapr_redis`, or a redis-server the tool started). Its callers' sidecars retry under the component's outbound policy; clearing starts it again."
            ),
        ),
        (
            format!("pause-{component}"),
            FaultAction::PauseStateStore { component: c() },
            'p',
            format!(
                "The server of `{component}` freezes (docker pause, or SIGSTOP): it holds its connections and answers nothing; the Redis client's 1s read timeout ends each attempt. Clearing lets it go on."
            ),
        ),
        (
            format!("slow-{component}"),
            FaultAction::StoreCall {
                component: c(),
                fault: StoreFault::Latency {
                    delay: Duration::from_secs(2),
                    jitter: Duration::ZERO,
                },
            },
            'l',
            format!("Every call to `{component}` takes 2s longer: only a timeout policy turns slow into failed."),
        ),
        (
            format!("errors-{component}"),
            FaultAction::StoreCall {
                component: c(),
                fault: StoreFault::Error {
                    message: DEFAULT_STORE_ERROR.to_string(),
                },
            },
            'e',
            format!(
                "Every call to `{component}` fails with Redis's \"LOADING\" error, retried under the component's outbound policy."
            ),
        ),
    ]
}

fn kinds(app_id: &str) -> Vec<Kind> {
    let id = || app_id.to_string();
    let channel = |fault| FaultAction::Channel { app_id: id(), fault };
    vec![
        (
            format!("stop-{app_id}"),
            FaultAction::StopAppAndSidecar { app_id: id() },
            'f',
            format!(
                "{app_id} and its sidecar stop (SIGTERM to the app's process group, as Ctrl-C on its `dapr run`): callers' sidecars cannot reach it. Clearing starts both again."
            ),
        ),
        (
            format!("stop-app-{app_id}"),
            FaultAction::StopApp { app_id: id() },
            'a',
            format!("Only the {app_id} process stops; its sidecar stays and answers that it cannot reach its app."),
        ),
        (
            format!("pause-{app_id}"),
            FaultAction::PauseApp { app_id: id() },
            'p',
            format!(
                "{app_id} freezes (SIGSTOP): it holds its connections and answers nothing, so only a timeout policy ends a call. Clearing lets it go on (SIGCONT)."
            ),
        ),
        (
            format!("slow-{app_id}"),
            channel(ChannelFault::Latency {
                delay: Duration::from_secs(2),
                jitter: Duration::ZERO,
            }),
            'l',
            format!(
                "Every call to {app_id} waits 2s on its sidecar's hop (+ and - change it). Only a timeout policy turns slow into failed."
            ),
        ),
        (
            format!("hang-{app_id}"),
            channel(ChannelFault::Hang),
            'h',
            format!("{app_id}'s sidecar sends its calls to a listener that accepts and never answers."),
        ),
        (
            format!("unavailable-{app_id}"),
            channel(ChannelFault::HttpError {
                status: 503,
                percent: 100,
            }),
            'u',
            format!("{app_id}'s sidecar answers 503 in its place: retried only when the policy's `matching` says so."),
        ),
    ]
}
