//! A run SIGKILLed while its `command` app runs cannot stop the app (no handler runs): the app's process
//! group outlives it. The next run finds the group's marker, checks the group is still the one that run
//! started (boot, leader start time, command), and ends it. The real binary, a real app, a real SIGKILL.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A scenario whose one app is a Python process holding `marker` in its command line.
fn scenario(dir: &std::path::Path, file: &str, marker: &str) -> std::path::PathBuf {
    let resources = concat!(env!("CARGO_MANIFEST_DIR"), "/resources/no-resiliency");
    let text = format!(
        "name: mine\ntitle: mine\nsummary: s\nresources: {resources}\napps:\n  checkout: {{kind: checkout, daprHttpPort: {}, target: my-processor}}\n  my-processor:\n    kind: command\n    command: [python3, -c, 'import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); time.sleep(300)', {ready}]\n    dir: .\n    daprHttpPort: {}\n",
        common::free_port(),
        common::free_port(),
        ready = dir.join(format!("{marker}.ready")).display(),
    );
    let path = dir.join(file); // not named by the marker: the run's own command line would hold it
    std::fs::write(&path, text).unwrap();
    path
}

fn run(state_dir: &std::path::Path, scenario: &std::path::Path, duration: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resilience-tui"));
    cmd.arg("scenario")
        .arg(scenario)
        .args(["--headless", "--output", "jsonl", "--duration", duration])
        .args(["--metrics-port", &format!("checkout={}", common::free_port())])
        .args(["--metrics-port", &format!("my-processor={}", common::free_port())])
        .env("RESILIENCE_TUI_STATE_DIR", state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn the_app_of_a_sigkilled_run_is_ended_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let killed_app = format!("rtui-killed-run-app-{}", std::process::id());
    let mut first = run(&state, &scenario(dir.path(), "first.yaml", &killed_app), "120s")
        .spawn()
        .unwrap();
    // Wait for the app and its group's marker: then the run has started what it must leave behind.
    let deadline = Instant::now() + Duration::from_secs(60);
    let noted = || {
        std::fs::read_dir(&state)
            .map(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().starts_with("app-group-"))
            })
            .unwrap_or(false)
    };
    // The app says it runs (python3 may be a shim that forks and execs before the real interpreter runs).
    let ready = || dir.path().join(format!("{killed_app}.ready")).exists();
    while !ready() || !noted() {
        assert!(Instant::now() < deadline, "the first run never started its app");
        assert!(first.try_wait().unwrap().is_none(), "the first run ended early");
        std::thread::yield_now();
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let orphans = common::processes_with(&killed_app);
    assert_eq!(orphans.len(), 1, "the killed run's app outlives it: {orphans:?}");

    let out = run(
        &state,
        &scenario(dir.path(), "next.yaml", &format!("{killed_app}-next")),
        "1s",
    )
    .output()
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(
        stdout.contains("ended the apps an earlier resilience-tui run left running"),
        "the next run says so: {stdout}"
    );
    let left = common::processes_with(&killed_app);
    assert!(left.is_empty(), "left running: {left:?}");
}
