//! The scenario list as a learner meets it, from the real binary: `scenarios` (piped, and under tmux at 80
//! and 120 columns), `scenario` with no name, and `init` with no argument. The quickstarts come first, then the
//! lessons in teaching order; every description is wrapped between words, within the width.

use crate::common;

use std::process::{Command, Output};

use common::tmux::Session;

const BIN: &str = env!("CARGO_BIN_EXE_resilience-tui");

/// The order a learner should meet them in: Dapr's two quickstarts, then the lessons.
const TEACHING_ORDER: [&str; 8] = [
    "service-invoke",
    "state-management",
    "no-resiliency",
    "timeouts",
    "status-codes",
    "exponential-backoff",
    "defaults",
    "why-breakers",
];

fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_in(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// The entries of a listing (the lines before the first blank one after an entry starts): each name and its
/// rows joined by one space.
fn entries(listing: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in listing.lines().map(str::trim_end) {
        if line.is_empty() {
            if out.is_empty() {
                continue;
            }
            break;
        }
        match line.strip_prefix(' ') {
            Some(rest) => {
                let (_, text) = out.last_mut().expect("a continuation row follows a name");
                text.push(' ');
                text.push_str(rest.trim_start());
            }
            None => {
                let (name, text) = line.split_once(' ').unwrap_or((line, ""));
                out.push((name.to_string(), text.trim_start().to_string()));
            }
        }
    }
    out
}

/// The listing shows the scenarios in teaching order, each with its whole title and summary: rejoining its
/// rows with one space gives the text back exactly, so no row ended inside a word and nothing was lost.
fn assert_whole_words_in_order(listing: &str, width: usize) {
    let found = entries(listing);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, TEACHING_ORDER, "{listing}");
    for (name, text) in &found {
        let s = resilience_tui::scenario::find(name).unwrap().load().unwrap();
        assert_eq!(text, &format!("{} - {}", s.title, s.summary), "{name} in:\n{listing}");
    }
    for line in listing.lines() {
        assert!(line.chars().count() <= width, "wider than {width} columns: {line:?}");
    }
}

#[test]
fn scenarios_lists_the_quickstarts_then_the_lessons_in_80_columns() {
    let (code, out, err) = run(&["scenarios"]);
    assert_eq!(code, 0, "{err}");
    assert_whole_words_in_order(&out, 80);
    assert!(
        out.contains("\nrun one: resilience-tui scenario NAME\n")
            && out.contains("start with: resilience-tui scenario service-invoke"),
        "{out}"
    );
}

/// `scenario` alone lists them (the same list) and says how to run one, with clap's exit code for a missing
/// argument.
#[test]
fn scenario_with_no_name_lists_them() {
    let (code, out, err) = run(&["scenario"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.starts_with("which scenario? give its name"), "{err}");
    assert!(!err.contains("required arguments"), "not clap's error: {err}");
    let (_, listing) = err.split_once("\n\n").expect("the list after a blank line");
    assert_whole_words_in_order(listing, 80);
    let (_, listed, _) = run(&["scenarios"]);
    assert_eq!(listing.trim_end(), listed.trim_end(), "the same list as `scenarios`");
}

/// `init` alone writes every scenario and suggests the service-invoke quickstart's written copy first.
#[test]
fn init_with_no_argument_suggests_service_invoke_first() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(dir.path(), &["init"]);
    assert_eq!(code, 0, "{err}");
    let runs: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once("resilience-tui scenario ").map(|(_, cmd)| cmd))
        .collect();
    assert_eq!(
        runs.first(),
        Some(&"resilience-lab/service-invoke.yaml"),
        "the first run suggested:\n{out}"
    );
    assert!(out.contains("first run: "), "{out}");
    assert!(dir.path().join("resilience-lab/service-invoke.yaml").is_file());
    let written: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("wrote resilience-lab/"))
        .filter(|p| p.ends_with(".yaml") && !p.contains('/'))
        .map(|p| p.trim_end_matches(".yaml"))
        .collect();
    assert_eq!(written, TEACHING_ORDER, "written in teaching order:\n{out}");
}

/// Under a real terminal the list is wrapped to its width: at 80 columns no word is split by the terminal's
/// own wrapping, and at 120 the rows use the room.
#[test]
fn scenarios_in_a_terminal_wrap_between_words_at_its_width() {
    for width in [80u16, 120] {
        let name = format!("rtui-list-{width}-{}", std::process::id());
        let s = Session::start(&name, width, 40, &format!("{BIN} scenarios; echo EXIT=$?; sleep 30"));
        let screen = s.wait_for("the list", |sc| sc.contains("EXIT="));
        assert!(screen.contains("EXIT=0"), "{screen}");
        assert_whole_words_in_order(&screen, usize::from(width));
        let widest = screen.lines().map(|l| l.trim_end().chars().count()).max().unwrap();
        assert!(widest > 80 || width == 80, "the rows use {width} columns:\n{screen}");
    }
}
