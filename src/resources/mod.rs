//! Loading Dapr resource folders (`--resources-path`): every `.yaml`/`.yml` file; every document in it for
//! Components, only the first for a Resiliency (as daprd reads them).
//!
//! `kind: Resiliency` becomes a [`ResiliencyConfig`] for the engine, `kind: Component` a [`ComponentSpec`];
//! other kinds are noted and skipped. Problems become located [`Diagnostic`]s: an error means that resource
//! does not load, a warning means it loads but probably not as meant. Nothing here panics, whatever the input.

pub mod component;
pub mod diagnostic;
#[doc(hidden)]
pub mod fuzz;
pub mod node;
pub mod resiliency;
mod targets;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use saphyr::LoadableYamlNode;

pub use component::ComponentSpec;
pub use diagnostic::{Diagnostic, Severity, SourceFiles};
pub use resiliency::{DecodedResiliency, PolicyKind};

use crate::resiliency::ResiliencyConfig;
use node::{Ctx, Yaml};

/// Resource files are small; anything bigger is almost certainly the wrong folder.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Everything read from one resources folder.
#[derive(Default)]
pub struct Resources {
    pub files: SourceFiles,
    /// Resiliency resources that loaded, in file order (later ones override earlier ones).
    pub resiliencies: Vec<DecodedResiliency>,
    pub components: Vec<ComponentSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    // The OS error is part of the message, not a `source` (which would print it a second time).
    #[error("cannot read the resources folder {}: {io}; check --resources-path", path.display())]
    Folder { path: PathBuf, io: std::io::Error },
}

impl Resources {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == severity).count()
    }

    /// The loaded Resiliency configs, in order, for `crate::resiliency::Resiliency::new`.
    pub fn resiliency_configs(&self) -> Vec<ResiliencyConfig> {
        self.resiliencies.iter().map(|r| r.config.clone()).collect()
    }

    /// rustc-style text of every diagnostic.
    pub fn render_diagnostics(&self) -> String {
        self.files.render(&self.diagnostics)
    }
}

/// Reads every file in `dir` (not recursively, in name order as daprd does). `app_id` enables the checks
/// that depend on which sidecar loads the folder (scopes, and which resources' policies a target can see).
pub fn load_dir(dir: &Path, app_id: Option<&str>) -> Result<Resources, LoadError> {
    let folder_error = |io| LoadError::Folder {
        path: dir.to_path_buf(),
        io,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(folder_error)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut inputs = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).map_err(folder_error)?;
        inputs.push((path, bytes));
    }
    Ok(load_files(inputs, app_id))
}

