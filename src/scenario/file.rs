//! Reading a scenario file, with the same located diagnostics as resource files.

use std::path::Path;

use saphyr::LoadableYamlNode;

use super::{AppSpec, FaultAction, FaultSpec, Scenario};
use crate::resources::node::{Ctx, Yaml, join};
use crate::resources::{Severity, SourceFiles};

/// Loads a scenario file; on any error, the rustc-style report of every problem.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read scenario file {}: {e}; `resilience-tui scenarios` lists them",
            path.display()
        )
    })?;
    let mut files = SourceFiles::default();
    let file_id = files.add(path, text);
    let mut ctx = Ctx::new(&files, file_id);
    let scenario = match Yaml::load_from_str(ctx.text()) {
        Ok(docs) if !docs.is_empty() => decode(&mut ctx, &docs[0], path),
        Ok(_) => {
            ctx.report(Severity::Error, 0..0, "", "the scenario file is empty".into(), "");
            None
        }
        Err(e) => {
            let at = ctx.byte_offset(e.marker().index());
            ctx.report(
                Severity::Error,
                at..at + 1,
                "",
                format!("YAML syntax error: {}", e.info()),
                "",
            );
            None
        }
    };
    let problems: Vec<_> = ctx
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match scenario {
        Some(s) if problems.is_empty() => Ok(s),
        _ => Err(files.render(&problems)),
    }
}

fn decode(ctx: &mut Ctx, doc: &Yaml, path: &Path) -> Option<Scenario> {
    let f = ctx.fields(
        doc,
        "",
        "a scenario",
        &["name", "title", "summary", "resources", "apps", "faults"],
    );
    let mut text = |field: &str| f.get(field).and_then(|n| ctx.string(n, field)).unwrap_or_default();
    let (name, title, summary, resources) = (text("name"), text("title"), text("summary"), text("resources"));
    let base = path.parent().unwrap_or(Path::new("."));
    let mut apps = Vec::new();
    if let Some(node) = f.get("apps") {
        for (app_id, _, app) in ctx.entries(node, "apps", "apps") {
            let path = join("apps", &app_id);
            let a = ctx.fields(
                app,
                &path,
                "an app",
                &["kind", "daprHttpPort", "appPort", "target", "store"],
            );
            let mut port = |field: &str| -> Option<u16> {
                let n = a.get(field)?;
                let v = ctx.int(n, &join(&path, field))?;
                let port = u16::try_from(v).ok().filter(|p| *p > 0);
                if port.is_none() {
                    ctx.error(
                        n,
                        &join(&path, field),
                        format!("{v} is not a TCP port"),
                        "use a port between 1 and 65535",
                    );
                }
                port
            };
            let (dapr, app_port) = (port("daprHttpPort"), port("appPort"));
            let kind = a.get("kind").and_then(|n| ctx.string(n, &join(&path, "kind")));
            let target = a.get("target").and_then(|n| ctx.string(n, &join(&path, "target")));
            let store = a.get("store").and_then(|n| ctx.string(n, &join(&path, "store")));
            let spec = match (kind.as_deref(), dapr, app_port, target) {
                (Some("state-order-processor"), Some(dapr_http_port), _, _) => AppSpec::StateOrderProcessor {
                    app_id,
                    dapr_http_port,
                    store: store.unwrap_or_else(|| "statestore".into()),
                },
                (Some("checkout"), Some(dapr_http_port), _, Some(target)) => AppSpec::Checkout {
                    app_id,
                    dapr_http_port,
                    target,
                },
                (Some("order-processor"), Some(dapr_http_port), Some(app_port), _) => AppSpec::OrderProcessor {
                    app_id,
                    app_port,
                    dapr_http_port,
                },
                _ => {
                    let help = "checkout needs daprHttpPort and target; order-processor needs daprHttpPort and appPort; state-order-processor needs daprHttpPort (and store)";
                    ctx.error(
                        app,
                        &path,
                        "this app needs `kind: checkout`, `order-processor` or `state-order-processor` and its ports",
                        help,
                    );
                    continue;
                }
            };
            apps.push(spec);
        }
    }
    let mut faults = Vec::new();
    if let Some(saphyr::YamlDataOwned::Sequence(list)) = f.get("faults").map(|n| &n.data) {
        for (i, node) in list.iter().enumerate() {
            let path = format!("faults[{i}]");
            let ff = ctx.fields(
                node,
                &path,
                "a fault",
                &["name", "key", "action", "app", "component", "explain"],
            );
            let mut text = |field: &str| ff.get(field).and_then(|n| ctx.string(n, &join(&path, field)));
            let (name, key, action, app, explain) =
                (text("name"), text("key"), text("action"), text("app"), text("explain"));
            let component = text("component");
            let key = key.as_deref().and_then(|k| k.chars().next()).unwrap_or('f');
            let action = match (action.as_deref(), app, component) {
                (Some("stop-app"), Some(app_id), _) => FaultAction::StopApp { app_id },
                (Some("stop-state-store"), _, Some(component)) => FaultAction::StopStateStore { component },
                _ => {
                    let help = "use `action: stop-app` with `app`, or `action: stop-state-store` with `component`";
                    ctx.error(node, &path, "this fault needs `name` and a known action", help);
                    continue;
                }
            };
            match name {
                Some(name) => faults.push(FaultSpec {
                    name,
                    key,
                    action,
                    explain: explain.unwrap_or_default(),
                }),
                None => ctx.error(node, &path, "this fault needs a `name`", ""),
            }
        }
    }
    for fault in &faults {
        let FaultAction::StopApp { app_id } = &fault.action else {
            continue;
        };
        if !apps
            .iter()
            .any(|a| matches!(a, AppSpec::OrderProcessor { app_id: id, .. } if id == app_id))
        {
            ctx.error(
                doc,
                "faults",
                format!(
                    "fault `{}` stops `{app_id}`, which is not an order-processor app here",
                    fault.name
                ),
                "",
            );
        }
    }
    Some(Scenario {
        name,
        title,
        summary,
        resources: base.join(resources),
        apps,
        faults,
        file: path.to_path_buf(),
    })
}
