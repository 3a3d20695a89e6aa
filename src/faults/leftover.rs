//! Faults a run could not clear because it was killed (SIGKILL cannot be caught): before stopping a Docker
//! container the tool leaves a marker naming it, and removes the marker once it has started the container
//! again. The next run that finds a marker whose run is gone, and the container still stopped, says so and
//! starts it: the user gets their `dapr_redis` back. A marker whose container is running is stale and removed.
//!
//! The process groups a run starts (a run template's apps, a redis-server) are noted the same way
//! (`app-group-<pgid>`, with `what=` naming them): the next run ends the groups of a run that is gone.
//!
//! Markers live in `$XDG_STATE_HOME/resilience-tui` (else `~/.local/state/resilience-tui`, else the temp dir).
//! `RESILIENCE_TUI_STATE_DIR` overrides it (tests use their own).

use std::path::PathBuf;

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

/// Where this run's app process groups are listed: `app-group-<pgid>` files naming the run's pid.
fn group_marker(pgid: i32) -> PathBuf {
    state_dir().join(format!("app-group-{pgid}"))
}

/// Notes that this run started an app in process group `pgid` (so a SIGKILLed run's apps can be ended).
pub fn note_process_group(pgid: i32) {
    note_group(pgid, "apps");
}

/// Notes that this run started a redis-server in process group `pgid` (ended like the apps' groups).
pub fn note_redis_server_group(pgid: i32) {
    note_group(pgid, "redis-server");
}

/// `what` names the group's processes in the message of the run that ends them.
fn note_group(pgid: i32, what: &str) {
    let text = format!("pid={}\nwhat={what}\n", std::process::id());
    let written = std::fs::create_dir_all(state_dir()).and_then(|()| std::fs::write(group_marker(pgid), text));
    if let Err(e) = written {
        tracing::warn!("cannot note the {what} process group {pgid}: {e}; a killed run's {what} could not be found");
    }
}

pub fn forget_process_group(pgid: i32) {
    let _ = std::fs::remove_file(group_marker(pgid));
}

/// Ends the app process groups of earlier runs that are gone (SIGKILLed: nothing of theirs could run), and
/// says which it ended.
pub fn end_groups_of_dead_runs() -> Vec<String> {
    end_groups_in(&state_dir())
}

fn end_groups_in(dir: &std::path::Path) -> Vec<String> {
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
        let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
        let owner = field("pid=").and_then(|p| p.parse::<u32>().ok());
        // Markers written before `what=` existed were all apps'.
        let what = field("what=").unwrap_or("apps");
        let alive =
            owner.is_some_and(|pid| pid == std::process::id() || PathBuf::from(format!("/proc/{pid}")).exists());
        if alive {
            continue;
        }
        let group = nix::unistd::Pid::from_raw(pgid);
        if nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).is_ok() {
            ended.push(format!(
                "ended the {what} an earlier resilience-tui run left running (process group {pgid})"
            ));
        }
        let _ = std::fs::remove_file(entry.path());
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apps_a_killed_run_left_are_ended_by_the_next() {
        use std::os::unix::process::CommandExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mut orphan = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = orphan.id();
        // Its run was SIGKILLed (a pid that no longer exists), so the group is the next run's to end.
        std::fs::write(dir.path().join(format!("app-group-{pgid}")), "pid=4194305\n").unwrap();
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
    fn a_marker_of_a_dead_run_is_found_and_cleared() {
        let dir = std::env::temp_dir().join(format!("rtui-leftover-{}", std::process::id()));
        // Safe here: this test binary's other tests do not read this variable.
        unsafe { std::env::set_var("RESILIENCE_TUI_STATE_DIR", &dir) };
        assert_eq!(left_stopped_by_dead_run("c1"), None, "no marker");
        note_stopping("c1");
        assert_eq!(left_stopped_by_dead_run("c1"), None, "this run is alive");
        // A run that no longer exists (pids are below 2^22 on Linux).
        std::fs::write(marker("c1"), "pid=4194305\ncontainer=c1\n").unwrap();
        assert_eq!(left_stopped_by_dead_run("c1"), Some(4194305));
        note_started("c1");
        assert_eq!(left_stopped_by_dead_run("c1"), None, "cleared");
        assert!(marker("a/b").file_name().unwrap().to_str().unwrap().ends_with("a_b"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
