//! Decoding one `kind: Component` document (the state store of the state-management scenario).

use std::ops::Range;

use super::node::{Ctx, Yaml, join};

/// A Dapr component: `metadata.name`, `spec.type` (`state.redis`), `spec.version` and `spec.metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSpec {
    pub name: String,
    pub component_type: String,
    pub version: String,
    /// `spec.metadata` as `(name, value)`; values are strings, as Dapr reads them.
    pub metadata: Vec<(String, String)>,
    pub scopes: Vec<String>,
    pub file_id: usize,
    pub span: Range<usize>,
}

impl ComponentSpec {
    /// A metadata value by name (Dapr matches metadata names case-insensitively).
    pub fn metadata_value(&self, name: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn applies_to(&self, app_id: &str) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| s == app_id)
    }
}

const TOP_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "scopes", "spec", "auth"];
const SPEC_FIELDS: &[&str] = &["type", "version", "metadata", "ignoreErrors", "initTimeout"];

/// Decodes the document; `None` when it has errors.
pub fn decode(ctx: &mut Ctx, doc: &Yaml) -> Option<ComponentSpec> {
    let errors_before = ctx.diagnostics.len();
    let top = ctx.fields(doc, "", "a Component resource", TOP_FIELDS);
    let mut spec = ComponentSpec {
        name: String::new(),
        component_type: String::new(),
        version: String::new(),
        metadata: Vec::new(),
        scopes: Vec::new(),
        file_id: ctx.file_id,
        span: ctx.span(doc),
    };
    let name_node = top.get("metadata").and_then(|m| {
        let f = ctx.fields(
            m,
            "metadata",
            "metadata",
            &["name", "namespace", "labels", "annotations"],
        );
        f.get("name")
    });
    match name_node.and_then(|n| ctx.string(n, "metadata.name").map(|s| (n, s))) {
        Some((n, name)) if !name.is_empty() => {
            spec.span = ctx.span(n);
            spec.name = name;
        }
        _ => ctx.error(
            doc,
            "metadata.name",
            "this component has no `metadata.name`",
            "name it, e.g. `metadata: {name: statestore}`: apps address the component by that name",
        ),
    }
    if let Some(scopes) = top.get("scopes") {
        spec.scopes = ctx.string_list(scopes, "scopes");
    }
    let Some(spec_node) = top.get("spec") else {
        ctx.error(
            doc,
            "spec",
            "this component has no `spec`",
            "add `spec.type` (e.g. state.redis), `spec.version: v1` and `spec.metadata`",
        );
        return None;
    };
    let f = ctx.fields(spec_node, "spec", "spec", SPEC_FIELDS);
    match f.get("type").and_then(|n| ctx.string(n, "spec.type")) {
        Some(t) if !t.is_empty() => spec.component_type = t,
        _ => ctx.error(
            spec_node,
            "spec.type",
            "this component has no `spec.type`",
            "set the component type, e.g. `type: state.redis`",
        ),
    }
    spec.version = f
        .get("version")
        .and_then(|n| ctx.string(n, "spec.version"))
        .unwrap_or_default();
    if let Some(items) = f.get("metadata") {
        match &items.data {
            saphyr::YamlDataOwned::Sequence(list) => {
                for (i, item) in list.iter().enumerate() {
                    let path = format!("spec.metadata[{i}]");
                    let mf = ctx.fields(
                        item,
                        &path,
                        "a metadata item",
                        &["name", "value", "secretKeyRef", "envRef"],
                    );
                    let name = mf.get("name").and_then(|n| ctx.string(n, &join(&path, "name")));
                    let value = mf
                        .get("value")
                        .and_then(|n| ctx.string(n, &join(&path, "value")))
                        .unwrap_or_default();
                    match name {
                        Some(name) if !name.is_empty() => spec.metadata.push((name, value)),
                        _ => ctx.error(
                            item,
                            &path,
                            "this metadata item has no `name`",
                            "write `- name: redisHost` then `value: localhost:6379`",
                        ),
                    }
                }
            }
            _ => ctx.error(
                items,
                "spec.metadata",
                "`spec.metadata` must be a list of name/value items",
                "write `- name: redisHost` then `value: localhost:6379`",
            ),
        }
    }
    (ctx.diagnostics[errors_before..]
        .iter()
        .all(|d| d.severity != super::Severity::Error))
    .then_some(spec)
}
