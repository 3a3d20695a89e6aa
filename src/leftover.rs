//! Faults a run could not clear because it was killed (SIGKILL cannot be caught): before stopping a Docker
//! container the tool leaves a marker naming it, and removes the marker once it has started the container
//! again. The next run that finds a marker whose run is gone, and the container still stopped, says so and
//! starts it: the user gets their `dapr_redis` back. A marker whose container is running is stale and removed.
//!
//! Markers live in `$XDG_STATE_HOME/resilience-tui` (else `~/.local/state/resilience-tui`, else the temp dir).
//! `RESILIENCE_TUI_STATE_DIR` overrides it (tests use their own).

use std::path::{Path, PathBuf};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RESILIENCE_TUI_STATE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("resilience-tui")
}

fn marker(container: &str) -> PathBuf {
    // Container names are [a-zA-Z0-9_.-]; anything else is replaced so the name stays one file name.
    let safe: String = container
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    state_dir().join(format!("stopped-container-{safe}"))
}

/// Notes that this run is about to stop `container`. Failing to write is not fatal (the stop still happens).
pub fn note_stopping(container: &str) {
    let path = marker(container);
    let text = format!("pid={}\ncontainer={container}\n", std::process::id());
    let written = std::fs::create_dir_all(state_dir()).and_then(|()| std::fs::write(&path, text));
    if let Err(e) = written {
        tracing::warn!(
            "cannot write {}: {e}; a killed run could not be detected",
            path.display()
        );
    }
}

/// Notes that `container` runs again.
pub fn note_started(container: &str) {
    let _ = std::fs::remove_file(marker(container));
}

/// What an earlier run left: `Some(pid)` when a marker says a run stopped `container` and that run is gone.
pub fn left_stopped_by_dead_run(container: &str) -> Option<u32> {
    let text = std::fs::read_to_string(marker(container)).ok()?;
    let pid: u32 = text.lines().find_map(|l| l.strip_prefix("pid="))?.trim().parse().ok()?;
    let alive = pid == std::process::id() || PathBuf::from(format!("/proc/{pid}")).exists();
    (!alive).then_some(pid)
}

/// Where this run's app process groups are listed: `app-group-<pgid>` files naming the run's pid and what
/// identifies the group's leader (see [`Leader`]).
fn group_marker(dir: &Path, pgid: i32) -> PathBuf {
    dir.join(format!("app-group-{pgid}"))
}

/// What tells a process group's leader from a later process given the same pid: group ids are reused, and
/// markers outlive a reboot. The boot id (`/proc/sys/kernel/random/boot_id`) changes at each boot; a
/// process's start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`, `man 5 proc`) does not
/// change while it lives; the command is the one the run started.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leader {
    boot_id: String,
    start_time: u64,
    /// The command the run started, each argument escaped (`escape_default`) so the marker stays lines.
    command: Vec<String>,
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned())
}

/// Fields 5 (the process group) and 22 (the start time) of `/proc/<pid>/stat`, counted after the command
/// name's closing parenthesis: the name may hold spaces and parentheses.
fn group_and_start_time(pid: i32) -> Option<(i32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    // `after_name[0]` is field 3 (the state).
    let pgrp = after_name.get(5 - 3)?.parse().ok()?;
    let start_time = after_name.get(22 - 3)?.parse().ok()?;
    Some((pgrp, start_time))
}

/// `/proc/<pid>/cmdline`'s arguments, escaped as in the marker (empty for a zombie).
fn command_line(pid: i32) -> Option<Vec<String>> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args = bytes.strip_suffix(b"\0").unwrap_or(&bytes);
    if args.is_empty() {
        return Some(Vec::new());
    }
    Some(
        args.split(|b| *b == 0)
            .map(|a| escaped(&String::from_utf8_lossy(a)))
            .collect(),
    )
}

fn escaped(arg: &str) -> String {
    arg.escape_default().to_string()
}

/// Whether the leader's command line `now` is `command` run as an app runs: the launcher before its exec
/// (`sh -c 'exec "$@"' sh <command…>`), the command itself, or a script under its interpreter
/// (`/bin/sh /path/to/run.sh <args…>`). Its last arguments are the command's, the program by file name.
fn runs_command(now: &[String], command: &[String]) -> bool {
    let Some((program, args)) = command.split_first() else {
        return false;
    };
    let Some(tail) = now.len().checked_sub(command.len()).map(|at| &now[at..]) else {
        return false;
    };
    let file_name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
    tail[1..] == *args && file_name(&tail[0]) == file_name(program)
}

/// Notes that this run started `command` in process group `pgid` (so a SIGKILLed run's apps can be ended).
pub fn note_process_group(pgid: i32, command: &[String]) {
    note_group(pgid, command, "apps");
}

/// Notes that this run started a redis-server in process group `pgid` (ended like the apps' groups).
pub fn note_redis_server_group(pgid: i32, command: &[String]) {
    note_group(pgid, command, REDIS_SERVER);
}