/// As [`load_dir`], from in-memory files (used by tests and fuzzing).
pub fn load_files(inputs: Vec<(PathBuf, Vec<u8>)>, app_id: Option<&str>) -> Resources {
    let mut res = Resources::default();
    let mut decoded = Vec::new();
    for (path, bytes) in inputs {
        let yaml_ext = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        let text = String::from_utf8(bytes);
        let lossy = match &text {
            Ok(t) => t.clone(),
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        let file_id = res.files.add(
            &path,
            if lossy.len() > MAX_FILE_BYTES {
                String::new()
            } else {
                lossy
            },
        );
        let diag = |files: &SourceFiles, sev, msg: String, help: &str| {
            files.diagnostic(sev, file_id, 0..0, None, msg, Some(help.to_string()))
        };
        if !yaml_ext {
            let msg = format!("{} is not a .yaml or .yml file, so it is not loaded", path.display());
            res.diagnostics.push(diag(
                &res.files,
                Severity::Warning,
                msg,
                "rename it to .yaml if it is a resource",
            ));
            continue;
        }
        if text.as_ref().map_or(0, |t| t.len()) > MAX_FILE_BYTES || text.is_err() {
            let msg = match text {
                Err(_) => "this file is not UTF-8 text".to_string(),
                Ok(t) => format!("this file is {} bytes; resource files are a few KiB", t.len()),
            };
            res.diagnostics.push(diag(
                &res.files,
                Severity::Error,
                msg,
                "check that --resources-path points at Dapr resource YAML files",
            ));
            continue;
        }
        let mut ctx = Ctx::new(&res.files, file_id);
        load_text(&mut ctx, &mut decoded, &mut res.components);
        res.diagnostics.append(&mut ctx.diagnostics);
    }
    res.resiliencies = cross_check(&res.files, decoded, app_id, &mut res.diagnostics);
    res
}

/// Deeper than this is not a Dapr resource (those nest a handful of levels); refusing it before building the
/// tree keeps the recursive walks over that tree (and its drop) off the end of the stack.
const MAX_DEPTH: usize = 64;

/// The first place where collections nest deeper than [`MAX_DEPTH`], if any (YAML errors are left to the
/// loader, which reports them with its own wording).
fn too_deep(text: &str) -> Option<usize> {
    use saphyr_parser::{Event, Parser};
    let mut depth = 0usize;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { return None };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(span.start.index());
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// A misspelling of `known` (a typo, not another kind such as `Configuration`).
fn near(kind: &str, known: &str) -> bool {
    kind != known && strsim::jaro_winkler(&kind.to_lowercase(), &known.to_lowercase()) > 0.9
}

fn load_text(ctx: &mut Ctx, resiliencies: &mut Vec<DecodedResiliency>, components: &mut Vec<ComponentSpec>) {
    if let Some(char_index) = too_deep(ctx.text()) {
        let at = ctx.byte_offset(char_index);
        let msg = format!("this document nests more than {MAX_DEPTH} levels deep; Dapr resources nest a few");
        let help = "check that --resources-path points at Dapr resource YAML files";
        ctx.report(Severity::Error, at..at + 1, "", msg, help);
        return;
    }
    let docs = match Yaml::load_from_str(ctx.text()) {
        Ok(docs) => docs,
        Err(e) => {
            let at = ctx.byte_offset(e.marker().index());
            let help = "fix the YAML at this position: check indentation, colons and quotes";
            ctx.report(
                Severity::Error,
                at..at + 1,
                "",
                format!("YAML syntax error: {}", e.info()),
                help,
            );
            return;
        }
    };
    if docs.is_empty() {
        let msg = "this file holds no YAML documents";
        ctx.report(Severity::Note, 0..0, "", msg.into(), "remove it, or add a resource");
    }
    for (index, doc) in docs.iter().enumerate() {
        if matches!(doc.data, saphyr::YamlDataOwned::Value(saphyr::ScalarOwned::Null)) {
            continue; // an empty document, e.g. after a trailing `---`
        }
        let kind = match &doc.data {
            // `Kind:` counts too, and of several the one sorting last wins (see `Ctx::fields`).
            saphyr::YamlDataOwned::Mapping(map) => map
                .iter()
                .filter_map(|(k, v)| {
                    node::scalar_text(k)
                        .filter(|k| node::go_fold_eq("kind", k))
                        .map(|k| (k, v))
                })
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, v)| (v, node::scalar_text(v).unwrap_or_default())),
            _ => {
                ctx.warning(
                    doc,
                    "",
                    format!("this document is {}, not a resource; it is ignored", node::kind_of(doc)),
                    "a resource is a mapping with apiVersion, kind, metadata and spec",
                );
                continue;
            }
        };
        match kind {
            Some((_, k)) if k == "Resiliency" && index > 0 => ignored_resiliency(ctx, doc, index),
            Some((_, k)) if k == "Resiliency" => resiliencies.extend(resiliency::decode(ctx, doc)),
            Some((_, k)) if k == "Component" => components.extend(component::decode(ctx, doc)),
            Some((n, k)) => match ["Resiliency", "Component"].into_iter().find(|known| near(&k, known)) {
                Some(known) => ctx.warning(
                    n,
                    "kind",
                    format!("kind `{k}` is not one Dapr knows, so daprd skips this resource; did you mean `{known}`?"),
                    &format!("write `kind: {known}`"),
                ),
                None => ctx.note(
                    n,
                    "kind",
                    format!("kind `{k}` is not used by resilience-tui; skipped"),
                    "",
                ),
            },
            None => ctx.warning(
                doc,
                "kind",
                "this document has no `kind`; it is ignored",
                "add `kind: Resiliency` or `kind: Component`",
            ),
        }
    }
}

