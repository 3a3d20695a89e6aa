//! Reading a scenario file, with the same located diagnostics as resource files.

use std::path::Path;

use super::fault_action::{FAULT_FIELDS, decode_action};
use super::{AppSpec, FaultSpec, ResourcesSource, Scenario};
use crate::resources::node::{Ctx, Fields, Yaml, join};
use crate::resources::{Severity, SourceFiles};

/// Keys the UI keeps for itself (see `tui::keymap`, whose test checks this list); a fault cannot use them.
pub const RESERVED_KEYS: &[(char, &str)] = &[
    ('c', "clear faults"),
    ('q', "quit"),
    ('?', "help"),
    (' ', "freeze"),
    ('/', "filter"),
    ('+', "injected latency longer"),
    ('=', "injected latency longer"),
    ('-', "injected latency shorter"),
    ('F', "the fault picker"),
];

/// Loads a scenario file; on any error, the rustc-style report of every problem.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read scenario file {}: {e}; `resilience-tui scenarios` lists them",
            path.display()
        )
    })?;
    parse(path, text)
}

/// Reads a scenario from its text; `path` names it in messages and anchors its relative resources folder.
pub fn parse(path: &Path, text: String) -> Result<Scenario, String> {
    let mut files = SourceFiles::default();
    let file_id = files.add(path, text);
    let mut ctx = Ctx::new(&files, file_id);
    ctx.fold_case = false; // our own format: names are exact
    let doc = ctx.first_document("the scenario file");
    let scenario = doc.and_then(|doc| decode(&mut ctx, &doc, path));
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
    let apps = match f.get("apps") {
        Some(node) => ctx
            .entries(node, "apps", "apps")
            .into_iter()
            .filter_map(|(app_id, _, app)| decode_app(ctx, app_id, app, base))
            .collect(),
        None => Vec::new(),
    };
    let faults = match f.get("faults") {
        Some(node) => decode_faults(ctx, node, &apps),
        None => Vec::new(),
    };
    Some(Scenario {
        name,
        title,
        summary,
        resources: ResourcesSource::Dir(base.join(resources)),
        apps,
        faults,
        file: path.to_path_buf(),
    })
}

/// One entry of `apps`: its kind and the ports and fields that kind needs.
fn decode_app(ctx: &mut Ctx, app_id: String, app: &Yaml, base: &Path) -> Option<AppSpec> {
    let path = join("apps", &app_id);
    let a = ctx.fields(
        app,
        &path,
        "an app",
        &[
            "kind",
            "daprHttpPort",
            "appPort",
            "target",
            "store",
            "ordersPerSecond",
            "firstOrderId",
            "command",
            "dir",
            "env",
        ],
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
    let per_second = count(ctx, &a, &path, "ordersPerSecond", 10, 1000) as u32;
    let first_order_id = count(ctx, &a, &path, "firstOrderId", 1, u64::MAX / 2);
    let kind = a.get("kind").and_then(|n| ctx.string(n, &join(&path, "kind")));
    let target = a.get("target").and_then(|n| ctx.string(n, &join(&path, "target")));
    let store = a.get("store").and_then(|n| ctx.string(n, &join(&path, "store")));
    if kind.as_deref() == Some("command") {
        return command_app(ctx, &a, &path, app_id, app, (dapr, app_port), base);
    }
    let spec = match (kind.as_deref(), dapr, app_port, target) {
        (Some("state-order-processor"), Some(dapr_http_port), _, _) => AppSpec::StateOrderProcessor {
            app_id,
            dapr_http_port,
            store: store.unwrap_or_else(|| "statestore".into()),
        },
        (Some("checkout-load"), Some(dapr_http_port), _, Some(target)) => AppSpec::CheckoutLoad {
            app_id,
            dapr_http_port,
            target,
            per_second,
            first_order_id,
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
            let help = "checkout (and checkout-load, with ordersPerSecond) needs daprHttpPort and target; order-processor needs daprHttpPort and appPort; state-order-processor needs daprHttpPort (and store)";
            ctx.error(
                app,
                &path,
                "this app needs `kind: checkout`, `checkout-load`, `order-processor` or `state-order-processor` and its ports",
                help,
            );
            return None;
        }
    };
    Some(spec)
}

/// `kind: command`: an app of the scenario's own, a real process (its `command`, run in `dir` relative to the
/// scenario file, with `env`), as a run template's app is.
fn command_app(
    ctx: &mut Ctx,
    a: &Fields,
    path: &str,
    app_id: String,
    app: &Yaml,
    (dapr, app_port): (Option<u16>, Option<u16>),
    base: &Path,
) -> Option<AppSpec> {
    let command = a
        .get("command")
        .map(|n| ctx.string_list(n, &join(path, "command")))
        .unwrap_or_default();
    let dir = a.get("dir").and_then(|n| ctx.string(n, &join(path, "dir")));
    let env = match a.get("env") {
        Some(n) => ctx
            .entries(n, &join(path, "env"), "env")
            .into_iter()
            .filter_map(|(k, _, v)| ctx.string(v, &join(&join(path, "env"), &k)).map(|v| (k, v)))
            .collect(),
        None => Vec::new(),
    };
    let (Some(dapr_http_port), false) = (dapr, command.is_empty()) else {
        let help =
            "e.g. `kind: command`, `command: [python3, app.py]`, `daprHttpPort: 3503` (and `appPort` if it serves one)";
        ctx.error(
            app,
            path,
            "a `kind: command` app needs `command` and `daprHttpPort`",
            help,
        );
        return None;
    };
    Some(AppSpec::Process {
        app_id: app_id.clone(),
        dapr_http_port,
        app_port,
        process: crate::apps::process::ProcessSpec {
            app_id,
            dir: base.join(dir.unwrap_or_else(|| ".".into())),
            command,
            env,
        },
    })
}

/// A whole number from 1 to `max` in field `field` of app `path`, `default` when absent.
fn count(ctx: &mut Ctx, a: &Fields, path: &str, field: &str, default: u64, max: u64) -> u64 {
    let Some(n) = a.get(field) else { return default };
    let at = join(path, field);
    match ctx
        .int(n, &at)
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| (1..=max).contains(v))
    {
        Some(v) => v,
        None => {
            let msg = format!("`{field}` must be from 1 to {max}");
            ctx.error(n, &at, msg, "e.g. `ordersPerSecond: 10`");
            default
        }
    }
}