/// redis-server rewrites its own process title (`redis-server 127.0.0.1:PORT`), so its leader is known by its
/// program, not its arguments.
const REDIS_SERVER: &str = "redis-server";

/// `what` names the group's processes in the message of the run that ends them.
fn note_group(pgid: i32, command: &[String], what: &str) {
    let written = std::fs::create_dir_all(state_dir())
        .and_then(|()| write_group_marker(&state_dir(), pgid, std::process::id(), command, what));
    if let Err(e) = written {
        tracing::warn!("cannot note the {what} process group {pgid}: {e}; a killed run's {what} could not be found");
    }
}

fn write_group_marker(dir: &Path, pgid: i32, owner: u32, command: &[String], what: &str) -> std::io::Result<()> {
    let (Some(boot_id), Some((_, start_time))) = (boot_id(), group_and_start_time(pgid)) else {
        return Err(std::io::Error::other(format!(
            "cannot read the boot id or /proc/{pgid}/stat to identify the group later"
        )));
    };
    let mut text = format!("pid={owner}\nwhat={what}\nboot_id={boot_id}\nstart_time={start_time}\n");
    for arg in command {
        text.push_str(&format!("arg={}\n", escaped(arg)));
    }
    std::fs::write(group_marker(dir, pgid), text)
}

pub fn forget_process_group(pgid: i32) {
    let _ = std::fs::remove_file(group_marker(&state_dir(), pgid));
}

/// A group marker's owning run and the leader it names (`None` for a marker written before leaders were
/// recorded: nothing proves its group is still the one that run started).
fn read_group_marker(text: &str) -> (Option<u32>, Option<Leader>) {
    let value = |key: &str| text.lines().find_map(|l| l.strip_prefix(key));
    let owner = value("pid=").and_then(|p| p.trim().parse().ok());
    let leader = (|| {
        Some(Leader {
            boot_id: value("boot_id=")?.trim().to_owned(),
            start_time: value("start_time=")?.trim().parse().ok()?,
            command: text
                .lines()
                .filter_map(|l| l.strip_prefix("arg="))
                .map(str::to_owned)
                .collect(),
        })
    })();
    (owner, leader)
}

/// Why group `pgid` is not the one `leader` names, or `None` when boot, leader start time and command all
/// match (only then may the group be killed); a leader that `retitles` itself is matched by its program.
fn not_the_group(pgid: i32, leader: Option<&Leader>, retitles: bool) -> Option<String> {
    let Some(leader) = leader else {
        return Some("its marker does not say which process led it".into());
    };
    if boot_id().as_deref() != Some(leader.boot_id.as_str()) {
        return Some("its marker is from before the machine restarted".into());
    }
    let Some((pgrp, start_time)) = group_and_start_time(pgid) else {
        return Some("its leader has exited, so nothing proves the group is the run's".into());
    };
    if pgrp != pgid || start_time != leader.start_time {
        return Some("its id now belongs to another process (a different start time)".into());
    }
    let program = |args: &[String]| {
        let first = args
            .first()
            .map(|a| a.split(' ').next().unwrap_or(a))
            .unwrap_or_default();
        first.rsplit('/').next().unwrap_or(first).to_owned()
    };
    let same = command_line(pgid).is_some_and(|now| match retitles {
        true => program(&now) == program(&leader.command),
        false => runs_command(&now, &leader.command),
    });
    if !same {
        return Some("its leader runs another command".into());
    }
    None
}

/// Ends the app process groups of earlier runs that are gone (SIGKILLed: nothing of theirs could run), and
/// says which it ended. A group is ended only when it is provably the one the run started ([`Leader`]).
pub fn end_groups_of_dead_runs() -> Vec<String> {
    end_groups_in(&state_dir())
}

