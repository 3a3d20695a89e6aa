//! `resilience-tui validate`: what a resources folder defines, and what is wrong with it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::duration::format_go_duration;
use crate::resiliency::config::{DEFAULT_APP_BREAKER_CACHE_SIZE, PolicyNames};
use crate::resiliency::registry::built_in_override;
use crate::resources::{self, Resources, Severity};

/// Validates `path` (or every folder under `./resources`); exit status 1 when any resource has an error.
pub fn run(path: Option<PathBuf>, app_id: Option<&str>) -> anyhow::Result<ExitCode> {
    let folders = match path {
        Some(p) => vec![p],
        None => {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir("resources")
                .context("no --resources-path given and no ./resources folder here; pass --resources-path DIR")?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            if dirs.is_empty() {
                bail!("./resources has no folders; pass --resources-path DIR");
            }
            dirs
        }
    };
    let mut failed = false;
    for (i, folder) in folders.iter().enumerate() {
        let loaded = resources::load_dir(folder, app_id)?;
        let gap = if i > 0 { "\n" } else { "" };
        crate::output::print_quietly(&format!("{gap}{}", report(folder, app_id, &loaded)));
        failed |= loaded.has_errors();
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The whole report for one folder: what loaded, then the diagnostics, then a count.
pub fn report(folder: &Path, app_id: Option<&str>, res: &Resources) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} Resiliency resource(s), {} component(s) loaded",
        folder.display(),
        res.resiliencies.len(),
        res.components.len()
    );
    // A breaker policy any loaded resource defines (targets may name another resource's policies).
    let defined = |name: &str| {
        res.resiliencies
            .iter()
            .any(|r| r.config.circuit_breakers.contains_key(name))
    };
    for r in &res.resiliencies {
        let c = &r.config;
        let _ = writeln!(
            out,
            "\nResiliency `{}` ({})",
            c.name,
            res.files.path(r.file_id).display()
        );
        let scope = if c.scopes.is_empty() {
            "every app".to_string()
        } else {
            c.scopes.join(", ")
        };
        let _ = writeln!(out, "  applies to: {scope}");
        if let Some(id) = app_id {
            let verdict = if c.applies_to(id) { "loads it" } else { "skips it" };
            let _ = writeln!(out, "  the sidecar of `{id}` {verdict}");
        }
        for (name, d) in &c.timeouts {
            row(&mut out, &format!("timeout {name}"), &format_go_duration(*d));
        }
        for (name, p) in &c.retries {
            // What the engine will use: daprd raises or ignores some overrides of its built-in retries.
            let shown = match built_in_override(name, p) {
                Some((used, true)) => format!("{} (built-in; this override is ignored)", used.summary()),
                Some((used, false)) => format!("{} (raised to daprd's minimum of 3)", used.summary()),
                None => p.summary(),
            };
            row(&mut out, &format!("retry {name}"), &shown);
        }
        for (name, p) in &c.circuit_breakers {
            row(&mut out, &format!("circuitBreaker {name}"), &p.summary());
        }
        for (app, t) in &c.apps {
            row(&mut out, &format!("target app {app}"), &names(&t.policies));
            if let Some(cb) = t.policies.circuit_breaker.as_ref().filter(|cb| !defined(cb)) {
                row(&mut out, "", &format!("no breaker: `{cb}` is not defined (see below)"));
            } else if let Some(cb) = &t.policies.circuit_breaker {
                let lru = if t.circuit_breaker_cache_size == DEFAULT_APP_BREAKER_CACHE_SIZE {
                    String::new()
                } else {
                    format!(", keeps {}", t.circuit_breaker_cache_size)
                };
                row(
                    &mut out,
                    "",
                    &format!("one `{cb}` breaker per method, named \"{app}:<method>\"{lru}"),
                );
            }
        }
        for (actor, t) in &c.actors {
            row(&mut out, &format!("target actor {actor}"), &names(&t.policies));
        }
        for (component, t) in &c.components {
            for (dir, p) in [("inbound", &t.inbound), ("outbound", &t.outbound)] {
                if *p != PolicyNames::default() {
                    row(&mut out, &format!("target component {component} {dir}"), &names(p));
                    match &p.circuit_breaker {
                        Some(cb) if !defined(cb) => {
                            row(&mut out, "", &format!("no breaker: `{cb}` is not defined (see below)"))
                        }
                        Some(cb) => row(&mut out, "", &format!("breaker \"{cb}-{component}\"")),
                        None => {}
                    }
                }
            }
        }
    }
    for comp in &res.components {
        let _ = writeln!(
            out,
            "\nComponent `{}` {} {} ({})",
            comp.name,
            comp.component_type,
            comp.version,
            res.files.path(comp.file_id).display()
        );
        let shown: Vec<String> = comp
            .metadata
            .iter()
            .map(|(k, v)| match (k.to_lowercase().contains("password"), v.is_empty()) {
                (_, true) => format!("{k}=(empty)"),
                (true, false) => format!("{k}=(set)"),
                (false, false) => format!("{k}={v}"),
            })
            .collect();
        let _ = writeln!(out, "  metadata: {}", shown.join(", "));
    }
    if !res.diagnostics.is_empty() {
        out.push('\n');
        out.push_str(res.render_diagnostics().trim_end());
        out.push('\n');
    }
    let empty = res.files.is_empty();
    if empty {
        let _ = writeln!(
            out,
            "\nwarning: no resources found: {} holds no .yaml or .yml files; check --resources-path",
            folder.display()
        );
    }
    let _ = writeln!(
        out,
        "\n{} error(s), {} warning(s), {} note(s)",
        res.count(Severity::Error),
        res.count(Severity::Warning) + usize::from(empty),
        res.count(Severity::Note)
    );
    out
}

/// One aligned `label  text` line; long labels push the text onto the next line.
fn row(out: &mut String, label: &str, text: &str) {
    const WIDTH: usize = 36;
    if label.chars().count() > WIDTH {
        let _ = writeln!(out, "  {label}\n  {:WIDTH$} {text}", "");
    } else {
        let _ = writeln!(out, "  {label:WIDTH$} {text}");
    }
}

fn names(p: &PolicyNames) -> String {
    let parts: Vec<String> = [
        ("timeout", &p.timeout),
        ("retry", &p.retry),
        ("circuitBreaker", &p.circuit_breaker),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
    .collect();
    if parts.is_empty() {
        "no policies (and no defaults: a named target replaces them)".into()
    } else {
        parts.join(", ")
    }
}
