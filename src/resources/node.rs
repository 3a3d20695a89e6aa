//! Typed reads from a YAML tree that remembers where every node came from.
//!
//! Dapr decodes resources with `sigs.k8s.io/yaml`, which ignores unknown fields and turns any scalar into a
//! string where a string is expected (`interval: 0` becomes `"0"`). We read the same way, but every read knows
//! its node's file position and field path, so whatever Dapr would accept silently can be pointed at.

use std::ops::Range;
use std::time::Duration;

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned};

use super::diagnostic::{Diagnostic, Severity, SourceFiles};
use crate::duration::parse_dapr_duration;

pub type Yaml = MarkedYamlOwned;

/// Decoding context for one file: where diagnostics go, and how to turn node positions into byte spans.
pub struct Ctx<'a> {
    files: &'a SourceFiles,
    pub file_id: usize,
    /// Byte offset of each char, when the file is not pure ASCII (saphyr positions count chars).
    char_offsets: Option<Vec<usize>>,
    pub diagnostics: Vec<Diagnostic>,
    /// Field names match ignoring case, as in Dapr resources (on by default; our own scenario files turn
    /// it off).
    pub fold_case: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(files: &'a SourceFiles, file_id: usize) -> Self {
        let text = files.text(file_id);
        let char_offsets = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        Self {
            files,
            file_id,
            char_offsets,
            diagnostics: Vec::new(),
            fold_case: true,
        }
    }

    pub fn text(&self) -> &'a str {
        self.files.text(self.file_id)
    }

    /// Byte offset of a saphyr char index.
    pub fn byte_offset(&self, char_index: usize) -> usize {
        match &self.char_offsets {
            Some(offsets) => offsets.get(char_index).copied().unwrap_or(self.text().len()),
            None => char_index.min(self.text().len()),
        }
    }

    pub fn span(&self, node: &Yaml) -> Range<usize> {
        let start = self.byte_offset(node.span.start.index());
        let end = self.byte_offset(node.span.end.index()).max(start);
        start..end
    }

    /// The file's first YAML document; an empty file (`{what} is empty`) or a syntax error is reported, located.
    pub fn first_document(&mut self, what: &str) -> Option<Yaml> {
        use saphyr::LoadableYamlNode as _;
        match Yaml::load_from_str(self.text()) {
            Ok(docs) if !docs.is_empty() => docs.into_iter().next(),
            Ok(_) => {
                self.report(Severity::Error, 0..0, "", format!("{what} is empty"), "");
                None
            }
            Err(e) => {
                let at = self.byte_offset(e.marker().index());
                let msg = format!("YAML syntax error: {}", e.info());
                self.report(Severity::Error, at..at + 1, "", msg, "");
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn report(&mut self, severity: Severity, span: Range<usize>, path: &str, message: String, help: &str) {
        let field = (!path.is_empty()).then(|| path.to_string());
        let help = (!help.is_empty()).then(|| help.to_string());
        let d = self
            .files
            .diagnostic(severity, self.file_id, span, field, message, help);
        self.diagnostics.push(d);
    }

    pub fn error(&mut self, node: &Yaml, path: &str, message: impl Into<String>, help: &str) {
        self.report(Severity::Error, self.span(node), path, message.into(), help);
    }

    pub fn warning(&mut self, node: &Yaml, path: &str, message: impl Into<String>, help: &str) {
        self.report(Severity::Warning, self.span(node), path, message.into(), help);
    }

    pub fn note(&mut self, node: &Yaml, path: &str, message: impl Into<String>, help: &str) {
        self.report(Severity::Note, self.span(node), path, message.into(), help);
    }

    /// The entries of a mapping, in file order, as `(key, key node, value node)`. Anything else is an error.
    pub fn entries<'n>(&mut self, node: &'n Yaml, path: &str, what: &str) -> Vec<(String, &'n Yaml, &'n Yaml)> {
        match &untag(node).data {
            YamlDataOwned::Mapping(map) => map
                .iter()
                .map(|(k, v)| (scalar_text(k).unwrap_or_default(), k, v))
                .collect(),
            YamlDataOwned::Value(ScalarOwned::Null) => Vec::new(),
            _ => {
                self.error(
                    node,
                    path,
                    format!("{what} must be a mapping, found {}", kind_of(node)),
                    "write `name: value` pairs, one per line, indented under it",
                );
                Vec::new()
            }
        }
    }

    /// A mapping with a fixed set of fields: unknown fields get a warning (Dapr ignores them) with a
    /// did-you-mean suggestion. Returns the value of each known field present.
    ///
    /// Names match as `encoding/json` matches them, which is what `sigs.k8s.io/yaml` decodes with: the exact
    /// name, else ignoring case (`MaxRetries` sets `maxRetries`; a note suggests the usual spelling). When
    /// several keys name one field, the value that `encoding/json` assigns last wins: `sigs.k8s.io/yaml`
    /// turns the YAML mapping into a Go map and `json.Marshal` writes map keys sorted, so that is the key
    /// that sorts last byte-wise, wherever it is in the file (kubernetes-sigs/yaml `yaml.go`
    /// `yamlToJSONTarget`).
    pub fn fields<'n>(&mut self, node: &'n Yaml, path: &str, what: &str, known: &[&str]) -> Fields<'n> {
        let mut found: Vec<(&str, String, &'n Yaml, &'n Yaml)> = Vec::new();
        for (key, key_node, value) in self.entries(node, path, what) {
            let exact = known.iter().find(|k| **k == key);
            let folded = || known.iter().find(|k| self.fold_case && go_fold_eq(k, &key));
            match exact.or_else(folded) {
                Some(name) => {
                    if *name != key {
                        let msg = format!("`{key}` sets `{name}`: Dapr matches field names ignoring case");
                        self.note(key_node, &join(path, name), msg, &format!("write `{name}`"));
                    }
                    found.push((name, key, key_node, value));
                }
                None => {
                    let help = match did_you_mean(&key, known) {
                        Some(k) => format!("did you mean `{k}`?"),
                        None => format!("the fields of {what} are: {}", known.join(", ")),
                    };
                    let field = join(path, &key);
                    let msg = format!("unknown field `{key}` in {what}; Dapr ignores it");
                    self.warning(key_node, &field, msg, &help);
                }
            }
        }
        let mut winners: Vec<(String, &'n Yaml)> = Vec::new();
        for name in known {
            let mut same: Vec<&(&str, String, &Yaml, &Yaml)> = found.iter().filter(|f| f.0 == *name).collect();
            same.sort_by(|a, b| a.1.cmp(&b.1));
            let Some(&&(_, ref winner, _, value)) = same.last() else {
                continue;
            };
            for (_, key, key_node, _) in &same[..same.len() - 1] {
                let msg =
                    format!("`{key}` and `{winner}` both set `{name}`; Dapr uses `{winner}`, so this value is ignored");
                let help = format!("keep one `{name}`; of keys differing only in case, the one sorting last wins");
                self.warning(key_node, &join(path, name), msg, &help);
            }
            winners.push((name.to_string(), value));
        }
        Fields { found: winners }
    }

    /// A scalar as a string, the way `sigs.k8s.io/yaml` fills a string field. `None` when absent or null.
    pub fn string(&mut self, node: &Yaml, path: &str) -> Option<String> {
        match &untag(node).data {
            YamlDataOwned::Value(ScalarOwned::Null) => None,
            _ => match scalar_text(node) {
                Some(s) => Some(s),
                None => {
                    self.error(
                        node,
                        path,
                        format!("expected a single value, found {}", kind_of(node)),
                        "write one value here, e.g. `name: myresiliency`",
                    );
                    None
                }
            },
        }
    }

    /// An integer field (`maxRetries`, `maxRequests`, ...). Strings are not converted, as in Dapr.
    pub fn int(&mut self, node: &Yaml, path: &str) -> Option<i64> {
        match &untag(node).data {
            YamlDataOwned::Value(ScalarOwned::Integer(i)) => Some(*i),
            YamlDataOwned::Value(ScalarOwned::Null) => None,
            // YAML reads digits past i64 as a float; say that it is too large rather than "not a number".
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) if f.fract() == 0.0 && f.abs() >= 9.2e18 => {
                let found = scalar_text(node).unwrap_or_default();
                self.error(
                    node,
                    path,
                    format!("`{found}` is too large for a whole number here"),
                    "use a number below 9223372036854775807; for \"forever\", maxRetries takes -1",
                );
                None
            }
            _ => {
                let found = scalar_text(node).map_or_else(|| kind_of(node).to_string(), |s| format!("`{s}`"));
                self.error(
                    node,
                    path,
                    format!("expected a whole number, found {found}"),
                    "write a number without quotes, e.g. 5",
                );
                None
            }
        }
    }

    /// A duration field: Go syntax, or a bare number of milliseconds.
    pub fn duration(&mut self, node: &Yaml, path: &str) -> Option<Duration> {
        let text = self.string(node, path)?;
        match parse_dapr_duration(&text) {
            Ok((true, _)) => {
                // Go accepts negative durations, and Dapr then acts as if it were 0 (no timeout, no wait,
                // counts never cleared) or, for a breaker's `timeout`, its default.
                let msg = format!("`{text}` is negative; Dapr accepts it and {}", negative_effect(path));
                self.warning(node, path, msg, "write a positive duration, or 0");
                Some(Duration::ZERO)
            }
            Ok((false, d)) => {
                if !d.is_zero() && text.bytes().all(|b| b.is_ascii_digit()) {
                    let msg = format!("`{text}` is a bare number, which Dapr reads as {text} milliseconds");
                    let help = format!("write `{text}ms` to say so, or `{text}s` if you meant seconds");
                    self.warning(node, path, msg, &help);
                }
                Some(d)
            }
            Err(e) => {
                self.error(node, path, format!("invalid duration `{text}`: {e}"), e.hint());
                None
            }
        }
    }

    /// A list of strings (`scopes`). A single string is an error, as in Dapr.
    pub fn string_list(&mut self, node: &Yaml, path: &str) -> Vec<String> {
        match &untag(node).data {
            YamlDataOwned::Sequence(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &format!("{path}[{i}]")))
                .collect(),
            YamlDataOwned::Value(ScalarOwned::Null) => Vec::new(),
            _ => {
                let help = "write a list, e.g. `scopes: [checkout]` or one `- item` per line";
                self.error(node, path, format!("expected a list, found {}", kind_of(node)), help);
                Vec::new()
            }
        }
    }
}

