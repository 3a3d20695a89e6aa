//! A run template as a scenario: its apps as real processes with their sidecars, one resources folder, and
//! the faults a learner can inject on them.

use std::path::PathBuf;

use super::Template;
use crate::apps::process::ProcessSpec;
use crate::scenario::{AppSpec, FaultAction, FaultSpec, ResourcesSource, Scenario};

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
/// it. The first such app's faults get `f`, `a` and `p`; the next ones' keys are digits (the picker, `F`, has
/// them all).
fn faults(t: &Template) -> Vec<FaultSpec> {
    let serving: Vec<&str> = t
        .apps
        .iter()
        .filter(|a| a.app_port.is_some() && !a.command.is_empty())
        .map(|a| a.app_id.as_str())
        .collect();
    let mut digits = ('1'..='9').chain('A'..='E');
    let mut out = Vec::new();
    for (i, app_id) in serving.iter().enumerate() {
        let kinds = [
            (
                "stop",
                FaultAction::StopAppAndSidecar {
                    app_id: app_id.to_string(),
                },
                'f',
                format!(
                    "{app_id} and its sidecar stop (SIGTERM to the app's process group, as Ctrl-C on its `dapr run`): callers' sidecars cannot reach it. Clearing starts both again."
                ),
            ),
            (
                "stop-app",
                FaultAction::StopApp {
                    app_id: app_id.to_string(),
                },
                'a',
                format!("Only the {app_id} process stops; its sidecar stays and answers that it cannot reach its app."),
            ),
            (
                "pause",
                FaultAction::PauseApp {
                    app_id: app_id.to_string(),
                },
                'p',
                format!(
                    "{app_id} freezes (SIGSTOP): it holds its connections and answers nothing, so only a timeout policy ends a call. Clearing lets it go on (SIGCONT)."
                ),
            ),
        ];
        for (what, action, first_key, explain) in kinds {
            let key = if i == 0 { Some(first_key) } else { digits.next() };
            let Some(key) = key else { continue };
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
