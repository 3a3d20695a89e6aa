//! A corpus of bad resource files (tests/bad_resources/, expectations in its EXPECTED file): YAML syntax
//! errors, wrong types, bad durations, unknown policies, bad ranges, bad CEL, an alias bomb, empty files,
//! text that is not UTF-8 and binary junk; plus huge and deeply nested documents made here. Each gets its
//! diagnostic at its place, with the field path, and a help line when it is an error or warning. No input
//! panics or hangs (the bound is generous: a hang guard for a debug build on a loaded machine, not a timing).

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use resilience_tui::resources::{Resources, Severity, load_files};

const HANG: Duration = Duration::from_secs(10);

fn load(name: &str, bytes: Vec<u8>) -> Resources {
    let path = PathBuf::from(name);
    common::finishes_within(HANG, name, move || load_files(vec![(path, bytes)], None))
}

#[test]
fn every_bad_file_gets_its_diagnostic_at_its_place() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_resources");
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).unwrap();
    let mut checked = Vec::new();
    for line in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split(" | ").collect();
        let [file, place, field, text] = parts[..] else {
            panic!("EXPECTED line is not `file | severity line:col | field | text`: {line}")
        };
        let (severity, at) = place.split_once(' ').unwrap();
        let loaded = load(file, std::fs::read(dir.join(file)).unwrap());
        let rendered = loaded.render_diagnostics();
        let d = loaded
            .diagnostics
            .first()
            .unwrap_or_else(|| panic!("{file}: no diagnostic"));
        let severity = match severity {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "note" => Severity::Note,
            other => panic!("unknown severity {other}"),
        };
        assert_eq!(d.severity, severity, "{file}:\n{rendered}");
        assert_eq!(format!("{}:{}", d.line, d.column), at, "{file}:\n{rendered}");
        assert_eq!(d.field.as_deref().unwrap_or("-"), field, "{file}:\n{rendered}");
        assert!(d.message.contains(text), "{file}: `{}` lacks `{text}`", d.message);
        // What people read: the file and place, and for problems a line saying what to do.
        assert!(rendered.contains(&format!("{file}:{at}")), "{file}:\n{rendered}");
        if severity != Severity::Note {
            assert!(d.help.is_some(), "{file}: no help for `{}`", d.message);
        }
        if severity == Severity::Error {
            assert!(
                loaded.resiliencies.is_empty(),
                "{file}: an error must keep its resource out"
            );
        }
        checked.push(file.to_string());
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "EXPECTED")
        .collect();
    on_disk.sort();
    checked.sort();
    assert_eq!(checked, on_disk, "every file has one EXPECTED line");
    assert!(checked.len() >= 25, "{}", checked.len());
}

#[test]
fn a_huge_file_is_refused_without_being_parsed() {
    let mut huge = String::from(
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: huge}\nspec:\n  policies:\n    retries:\n",
    );
    let mut i = 0;
    while huge.len() <= resilience_tui::resources::MAX_FILE_BYTES {
        huge.push_str(&format!("      r{i}: {{duration: 1s}}\n"));
        i += 1;
    }
    let loaded = load("huge.yaml", huge.into_bytes());
    let d = &loaded.diagnostics[0];
    assert_eq!((d.severity, d.line), (Severity::Error, 1));
    assert!(d.message.contains("resource files are a few KiB"), "{}", d.message);
    assert!(loaded.resiliencies.is_empty());
}

#[test]
fn deeply_nested_documents_end_in_an_error_not_a_stack_overflow() {
    let flow = format!(
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {{name: deep}}\nspec: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let loaded = load("deep-flow.yaml", flow.into_bytes());
    let d = &loaded.diagnostics[0];
    assert_eq!((d.severity, d.line), (Severity::Error, 4));
    assert!(d.message.contains("recursion limit"), "{}", d.message);

    // Block nesting has no limit in the YAML parser: 1000 levels (under the size limit) overflowed the stack
    // of a debug build before the loader checked the depth itself.
    let block: String = (0..1000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    let loaded = load("deep-block.yaml", block.into_bytes());
    let d = &loaded.diagnostics[0];
    assert_eq!(
        (d.severity, d.line),
        (Severity::Error, 65),
        "{}",
        loaded.render_diagnostics()
    );
    assert!(d.message.contains("nests more than 64 levels"), "{}", d.message);
    assert!(loaded.resiliencies.is_empty() && loaded.components.is_empty());
}

#[test]
fn a_file_with_thousands_of_problems_is_reported_in_one_pass() {
    // Found by reading the loader after fuzzing: each diagnostic used to count lines from the top of the file,
    // and each undefined name was compared with every defined one; a machine-made file took seconds.
    let mut unknown = String::from(
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: many}\nspec:\n  policies:\n    retries:\n      fast:\n",
    );
    let mut i = 0;
    while unknown.len() < 300_000 {
        unknown.push_str(&format!("        x{i}: 1\n"));
        i += 1;
    }
    let loaded = load("unknown-fields.yaml", unknown.into_bytes());
    assert_eq!(loaded.diagnostics.len(), i);
    let last = loaded.diagnostics.last().unwrap();
    assert_eq!((last.line, last.column), (8 + i - 1, 9));

    let mut targets = String::from(
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: many}\nspec:\n  policies:\n    retries:\n",
    );
    for p in 0..3000 {
        targets.push_str(&format!("      p{p}: {{duration: 1s}}\n"));
    }
    targets.push_str("  targets:\n    apps:\n");
    for a in 0..3000 {
        targets.push_str(&format!("      a{a}: {{retry: q{a}}}\n"));
    }
    let loaded = load("many-targets.yaml", targets.into_bytes());
    let undefined = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("is not defined"))
        .count();
    assert_eq!(undefined, 3000);
}