fn decode_faults(ctx: &mut Ctx, node: &Yaml, apps: &[AppSpec]) -> Vec<FaultSpec> {
    let saphyr::YamlDataOwned::Sequence(list) = &node.data else {
        ctx.error(
            node,
            "faults",
            "`faults` must be a list",
            "write each fault as `- name: …` on its own line",
        );
        return Vec::new();
    };
    let mut faults: Vec<FaultSpec> = Vec::new();
    for (i, node) in list.iter().enumerate() {
        let path = format!("faults[{i}]");
        let ff = ctx.fields(node, &path, "a fault", FAULT_FIELDS);
        let mut text = |field: &str| ff.get(field).and_then(|n| ctx.string(n, &join(&path, field)));
        let (name, key, explain) = (text("name"), text("key"), text("explain"));
        let key = match (ff.get("key"), key) {
            (Some(n), Some(k)) => fault_key(ctx, n, &join(&path, "key"), &k, &faults),
            _ => Some('f'),
        };
        let Some(action) = decode_action(ctx, &ff, node, &path, apps) else {
            continue;
        };
        match (name, key) {
            (Some(name), Some(key)) => faults.push(FaultSpec {
                name,
                key,
                action,
                explain: explain.unwrap_or_default(),
            }),
            (None, _) => ctx.error(node, &path, "this fault needs a `name`", "add `name: stop-my-app`"),
            (_, None) => {} // reported by fault_key
        }
    }
    faults
}

/// A fault's key: one character, not one the UI keeps, not another fault's.
fn fault_key(ctx: &mut Ctx, node: &Yaml, path: &str, key: &str, earlier: &[FaultSpec]) -> Option<char> {
    let mut chars = key.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        ctx.error(
            node,
            path,
            format!("`{key}` is not one key"),
            "a fault's key is one character, e.g. `key: f`",
        );
        return None;
    };
    if let Some((_, what)) = RESERVED_KEYS.iter().find(|(k, _)| *k == c) {
        let shown = if c == ' ' { "space".to_string() } else { c.to_string() };
        let msg = format!("key `{shown}` is the UI's key for \"{what}\"; the fault could never be injected with it");
        ctx.error(node, path, msg, "pick another letter, e.g. `key: f`");
        return None;
    }
    if let Some(other) = earlier.iter().find(|f| f.key == c) {
        let msg = format!("key `{c}` is already the key of fault `{}`", other.name);
        ctx.error(node, path, msg, "give each fault its own key");
        return None;
    }
    Some(c)
}
