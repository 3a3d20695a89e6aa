//! The real binary under tmux, as a person sees it: `send-keys` types, `capture-pane` reads the screen.

use std::process::Command;
use std::time::{Duration, Instant};

/// tmux, installed from Debian's packages when missing (CI runs as root).
pub fn tmux() -> &'static str {
    super::ensure_installed("tmux", "tmux");
    "tmux"
}

pub struct Session(pub String);

impl Session {
    pub fn screen(&self) -> String {
        let out = Command::new(tmux())
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &str) {
        assert!(
            Command::new(tmux())
                .args(["send-keys", "-t", &self.0, keys])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits until the screen satisfies `ok`, or fails with the last screen.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_up_to(15, what, ok)
    }

    /// [`Session::wait_for`] with a longer bound, for a story told at the quickstart's own pace (5s retries).
    pub fn wait_up_to(&self, secs: u64, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new(tmux()).args(["kill-session", "-t", &self.0]).status();
    }
}

impl Session {
    /// Starts `command` (a shell command line) in a detached tmux session of `cols` x `rows`, named `name`
    /// and a number of its own (the tests share one process, so one name may be asked for twice).
    pub fn start(name: &str, cols: u16, rows: u16, command: &str) -> Session {
        use std::sync::atomic::{AtomicU32, Ordering};
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let name = format!("{name}-{}", STARTED.fetch_add(1, Ordering::Relaxed));
        let new_session = || {
            Command::new(tmux())
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &name,
                    "-x",
                    &cols.to_string(),
                    "-y",
                    &rows.to_string(),
                ])
                .arg(command)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .unwrap()
        };
        // Two clients that both find no tmux server both start one, and one of them may fail: once more.
        let out = match new_session() {
            out if out.status.success() => out,
            _ => new_session(),
        };
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Session(name)
    }
}