/// What a negative duration does in Dapr, by field.
fn negative_effect(path: &str) -> &'static str {
    let field = path.rsplit('.').next().unwrap_or_default();
    if path.starts_with("spec.policies.timeouts.") {
        "applies no timeout, as for 0"
    } else if path.starts_with("spec.policies.circuitBreakers.") && field == "timeout" {
        "uses the default, 60s, as for 0"
    } else if field == "maxInterval" {
        "caps the waits after the first at 0, as for 0"
    } else if field == "interval" {
        "never clears the counts, as for 0"
    } else {
        "retries without waiting, as for 0"
    }
}

/// The known fields present in a mapping.
pub struct Fields<'n> {
    found: Vec<(String, &'n Yaml)>,
}

impl<'n> Fields<'n> {
    pub fn get(&self, name: &str) -> Option<&'n Yaml> {
        self.found.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// The same fields but `names`, read as absent.
    pub fn without(&self, names: &[&str]) -> Fields<'n> {
        let found = self.found.iter().filter(|(k, _)| !names.contains(&k.as_str()));
        Fields {
            found: found.cloned().collect(),
        }
    }
}

/// `a.b` field paths; the empty path is the document root.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn untag(node: &Yaml) -> &Yaml {
    match &node.data {
        YamlDataOwned::Tagged(_, inner) => untag(inner),
        _ => node,
    }
}