fn end_groups_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ended = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pgid) = name.strip_prefix("app-group-").and_then(|g| g.parse::<i32>().ok()) else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let (owner, leader) = read_group_marker(&text);
        // Markers written before `what=` existed were all apps'.
        let what = text
            .lines()
            .find_map(|l| l.strip_prefix("what="))
            .unwrap_or("apps")
            .trim();
        let alive =
            owner.is_some_and(|pid| pid == std::process::id() || PathBuf::from(format!("/proc/{pid}")).exists());
        if alive {
            continue;
        }
        let group = Pid::from_raw(pgid);
        let exists = pgid > 1 && killpg(group, None).is_ok();
        match not_the_group(pgid, leader.as_ref(), what == REDIS_SERVER) {
            None if killpg(group, Signal::SIGKILL).is_ok() => ended.push(format!(
                "ended the {what} an earlier resilience-tui run left running (process group {pgid})"
            )),
            Some(why) if exists => tracing::warn!(
                "left process group {pgid} alone although {} names it: {why}",
                entry.path().display()
            ),
            _ => {}
        }
        let _ = std::fs::remove_file(entry.path());
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sleep` leading its own process group, as an app's command does, once its exec has set its command
    /// line (`spawn` returns when the exec has begun, before the new program's arguments are in place).
    fn group_of_its_own() -> std::process::Child {
        use std::os::unix::process::CommandExt as _;
        let child = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while command_line(child.id() as i32).unwrap_or_default().is_empty() {
            assert!(std::time::Instant::now() < deadline, "sleep never got its command line");
            std::thread::yield_now();
        }
        child
    }

    /// A run that no longer exists (pids are below 2^22 on Linux).
    const GONE: u32 = 4194305;

    #[test]
    fn the_apps_a_killed_run_left_are_ended_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let mut orphan = group_of_its_own();
        let pgid = orphan.id() as i32;
        // Its run noted it, then was SIGKILLed, so the group is the next run's to end.
        let command = ["sleep".to_owned(), "60".to_owned()];
        write_group_marker(dir.path(), pgid, GONE, &command, "apps").unwrap();
        // A group of a run still alive (this one) is left alone.
        std::fs::write(dir.path().join("app-group-1"), format!("pid={}\n", std::process::id())).unwrap();
        let ended = end_groups_in(dir.path());
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert!(ended[0].contains(&format!("process group {pgid}")), "{ended:?}");
        let status = orphan.wait().unwrap();
        assert!(!status.success(), "killed: {status:?}");
        assert!(
            !dir.path().join(format!("app-group-{pgid}")).exists(),
            "its marker is gone"
        );
        assert!(dir.path().join("app-group-1").exists(), "a live run's marker stays");
    }

    #[test]
    fn a_forged_or_stale_marker_leaves_a_live_unrelated_group_alone() {
        let mut unrelated = group_of_its_own();
        let pgid = unrelated.id() as i32;
        let (boot, start) = (boot_id().unwrap(), group_and_start_time(pgid).unwrap().1);
        let forgeries = [
            ("no leader recorded (an old marker)", format!("pid={GONE}\n")),
            (
                "another boot",
                format!(
                    "pid={GONE}\nboot_id=00000000-0000-0000-0000-000000000000\nstart_time={start}\narg=sleep\narg=60\n"
                ),
            ),
            (
                "another start time (the group id reused)",
                format!(
                    "pid={GONE}\nboot_id={boot}\nstart_time={}\narg=sleep\narg=60\n",
                    start + 1
                ),
            ),
            (
                "another command",
                format!("pid={GONE}\nboot_id={boot}\nstart_time={start}\narg=python3\narg=app.py\n"),
            ),
        ];
        for (forgery, text) in forgeries {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("app-group-{pgid}"));
            std::fs::write(&path, text).unwrap();
            assert_eq!(end_groups_in(dir.path()), Vec::<String>::new(), "{forgery}");
            assert!(
                unrelated.try_wait().unwrap().is_none(),
                "{forgery}: the group was killed"
            );
            assert!(!path.exists(), "{forgery}: the stale marker is removed");
        }
        unrelated.kill().unwrap();
        unrelated.wait().unwrap();
    }

    #[test]
    fn the_leader_s_command_line_matches_the_app_s_command_however_it_was_started() {
        let cmd = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let command = cmd("run.sh --port 3000");
        for now in [
            "sh -c exec \"$@\" sh run.sh --port 3000",     // the launcher before its exec
            "run.sh --port 3000",                          // exec'd
            "/bin/bash /usr/local/bin/run.sh --port 3000", // a script found on PATH, under its interpreter
        ] {
            assert!(runs_command(&cmd(now), &command), "{now}");
        }
        for now in ["run.sh --port 3001", "other.sh --port 3000", "3000", ""] {
            assert!(!runs_command(&cmd(now), &command), "{now}");
        }
        assert!(!runs_command(&cmd("sleep 60"), &[]), "an empty command matches nothing");
    }

    /// The state dir is read from the environment, which this process's other tests read too (and
    /// `set_var` while another thread reads it is undefined behaviour): the test runs again in a child
    /// process of this test binary, filtered to itself, with the variable in the child's environment only.
    #[test]
    fn a_marker_of_a_dead_run_is_found_and_cleared() {
        const NAME: &str = "leftover::tests::a_marker_of_a_dead_run_is_found_and_cleared";
        const CHILD: &str = "RESILIENCE_TUI_TEST_LEFTOVER_CHILD";
        if std::env::var_os(CHILD).is_some() {
            return markers_in_the_state_dir_of_this_process();
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads", "1"])
            .env("RESILIENCE_TUI_STATE_DIR", dir.path())
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "the child run failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn markers_in_the_state_dir_of_this_process() {
        assert_eq!(left_stopped_by_dead_run("c1"), None, "no marker");
        note_stopping("c1");
        assert_eq!(left_stopped_by_dead_run("c1"), None, "this run is alive");
        std::fs::write(marker("c1"), format!("pid={GONE}\ncontainer=c1\n")).unwrap();
        assert_eq!(left_stopped_by_dead_run("c1"), Some(GONE));
        note_started("c1");
        assert_eq!(left_stopped_by_dead_run("c1"), None, "cleared");
        assert!(marker("a/b").file_name().unwrap().to_str().unwrap().ends_with("a_b"));
    }
}
