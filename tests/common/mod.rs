//! Helpers shared by the engine tests.
#![allow(dead_code)]

pub mod docker;
pub mod loader;
pub mod python;
pub mod state;
pub mod story;
pub mod tmux;
pub mod wait;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use resilience_tui::resiliency::breaker::{CircuitBreaker, CircuitBreakerPolicy};
use resilience_tui::resiliency::events::Recorder;
use resilience_tui::resiliency::trip::{Counts, TripExpr};
use resilience_tui::resiliency::{OperationError, ResiliencyEvent};

/// An operation's error, optionally carrying a status code (Dapr's `CodeError`) or marked permanent.
#[derive(Debug, Clone, PartialEq)]
pub struct OpError {
    pub code: Option<u16>,
    pub permanent: bool,
}

pub const REFUSED: OpError = OpError {
    code: None,
    permanent: false,
};

pub fn code(code: u16) -> OpError {
    OpError {
        code: Some(code),
        permanent: false,
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "status {c}"),
            None => f.write_str("connection refused"),
        }
    }
}

impl OperationError for OpError {
    fn status_code(&self) -> Option<u16> {
        self.code
    }
    fn is_permanent(&self) -> bool {
        self.permanent
    }
}

pub fn trip(expr: &str) -> TripExpr {
    TripExpr::compile(expr).expect("valid trip expression")
}

pub fn policy(max_requests: u32, interval_s: u64, timeout: Duration, trip_expr: &str) -> CircuitBreakerPolicy {
    CircuitBreakerPolicy {
        max_requests,
        interval: Duration::from_secs(interval_s),
        timeout,
        trip: trip(trip_expr),
    }
}

pub fn breaker(policy: CircuitBreakerPolicy) -> (CircuitBreaker, Arc<Recorder>) {
    let recorder = Recorder::new();
    (
        CircuitBreaker::new("test", Arc::new(policy), recorder.clone()),
        recorder,
    )
}

/// `(requests, totalSuccesses, totalFailures, consecutiveSuccesses, consecutiveFailures)`.
pub fn counts(b: &CircuitBreaker) -> (u32, u32, u32, u32, u32) {
    let Counts {
        requests,
        total_successes,
        total_failures,
        consecutive_successes,
        consecutive_failures,
    } = b.snapshot().counts;
    (
        requests,
        total_successes,
        total_failures,
        consecutive_successes,
        consecutive_failures,
    )
}

/// Runs one attempt through the breaker directly.
pub fn call(b: &CircuitBreaker, success: bool) -> Result<(), resilience_tui::resiliency::events::Rejection> {
    b.admit().map(|a| a.complete(success))
}

/// Every breaker transition recorded, as `"from->to"`.
pub fn transitions(r: &Recorder) -> Vec<String> {
    r.events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            ResiliencyEvent::BreakerStateChanged { from, to, .. } => Some(format!("{from}->{to}")),
            _ => None,
        })
        .collect()
}

/// A loopback port that was free a moment ago (the OS picks it).
///
/// Taken below Linux's ephemeral range (32768-60999): a port the OS hands out for `:0` is soon handed out
/// again as the source port of some test's outgoing connection, and a run that binds it later finds it taken.
/// Each test process starts at its own offset and counts up, skipping ports that are bound now.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    const LOW: u16 = 20_000;
    const SPAN: u16 = 12_000;
    let start = (std::process::id() % 300) as u16 * 40;
    for _ in 0..SPAN {
        let offset = (start + NEXT.fetch_add(1, Ordering::SeqCst)) % SPAN;
        let port = LOW + offset;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {LOW} and {}", LOW + SPAN);
}

/// A real `redis-server` (Debian's package, installed with apt-get when missing) on a free loopback port,
/// without persistence; killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: std::process::Child,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        Self::start_with(port, &[])
    }

    /// A redis-server with extra arguments, e.g. `["--requirepass", "secret"]`.
    pub fn start_with(port: u16, extra: &[&str]) -> Self {
        use std::process::{Command, Stdio};
        ensure_installed("redis-server", "redis-server");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        RedisServer { port, child }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: it keeps its connections and answers nothing.
    #[allow(dead_code)]
    pub fn set_paused(&self, paused: bool) {
        use nix::sys::signal::{Signal, kill};
        let signal = if paused { Signal::SIGSTOP } else { Signal::SIGCONT };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("a pid"));
        kill(pid, signal).expect("redis-server is signalled");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes sure `binary` runs, installing Debian's `package` when it does not (CI machines are fresh; the package
/// lists may be empty until `apt-get update`). Fails the test with what to do when that is not possible.
pub fn ensure_installed(binary: &str, package: &str) {
    use std::process::{Command, Stdio};
    // Tests run in parallel; dpkg allows one install at a time.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let found =
        || Command::new(binary).arg("-V").output().is_ok() || Command::new(binary).arg("--version").output().is_ok();
    if found() {
        return;
    }
    let install = || {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300", "update", "-qq"])
            .stdout(Stdio::null())
            .status();
        install();
    }
    assert!(
        found(),
        "{binary} is needed for this test and could not be installed: apt-get update && apt-get install {package}"
    );
}

/// Options for a test sidecar on a free loopback port.
pub fn sidecar_options(app_id: &str, api_token: Option<&str>) -> resilience_tui::sidecar::SidecarOptions {
    resilience_tui::sidecar::SidecarOptions {
        app_id: app_id.into(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], free_port())),
        port_flag: format!("--dapr-http-port {app_id}=PORT"),
        grpc_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        grpc_port_chosen: true,
        app_port: None,
        api_token: api_token.map(str::to_string),
        max_body_bytes: 1 << 20,
        metrics: None,
    }
}

/// Runs `f` on a thread of its own and fails the test when it has not finished within `bound`: a hang guard
/// that works for a real hang (a check of the elapsed time after the call would never be reached).
pub fn finishes_within<T: Send + 'static>(bound: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(bound) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("{what} did not finish within {bound:?}: it hangs"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what} panicked (see above)"),
    }
}

/// A new folder with an unpredictable name under the temp dir, kept after the test (its files help when a
/// test fails); `tag` makes it recognizable.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("resilience-tui-{tag}-"))
        .tempdir()
        .expect("a temp dir")
        .keep()
}

/// The processes whose command line holds `marker` (read from /proc: no `pgrep` needed on a fresh machine).
pub fn processes_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
        })
        .collect()
}

/// Starts the scenario `make` builds, built again (with new `free_port`s) when a port was taken between
/// `free_port`'s check and the run's bind, as another test process may do: the scenario API takes port
/// numbers, not listeners.
pub async fn start_on_free_ports(
    make: impl Fn() -> resilience_tui::scenario::Scenario,
    opts: &resilience_tui::lifecycle::RunOptions,
) -> (resilience_tui::lifecycle::Running, resilience_tui::event::Events) {
    for _ in 0..3 {
        match resilience_tui::lifecycle::start(make(), opts).await {
            Ok(started) => return started,
            Err(e) if format!("{e:#}").contains("is already in use") => continue,
            Err(e) => panic!("the scenario does not start: {e:#}"),
        }
    }
    panic!("three starts in a row found a port taken");
}
