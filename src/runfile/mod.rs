//! Dapr's multi-app run template (`dapr run -f`), read with the Dapr CLI's schema and rules (dapr/cli
//! `pkg/runfileconfig/run_file_config.go`, `run_file_config_parser.go`): `version`, `common`, `apps`; `common`
//! fills only the shared fields an app leaves unset (and an app's `env` wins over `common`'s); the app-only
//! ones (`appPort`, `command`, ports, `appID`) are dropped there, with a warning; `appID` defaults to
//! the folder name; `common` paths and `appDirPath` are relative to the template, an app's other paths to its
//! `appDirPath`. Resources: the app's `resourcesPath(s)`, else `<appDirPath>/.dapr/resources`, else `common`'s,
//! else `~/.dapr/components`.
//!
//! Every field the CLI knows is either used, or said to be ignored with its location; a field this tool
//! cannot honour in a way that changes what runs (gRPC apps, containers) is an error.

mod fields;
mod scenario;

pub use scenario::{metrics_ports, scenario};

use std::path::{Path, PathBuf};

pub use fields::{SUPPORTED, Support};

use crate::resources::node::{Ctx, Fields, Yaml, join};
use crate::resources::{Severity, SourceFiles};

/// One app of the template, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateApp {
    pub app_id: String,
    /// Where the app runs (its working directory).
    pub dir: PathBuf,
    /// The command, as the CLI runs it (`sh -c 'exec "$@"' sh <command…>`); empty: no app process.
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub app_port: Option<u16>,
    pub dapr_http_port: Option<u16>,
    /// `daprGRPCPort`: the sidecar's gRPC API there (as `--dapr-grpc-port APP=PORT`).
    pub dapr_grpc_port: Option<u16>,
    pub metrics_port: Option<u16>,
    /// `maxBodySize`: the sidecar's body limit (as daprd's `--max-body-size`), its own or `common`'s.
    pub max_body_size: Option<usize>,
    /// The resources folders this app's sidecar loads, in precedence order's winner.
    pub resources: Vec<PathBuf>,
}

/// A template, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub file: PathBuf,
    pub apps: Vec<TemplateApp>,
}

/// `-f FILE|DIR`: a directory means `DIR/dapr.yaml`, as the Dapr CLI does.
pub fn template_path(arg: &Path) -> PathBuf {
    if arg.is_dir() {
        arg.join("dapr.yaml")
    } else {
        arg.to_path_buf()
    }
}

/// Reads a run template; on any error, the rustc-style report of every problem (warnings included).
pub fn load(arg: &Path) -> Result<(Template, Vec<String>), String> {
    let path = template_path(arg);
    if !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
        return Err(format!(
            "{}: a run template's name ends in .yaml or .yml (the Dapr CLI's rule); pass the file or its folder",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read the run template {}: {e}; pass dapr.yaml or its folder to -f",
            path.display()
        )
    })?;
    let mut files = SourceFiles::default();
    let file_id = files.add(&path, text);
    let mut ctx = Ctx::new(&files, file_id);
    ctx.fold_case = false;
    let doc = ctx.first_document("the run template");
    let template = doc.and_then(|doc| decode(&mut ctx, &doc, &path));
    let (errors, warnings): (Vec<_>, Vec<_>) = ctx.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
    match template {
        Some(t) if errors.is_empty() => Ok((t, warnings.iter().map(ToString::to_string).collect())),
        _ => Err(files.render(&errors)),
    }
}

/// The fields an app may have: its own, and those `common` may fill.
fn app_fields() -> Vec<&'static str> {
    SUPPORTED.iter().map(|(name, ..)| *name).collect()
}

fn decode(ctx: &mut Ctx, doc: &Yaml, path: &Path) -> Option<Template> {
    let top = ctx.fields(doc, "", "a run template", &["version", "name", "common", "apps"]);
    match top.get("version").and_then(|n| ctx.int(n, "version")) {
        Some(v) if v != 0 => {}
        _ => {
            let at = top.get("version").unwrap_or(doc);
            ctx.error(
                at,
                "version",
                "a run template needs `version: 1`",
                "add `version: 1` at the top",
            );
        }
    }
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = top.get("name").and_then(|n| ctx.string(n, "name"));
    let known = app_fields();
    let common = top.get("common").map(|n| ctx.fields(n, "common", "common", &known));
    let common = common.map(|c| {
        fields::check_common(ctx, &c);
        read_app(ctx, &c, "common", &base, fields::APP_ONLY)
    });
    let Some(list_node) = top.get("apps") else {
        ctx.error(
            doc,
            "apps",
            "a run template needs `apps`",
            "list the apps under `apps:`, each with `appDirPath`",
        );
        return None;
    };
    let saphyr::YamlDataOwned::Sequence(list) = &list_node.data else {
        ctx.error(
            list_node,
            "apps",
            "`apps` must be a list",
            "write each app as `- appDirPath: …`",
        );
        return None;
    };
    let mut apps = Vec::new();
    for (i, node) in list.iter().enumerate() {
        let at = format!("apps[{i}]");
        let f = ctx.fields(node, &at, "an app", &known);
        let own = read_app(ctx, &f, &at, &base, &[]);
        if let Some(app) = resolve(ctx, own, common.as_ref(), node, &at) {
            apps.push(app);
        }
    }
    Some(Template {
        name: name.unwrap_or_else(|| path.file_stem().unwrap_or_default().to_string_lossy().into_owned()),
        file: path.to_path_buf(),
        apps,
    })
}

