//! Located errors, warnings and notes about resource files, printed the way rustc and clippy print theirs.
//!
//! Every diagnostic names the file, the line and column, and the field path, and says what to do.
//! Errors mean the resource does not load; warnings mean it loads but probably not as the user meant (often a
//! mistake Dapr would ignore silently); notes are information.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Chars, Config};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding about one place in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Index into [`SourceFiles`].
    pub file_id: usize,
    pub path: PathBuf,
    /// 1-based line and column of the start of `span`.
    pub line: usize,
    pub column: usize,
    /// Byte range in the file.
    pub span: Range<usize>,
    /// The field path, e.g. `spec.policies.retries.retryForever.duration`.
    pub field: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// `path:line:col`, as printed after `-->`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

impl fmt::Display for Diagnostic {
    /// A one-line form: `warning: MESSAGE (--> file:line:col, field spec.x)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} --> {}", self.severity, self.message, self.location())?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

/// The text of every file read, so diagnostics can show the offending line.
#[derive(Default)]
pub struct SourceFiles {
    files: SimpleFiles<String, String>,
    paths: Vec<PathBuf>,
}

impl SourceFiles {
    /// No file was read.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn add(&mut self, path: &Path, text: String) -> usize {
        self.paths.push(path.to_path_buf());
        self.files.add(path.display().to_string(), text)
    }

    pub fn text(&self, file_id: usize) -> &str {
        self.files.get(file_id).map(|f| f.source().as_str()).unwrap_or("")
    }

    pub fn path(&self, file_id: usize) -> &Path {
        &self.paths[file_id]
    }

    /// A diagnostic at a byte span of a file (the span is clamped to the text and to char boundaries).
    pub fn diagnostic(
        &self,
        severity: Severity,
        file_id: usize,
        span: Range<usize>,
        field: Option<String>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let text = self.text(file_id);
        let clamp = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        // A location is one line: a multi-line node (a mapping, a block list) is marked on its first line.
        let start = clamp(span.start);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let span = start..clamp(span.end.max(start)).min(line_end);
        // codespan keeps each file's line starts: a binary search, not a scan from the top per diagnostic (a
        // file with thousands of problems would otherwise take seconds).
        use codespan_reporting::files::Files as _;
        let line_index = self.files.line_index(file_id, span.start).unwrap_or(0);
        let line_start = self
            .files
            .line_range(file_id, line_index)
            .map_or(0, |r| r.start)
            .min(span.start);
        let line = line_index + 1;
        let column = text[line_start..span.start].chars().count() + 1;
        Diagnostic {
            severity,
            message: message.into(),
            file_id,
            path: self.path(file_id).to_path_buf(),
            line,
            column,
            span,
            field,
            help,
        }
    }

    /// Renders diagnostics like rustc: `error: ...`, `--> file:line:col`, the source line, field and help.
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        let config = Config {
            chars: Chars::ascii(),
            start_context_lines: 0,
            end_context_lines: 0,
            ..Config::default()
        };
        let mut out = String::new();
        for d in diagnostics {
            let severity = match d.severity {
                Severity::Note => ReportSeverity::Note,
                Severity::Warning => ReportSeverity::Warning,
                Severity::Error => ReportSeverity::Error,
            };
            let mut notes = Vec::new();
            if let Some(field) = &d.field {
                notes.push(format!("field: {field}"));
            }
            if let Some(help) = &d.help {
                notes.push(format!("help: {help}"));
            }
            let report = Report::new(severity)
                .with_message(&d.message)
                .with_labels(vec![Label::primary(d.file_id, d.span.clone())])
                .with_notes(notes);
            // Writing to a string cannot fail except on a bad span, which `diagnostic` clamps.
            let _ = term::emit_to_string(&mut out, &config, &self.files, &report);
        }
        out
    }
}
