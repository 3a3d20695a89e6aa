//! A run template as a scenario: its apps as real processes with their sidecars, one resources folder, and
//! the faults a learner can inject on them.

use std::path::PathBuf;

use super::Template;
use crate::apps::process::ProcessSpec;
use crate::metrics::server::MetricsPorts;
use std::time::Duration;

use crate::scenario::{AppSpec, ChannelFault, FaultAction, FaultSpec, ResourcesSource, Scenario};

/// The scenario that runs `t`. Every app's sidecar loads the same resources here, so apps whose resources
/// differ are refused (each sidecar of one run loads one folder; `--resources-path` chooses it for all).
pub fn scenario(t: &Template, resources_override: bool) -> anyhow::Result<Scenario> {
    let resources = one_resources_folder(t, resources_override)?;
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
        faults: faults(t),
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

fn one_resources_folder(t: &Template, resources_override: bool) -> anyhow::Result<PathBuf> {
    if resources_override {
        return Ok(PathBuf::new()); // replaced by --resources-path
    }
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

/// For each app that serves a port: stop it with its sidecar (the quickstart's Ctrl-C), stop it alone, pause
/// it, and the hop faults of the chaos catalogue (2s latency, a hang, 503 answers). The first such app's faults
/// get letters (`f` `a` `p` `l` `h` `u`); the next ones' keys are digits and capitals while they last (the
/// picker, `F`, lists them all).
fn faults(t: &Template) -> Vec<FaultSpec> {
    let serving: Vec<&str> = t
        .apps
        .iter()
        .filter(|a| a.app_port.is_some() && !a.command.is_empty())
        .map(|a| a.app_id.as_str())
        .collect();
    let mut spare = ('1'..='9').chain('A'..='E');
    let mut out = Vec::new();
    for (i, app_id) in serving.iter().enumerate() {
        for (what, action, letter, explain) in kinds(app_id) {
            let Some(key) = (if i == 0 { Some(letter) } else { spare.next() }) else {
                return out;
            };
            out.push(FaultSpec {
                name: format!("{what}-{app_id}"),
                key,
                action,
                explain,
            });
        }
    }
    out
}

fn kinds(app_id: &str) -> Vec<(&'static str, FaultAction, char, String)> {
    let id = || app_id.to_string();
    let channel = |fault| FaultAction::Channel { app_id: id(), fault };
    vec![
        (
            "stop",
            FaultAction::StopAppAndSidecar { app_id: id() },
            'f',
            format!(
                "{app_id} and its sidecar stop (SIGTERM to the app's process group, as Ctrl-C on its `dapr run`): callers' sidecars cannot reach it. Clearing starts both again."
            ),
        ),
        (
            "stop-app",
            FaultAction::StopApp { app_id: id() },
            'a',
            format!("Only the {app_id} process stops; its sidecar stays and answers that it cannot reach its app."),
        ),
        (
            "pause",
            FaultAction::PauseApp { app_id: id() },
            'p',
            format!(
                "{app_id} freezes (SIGSTOP): it holds its connections and answers nothing, so only a timeout policy ends a call. Clearing lets it go on (SIGCONT)."
            ),
        ),
        (
            "slow",
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
            "hang",
            channel(ChannelFault::Hang),
            'h',
            format!("{app_id}'s sidecar sends its calls to a listener that accepts and never answers."),
        ),
        (
            "unavailable",
            channel(ChannelFault::HttpError {
                status: 503,
                percent: 100,
            }),
            'u',
            format!("{app_id}'s sidecar answers 503 in its place: retried only when the policy's `matching` says so."),
        ),
    ]
}
