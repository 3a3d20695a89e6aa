//! An app of a run template, as a real process, started the way the Dapr CLI starts it (dapr/cli
//! `cmd/run.go`): `sh -c 'exec "$@"' sh <command…>` in its own process group, in its `appDirPath`, with the
//! CLI's environment. Its stdout and stderr, line by line, are the app's events. Stopping it is the CLI's:
//! SIGTERM to the group, SIGKILL after 5 s (`cmd/run_unix.go` killProcessGroup); pausing it is SIGSTOP and
//! SIGCONT to the group. Dropping it kills the group, so no process outlives the run, a panic included.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{Mutex, watch};

use crate::event::{AppEvent, EventBus};

/// How long a stopped app has after SIGTERM before SIGKILL (the Dapr CLI's 5 s).
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How to run one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    pub app_id: String,
    pub dir: PathBuf,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
}

struct Running {
    group: Pid,
    /// Becomes true when the process has exited.
    exited: watch::Receiver<bool>,
}

pub struct AppProcess {
    spec: ProcessSpec,
    app_id: Arc<str>,
    bus: EventBus,
    running: Mutex<Option<Running>>,
    /// The group of the process running now, for `Drop` (which cannot wait for the async lock).
    group: std::sync::Mutex<Option<Pid>>,
}

impl AppProcess {
    pub fn new(spec: ProcessSpec, bus: EventBus) -> Self {
        let app_id = spec.app_id.as_str().into();
        Self {
            spec,
            app_id,
            bus,
            running: Mutex::new(None),
            group: std::sync::Mutex::new(None),
        }
    }

    pub fn app_id(&self) -> &Arc<str> {
        &self.app_id
    }

    /// Starts the command (again); nothing when it runs.
    pub async fn start(&self) -> std::io::Result<()> {
        let mut running = self.running.lock().await;
        if running.as_ref().is_some_and(|r| !*r.exited.borrow()) {
            return Ok(());
        }
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg("exec \"$@\"")
            .arg("sh")
            .args(&self.spec.command)
            .current_dir(&self.spec.dir)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw);
        let Some(group) = pid else {
            return Err(std::io::Error::other("the app exited as it started"));
        };
        crate::leftover::note_process_group(group.as_raw(), &self.spec.command);
        *self.group.lock().unwrap_or_else(|p| p.into_inner()) = Some(group);
        if let Some(out) = child.stdout.take() {
            tokio::spawn(lines(out, self.app_id.clone(), self.bus.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(lines(err, self.app_id.clone(), self.bus.clone()));
        }
        let (tx, exited) = watch::channel(false);
        let (app_id, bus) = (self.app_id.clone(), self.bus.clone());
        tokio::spawn(async move {
            let status = child.wait().await.ok();
            bus.app(
                &app_id,
                AppEvent::Exited {
                    code: status.and_then(|s| s.code()),
                },
            );
            let _ = tx.send(true);
        });
        *running = Some(Running { group, exited });
        Ok(())
    }

    /// SIGTERM to the group, SIGKILL if it has not exited after [`STOP_GRACE`].
    pub async fn stop(&self) {
        let Some(mut run) = self.running.lock().await.take() else {
            return;
        };
        let _ = killpg(run.group, Signal::SIGCONT); // a paused app could not act on the SIGTERM
        let _ = killpg(run.group, Signal::SIGTERM);
        let in_time = tokio::time::timeout(STOP_GRACE, run.exited.wait_for(|e| *e))
            .await
            .is_ok();
        if !in_time {
            let _ = killpg(run.group, Signal::SIGKILL);
            let _ = run.exited.wait_for(|e| *e).await;
        }
        // The group may hold children that outlived the shell's exec'd command.
        let _ = killpg(run.group, Signal::SIGKILL);
        crate::leftover::forget_process_group(run.group.as_raw());
        *self.group.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// SIGSTOP (`paused`) or SIGCONT to the group: a paused app holds its connections and answers nothing.
    pub async fn set_paused(&self, paused: bool) -> std::io::Result<()> {
        let running = self.running.lock().await;
        let Some(run) = running.as_ref() else {
            return Err(std::io::Error::other(format!("{} is not running", self.app_id)));
        };
        let signal = if paused { Signal::SIGSTOP } else { Signal::SIGCONT };
        killpg(run.group, signal).map_err(std::io::Error::from)
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        if let Some(group) = self.group.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = killpg(group, Signal::SIGKILL);
            crate::leftover::forget_process_group(group.as_raw());
        }
    }
}

/// Each line the app writes, as an event (`== APP - <appID> == <line>` headless).
async fn lines(stream: impl AsyncRead + Unpin, app_id: Arc<str>, bus: EventBus) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        bus.app(
            &app_id,
            AppEvent::Output {
                line: without_ansi(&line),
            },
        );
    }
}

/// `line` without terminal escape sequences (colors): a pane cannot show them, and the Dapr CLI strips them
/// from its log files too (`pkg/print/print.go`).
fn without_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // CSI: parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn colors_are_taken_out_of_an_app_s_lines() {
        let flask = "\u{1b}[31m\u{1b}[1mWARNING: This is a development server.\u{1b}[0m";
        assert_eq!(super::without_ansi(flask), "WARNING: This is a development server.");
        assert_eq!(super::without_ansi("plain"), "plain");
    }
}