/// A Resiliency after the first document of its file. daprd reads Resiliency files with one
/// `sigs.k8s.io/yaml.Unmarshal` of the whole file (`loadLocalResiliencyPath`, `pkg/resiliency/resiliency.go`),
/// which decodes only the first document, kind included; later documents are never seen. Components are read
/// differently (`pkg/internal/loader/disk/manifest.go` splits a file on `---` and reads every document), so a
/// Component anywhere in a file loads. Not decoded here either: its policies and errors do not exist for daprd.
fn ignored_resiliency(ctx: &mut Ctx, doc: &Yaml, index: usize) {
    let start = ctx.span(doc).start;
    let text = ctx.text();
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let msg = format!(
        "this Resiliency is document {} of its file; daprd reads only a file's first document for a Resiliency, so it ignores this one",
        index + 1
    );
    let help = "put each Resiliency in a file of its own, or make it the first document of this file";
    ctx.report(Severity::Warning, start..end.max(start + 1), "", msg, help);
}

/// Checks that need every resource: policy names used by targets, overrides, and scopes.
fn cross_check(
    files: &SourceFiles,
    decoded: Vec<DecodedResiliency>,
    app_id: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<DecodedResiliency> {
    let applies = |r: &DecodedResiliency| app_id.is_none_or(|id| r.config.applies_to(id));
    let mut defined: HashMap<(PolicyKind, String), (usize, std::ops::Range<usize>)> = HashMap::new();
    for r in decoded.iter().filter(|r| applies(r)) {
        for (kind, name, span) in &r.definitions {
            if let Some((file_id, earlier)) = defined.insert((*kind, name.clone()), (r.file_id, span.clone())) {
                let before = files.diagnostic(Severity::Note, file_id, earlier, None, "", None);
                let msg = format!("policy `{name}` replaces the one defined at {}", before.location());
                let help = "a later resource overrides a same-named policy; rename one if both are meant".to_string();
                diagnostics.push(files.diagnostic(Severity::Note, r.file_id, span.clone(), None, msg, Some(help)));
            }
        }
    }
    let names_of = |kind: PolicyKind| -> Vec<String> {
        let set: BTreeSet<String> = defined
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n.clone())
            .collect();
        set.into_iter().collect()
    };
    let mut known: HashMap<PolicyKind, Vec<String>> = HashMap::new();
    for kind in [PolicyKind::Timeout, PolicyKind::Retry, PolicyKind::CircuitBreaker] {
        known.insert(kind, names_of(kind));
    }
    known.get_mut(&PolicyKind::Retry).unwrap().extend(
        [
            "DaprBuiltInServiceRetries",
            "DaprBuiltInActorRetries",
            "DaprBuiltInActorReminderRetries",
            "DaprBuiltInInitializationRetries",
            "DaprBuiltInActorNotFoundRetries",
        ]
        .map(String::from),
    );
    let mut loaded = Vec::new();
    for r in decoded {
        if let Some(id) = app_id.filter(|id| !r.config.applies_to(id)) {
            let msg = format!(
                "this resource does not apply to `{id}`: its scopes are [{}]",
                r.config.scopes.join(", ")
            );
            let help = format!("add `{id}` to `scopes`, or check --app-id; the sidecar of `{id}` skips this resource");
            let span = r.scopes_span.clone().unwrap_or(r.span.clone());
            diagnostics.push(files.diagnostic(
                Severity::Warning,
                r.file_id,
                span,
                Some("scopes".into()),
                msg,
                Some(help),
            ));
            loaded.push(r);
            continue;
        }
        let mut ok = true;
        for reference in &r.references {
            let names = &known[&reference.kind];
            if names.contains(&reference.name) {
                continue;
            }
            let (what, effect, section) = match reference.kind {
                PolicyKind::Timeout => ("timeout", "no timeout", "timeouts"),
                PolicyKind::Retry => ("retry policy", "no retries", "retries"),
                PolicyKind::CircuitBreaker => ("circuit breaker policy", "no circuit breaker", "circuitBreakers"),
            };
            let candidates: Vec<&str> = names.iter().take(257).map(String::as_str).collect();
            let help = match node::did_you_mean(&reference.name, &candidates) {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!("define it under spec.policies.{section}"),
            };
            let (severity, msg) = if reference.component && reference.kind == PolicyKind::CircuitBreaker {
                ok = false;
                (
                    Severity::Error,
                    format!(
                        "{what} `{}` is not defined (Dapr would fail on the first call to this component)",
                        reference.name
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "{what} `{}` is not defined, so Dapr silently applies {effect} here",
                        reference.name
                    ),
                )
            };
            diagnostics.push(files.diagnostic(
                severity,
                r.file_id,
                reference.span.clone(),
                Some(reference.path.clone()),
                msg,
                Some(help),
            ));
        }
        if ok {
            loaded.push(r);
        }
    }
    loaded
}