/// A scalar's text as a Go string field would receive it; `None` for mappings, sequences and aliases.
pub fn scalar_text(node: &Yaml) -> Option<String> {
    match &untag(node).data {
        YamlDataOwned::Value(s) => Some(match s {
            ScalarOwned::Null => String::new(),
            ScalarOwned::Boolean(b) => b.to_string(),
            ScalarOwned::Integer(i) => i.to_string(),
            ScalarOwned::FloatingPoint(f) => f.to_string(),
            ScalarOwned::String(s) => s.clone(),
        }),
        YamlDataOwned::Representation(s, _, _) => Some(s.clone()),
        _ => None,
    }
}

/// A node as a comparable text that keeps what a decoder reads and drops what it does not (comments, quoting
/// style, key order, positions): two resources with the same text decode the same, as daprd's hot reload
/// compares them (`differ.AreSame`, a deep equality of the decoded objects).
pub fn canonical(node: &Yaml) -> String {
    let mut out = String::new();
    write_canonical(node, &mut out);
    out
}

fn write_canonical(node: &Yaml, out: &mut String) {
    match &untag(node).data {
        YamlDataOwned::Mapping(map) => {
            let mut entries: Vec<(String, String)> = map.iter().map(|(k, v)| (canonical(k), canonical(v))).collect();
            entries.sort();
            out.push('{');
            for (k, v) in entries {
                out.push_str(&k);
                out.push(':');
                out.push_str(&v);
                out.push(',');
            }
            out.push('}');
        }
        YamlDataOwned::Sequence(items) => {
            out.push('[');
            for item in items {
                write_canonical(item, out);
                out.push(',');
            }
            out.push(']');
        }
        _ => out.push_str(&format!("{:?}", scalar_text(node).unwrap_or_default())),
    }
}

pub fn kind_of(node: &Yaml) -> &'static str {
    match &untag(node).data {
        YamlDataOwned::Mapping(_) => "a mapping",
        YamlDataOwned::Sequence(_) => "a list",
        YamlDataOwned::Alias(_) => "an alias",
        YamlDataOwned::Value(ScalarOwned::Null) => "nothing",
        YamlDataOwned::BadValue => "an unreadable value",
        _ => "a single value",
    }
}

/// Whether a key names a field the way `encoding/json` matches it (`strings.EqualFold`). Field names are
/// ASCII, and the only other characters that fold to ASCII letters are U+017F (`s`) and U+212A (`k`).
pub fn go_fold_eq(name: &str, key: &str) -> bool {
    let fold = |c: char| match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    name.chars().map(fold).eq(key.chars().map(fold))
}

/// The closest known name, if it is close enough to be a likely typo.
pub fn did_you_mean<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    // Real resources define a handful of names; past a few hundred this is not a typo to suggest for, and
    // comparing every miss with every name would make a machine-made file take seconds.
    if known.len() > 256 {
        return None;
    }
    let word = word.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&word, &k.to_lowercase()), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}