/// What one mapping (an app, or `common`) says, before `common` fills the gaps.
#[derive(Debug, Default, Clone)]
struct Partial {
    app_id: Option<String>,
    dir: Option<PathBuf>,
    command: Vec<String>,
    env: Vec<(String, String)>,
    app_port: Option<u16>,
    dapr_http_port: Option<u16>,
    dapr_grpc_port: Option<u16>,
    metrics_port: Option<u16>,
    max_body_size: Option<usize>,
    resources: Vec<PathBuf>,
}

fn port(ctx: &mut Ctx, f: &Fields, at: &str, field: &str) -> Option<u16> {
    let n = f.get(field)?;
    let v = ctx.int(n, &join(at, field))?;
    match u16::try_from(v) {
        Ok(0) => None, // the CLI's "unset": a free port is picked
        Ok(p) => Some(p),
        Err(_) => {
            ctx.error(
                n,
                &join(at, field),
                format!("{v} is not a TCP port"),
                "use a port between 1 and 65535",
            );
            None
        }
    }
}

/// A size field (`maxBodySize: 16Mi`), as daprd reads the flag the CLI passes it on to.
fn size(ctx: &mut Ctx, f: &Fields, at: &str, field: &str) -> Option<usize> {
    let n = f.get(field)?;
    let text = ctx.string(n, &join(at, field))?;
    match crate::quantity::bytes(&text) {
        Ok(bytes) => Some(bytes),
        Err(why) => {
            ctx.error(n, &join(at, field), why, "write a size such as 4Mi, 16Mi or 1000000");
            None
        }
    }
}

/// `~` expanded, then relative to `base`.
fn path_in(base: &Path, text: &str) -> PathBuf {
    let expanded = match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

/// What a mapping says; `dropped`: the fields read as absent (`common`'s app-only ones).
fn read_app(ctx: &mut Ctx, f: &Fields, at: &str, base: &Path, dropped: &[&str]) -> Partial {
    fields::check_support(ctx, f, at, dropped);
    let f = &f.without(dropped);
    let text = |ctx: &mut Ctx, field: &str| f.get(field).and_then(|n| ctx.string(n, &join(at, field)));
    let dir = text(ctx, "appDirPath").map(|d| path_in(base, &d));
    // An app's own paths are relative to its appDirPath; common's to the template.
    let rel = dir.clone().unwrap_or_else(|| base.to_path_buf());
    let mut resources: Vec<PathBuf> = match f.get("resourcesPaths") {
        Some(n) => ctx
            .string_list(n, &join(at, "resourcesPaths"))
            .iter()
            .map(|p| path_in(&rel, p))
            .collect(),
        None => Vec::new(),
    };
    if let Some(p) = text(ctx, "resourcesPath") {
        resources.push(path_in(&rel, &p));
    }
    let command = match f.get("command") {
        Some(n) => ctx.string_list(n, &join(at, "command")),
        None => Vec::new(),
    };
    let env = match f.get("env") {
        Some(n) => ctx
            .entries(n, &join(at, "env"), "env")
            .into_iter()
            .filter_map(|(k, _, v)| ctx.string(v, &join(&join(at, "env"), &k)).map(|v| (k, v)))
            .collect(),
        None => Vec::new(),
    };
    Partial {
        app_id: text(ctx, "appID"),
        dir,
        command,
        env,
        app_port: port(ctx, f, at, "appPort"),
        dapr_http_port: port(ctx, f, at, "daprHTTPPort"),
        dapr_grpc_port: port(ctx, f, at, "daprGRPCPort"),
        metrics_port: port(ctx, f, at, "metricsPort"),
        max_body_size: size(ctx, f, at, "maxBodySize"),
        resources,
    }
}

/// An app with `common` filling what it leaves unset, its paths checked, its resources chosen.
fn resolve(ctx: &mut Ctx, own: Partial, common: Option<&Partial>, node: &Yaml, at: &str) -> Option<TemplateApp> {
    let empty = Partial::default();
    let common = common.unwrap_or(&empty);
    let Some(dir) = own.dir.clone() else {
        ctx.error(
            node,
            &join(at, "appDirPath"),
            "this app needs `appDirPath`",
            "the folder the app runs in, relative to the template",
        );
        return None;
    };
    if !dir.is_dir() {
        let msg = format!("appDirPath {} is not a folder", dir.display());
        ctx.error(
            node,
            &join(at, "appDirPath"),
            msg,
            "every path in the template must exist (the Dapr CLI's rule)",
        );
        return None;
    }
    let app_id = own
        .app_id
        .clone()
        .unwrap_or_else(|| dir.file_name().unwrap_or_default().to_string_lossy().into_owned());
    let mut env = common.env.clone();
    for (k, v) in own.env {
        env.retain(|(ck, _)| *ck != k);
        env.push((k, v));
    }
    let dot_dapr = dir.join(".dapr").join("resources");
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".dapr").join("components"));
    let resources = [
        own.resources.clone(),
        existing(dot_dapr),
        common.resources.clone(),
        home.into_iter().filter(|h| h.is_dir()).collect(),
    ]
    .into_iter()
    .find(|r| !r.is_empty())
    .unwrap_or_default();
    for r in &resources {
        if !r.is_dir() {
            let msg = format!("resources path {} is not a folder", r.display());
            ctx.error(
                node,
                &join(at, "resourcesPaths"),
                msg,
                "every path in the template must exist (the Dapr CLI's rule)",
            );
            return None;
        }
    }
    Some(TemplateApp {
        app_id,
        dir,
        command: own.command,
        env,
        app_port: own.app_port,
        dapr_http_port: own.dapr_http_port,
        dapr_grpc_port: own.dapr_grpc_port,
        metrics_port: own.metrics_port,
        max_body_size: own.max_body_size.or(common.max_body_size),
        resources,
    })
}

fn existing(dir: PathBuf) -> Vec<PathBuf> {
    if dir.is_dir() { vec![dir] } else { Vec::new() }
}

#[cfg(test)]
mod tests;
