//! The redis-server a run starts (`--state-store redis-server`) runs in a process group of its own, noted like
//! the apps' groups: a run killed with SIGKILL (which nothing can handle) leaves it running, and the next run
//! ends it and says so. The real binary, killed for real; the markers in a state folder of the test's own.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary(state_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resilience-tui"));
    cmd.args(args)
        .env("RESILIENCE_TUI_STATE_DIR", state_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `(pid, process group)` of a live process, from `/proc/<pid>/stat` (None once it is gone or a zombie).
fn live(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the fields after it are what we read.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    (fields[0] != "Z").then(|| (pid, fields[2].parse().unwrap()))
}

/// Kills the group at the end of the test whatever happened (a failed assertion must not leak a Redis).
struct KillGroup(i32);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.0), nix::sys::signal::Signal::SIGKILL);
    }
}

fn group_markers(state_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state_dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_redis_server_left_by_a_killed_run_is_ended_by_the_next() {
    common::ensure_installed("redis-server", "redis-server");
    let state_dir = common::temp_dir("leftover-redis");
    let port = || common::free_port().to_string();
    let (dapr, metrics) = (
        format!("order-processor={}", port()),
        format!("order-processor={}", port()),
    );
    let mut first = binary(
        &state_dir,
        &[
            "scenario",
            "state-management",
            "--headless",
            "--state-store",
            "redis-server",
            "--duration",
            "120s",
            "--dapr-http-port",
            &dapr,
            "--metrics-port",
            &metrics,
        ],
    )
    .spawn()
    .unwrap();
    // Wait until it has saved an order through its Redis: the server runs and its group is noted.
    let saved = BufReader::new(first.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("Saving Order"));
    assert!(saved, "the first run never saved an order");
    let markers = group_markers(&state_dir);
    assert_eq!(markers.len(), 1, "one group noted: {markers:?}");
    let marker = std::fs::read_to_string(&markers[0]).unwrap();
    assert!(
        marker.contains(&format!("pid={}\n", first.id())) && marker.contains("what=redis-server"),
        "{marker}"
    );
    let name = markers[0].file_name().unwrap().to_string_lossy().into_owned();
    let group: i32 = name.strip_prefix("app-group-").unwrap().parse().unwrap();
    let _cleanup = KillGroup(group);
    let cmdline = std::fs::read_to_string(format!("/proc/{group}/cmdline")).unwrap();
    assert!(cmdline.starts_with("redis-server"), "{cmdline:?}");
    assert_eq!(live(group), Some((group, group)), "it leads a process group of its own");

    // SIGKILL: no handler runs, nothing is stopped.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(live(group).is_some(), "the killed run left its redis-server running");

    // The next run (any scenario) ends it and says so.
    let (checkout, processor, app) = (port(), port(), port());
    let second = binary(
        &state_dir,
        &[
            "scenario",
            "service-invoke",
            "--headless",
            "--duration",
            "1s",
            "--dapr-http-port",
            &format!("checkout={checkout}"),
            "--dapr-http-port",
            &format!("order-processor={processor}"),
            "--app-port",
            &format!("order-processor={app}"),
            "--metrics-port",
            &format!("checkout={}", port()),
            "--metrics-port",
            &format!("order-processor={}", port()),
        ],
    )
    .output()
    .unwrap();
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let said = format!("ended the redis-server an earlier resilience-tui run left running (process group {group})");
    assert!(out.contains(&said), "{out}");
    // SIGKILL is delivered at once; the process is gone once init has reaped it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while live(group).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(live(group).is_none(), "the leftover redis-server was ended");
    assert!(group_markers(&state_dir).is_empty(), "its marker is gone");
}
