//! A `redis-server` the tool runs on a loopback port when Docker's `dapr_redis` is not used; the state store
//! fault stops and starts it.

use std::net::SocketAddr;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::Mutex;

/// Like `dapr_redis` it keeps Redis's default snapshots (in a private temporary folder, removed when this is
/// dropped), and it is stopped with SIGTERM so it saves them: an order saved before the stop is still there
/// after the start. The process is killed when this is dropped.
///
/// It runs in a process group of its own, as the apps do: a Ctrl-C in the terminal reaches the tool only, which
/// stops Redis in order; and the group is noted (`faults/leftover.rs`), so the next run ends a redis-server that
/// a SIGKILLed run left behind.
pub struct RedisServer {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Mutex<Option<tokio::process::Child>>,
}

/// The process group of a running child (its pid: it leads the group it was started in).
fn group_of(child: &tokio::process::Child) -> Option<Pid> {
    child.id().and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw)
}

impl RedisServer {
    /// Whether `redis-server` is on PATH.
    pub async fn available() -> bool {
        let probe = tokio::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .await;
        probe.is_ok_and(|o| o.status.success())
    }

    pub fn new(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self {
            addr,
            dir: tempfile::Builder::new().prefix("resilience-tui-redis-").tempdir()?,
            child: Mutex::new(None),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts it and waits (at most 5 s) until it accepts connections.
    pub async fn start(&self) -> std::io::Result<()> {
        let mut child = self.child.lock().await;
        if child.is_some() {
            return Ok(());
        }
        let command: Vec<String> = [
            "redis-server".to_string(),
            "--port".into(),
            self.addr.port().to_string(),
            "--bind".into(),
            self.addr.ip().to_string(),
            "--dir".into(),
            self.dir.path().display().to_string(),
        ]
        .into();
        let spawned = tokio::process::Command::new(&command[0])
            .args(&command[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        if let Some(group) = group_of(&spawned) {
            crate::leftover::note_redis_server_group(group.as_raw(), &command);
        }
        *child = Some(spawned);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::other(format!(
            "redis-server did not listen on {} within 5s",
            self.addr
        )))
    }

    /// SIGSTOP: the process is frozen, its connections held, nothing answered (callers' timeouts fire);
    /// SIGCONT (`paused` false) lets it go on.
    pub async fn set_paused(&self, paused: bool) -> std::io::Result<()> {
        let child = self.child.lock().await;
        let Some(pid) = child.as_ref().and_then(group_of) else {
            return Err(std::io::Error::other("redis-server is not running"));
        };
        let signal = if paused { Signal::SIGSTOP } else { Signal::SIGCONT };
        kill(pid, signal).map_err(std::io::Error::from)
    }

    /// SIGTERM (Redis saves its snapshot and exits), then SIGKILL if it has not exited within 3 s. A paused
    /// server is let go on first (SIGCONT), or the SIGTERM would wait.
    pub async fn stop(&self) {
        let Some(mut child) = self.child.lock().await.take() else {
            return;
        };
        let pid = group_of(&child);
        if let Some(pid) = pid {
            let _ = kill(pid, Signal::SIGCONT);
        }
        let exited = match pid {
            Some(pid) => {
                kill(pid, Signal::SIGTERM).is_ok()
                    && tokio::time::timeout(Duration::from_secs(3), child.wait()).await.is_ok()
            }
            None => false,
        };
        if !exited {
            let _ = child.kill().await;
        }
        if let Some(pid) = pid {
            crate::leftover::forget_process_group(pid.as_raw());
        }
    }
}

impl Drop for RedisServer {
    /// The child is killed as it drops (`kill_on_drop`); its group's marker goes with it.
    fn drop(&mut self) {
        if let Some(pid) = self.child.get_mut().as_ref().and_then(group_of) {
            crate::leftover::forget_process_group(pid.as_raw());
        }
    }
}
