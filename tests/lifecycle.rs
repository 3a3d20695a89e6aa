//! The one run lifecycle, through the real binary: a reader that does not read, a reader that goes away, and
//! q pressed while a Docker fault is being injected. Every run must end the same way: faults cleared, the
//! summary printed, nothing lost, no panic.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::free_port;
use resilience_tui::event::ROUTINE_HELD;

/// The service-invoke scenario headless on free ports; returns it, checkout's sidecar port and its metrics port.
fn service_invoke(extra: &[&str]) -> (Command, u16, u16) {
    let (sidecar, metrics) = (free_port(), free_port());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resilience-tui"));
    cmd.args(["scenario", "service-invoke", "--headless"])
        .args(["--dapr-http-port", &format!("checkout={sidecar}")])
        .args(["--dapr-http-port", &format!("order-processor={}", free_port())])
        .args(["--app-port", &format!("order-processor={}", free_port())])
        .args(["--metrics-port", &format!("checkout={metrics}")])
        .args(["--metrics-port", &format!("order-processor={}", free_port())])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    (cmd, sidecar, metrics)
}

/// Waits for the child to exit (a hang guard, not a timing assertion).
fn wait(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}: the run never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reader_that_does_not_read_neither_stalls_the_run_nor_loses_news() {
    // Hundreds of orders a second: far more output than a pipe holds, and more routine events than the bus
    // keeps (ROUTINE_HELD, some four a call). The run ends (SIGTERM) once checkout's sidecar has served three
    // times that many calls, whatever the machine's speed.
    let (mut cmd, sidecar, metrics) = service_invoke(&["--order-interval", "2ms", "--duration", "300s"]);
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // First the sidecar serves, then the run ends and stops it, all while nobody reads stdout.
    let deadline = Instant::now() + Duration::from_secs(120);
    let serving = || std::net::TcpStream::connect(("127.0.0.1", sidecar)).is_ok();
    while served_calls(metrics) < 3 * ROUTINE_HELD as u64 / 4 {
        assert!(Instant::now() < deadline, "the sidecar never served enough calls");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    while serving() {
        assert!(
            Instant::now() < deadline,
            "the run did not shut down while stdout was blocked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "it waits for stdout to drain before exiting"
    );
    let mut out = String::new();
    stdout.read_to_string(&mut out).unwrap();
    let status = wait(&mut child, "draining");
    assert!(status.success(), "{status:?}\n{}", tail(&out));
    let passed: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("== APP - checkout == Order passed: {\"orderId\":"))
        .map(|rest| rest.trim_end_matches('}').parse().unwrap())
        .collect();
    assert!(passed.len() > 100, "{}", tail(&out));
    assert_eq!(
        passed,
        (1..=passed.len() as u64).collect::<Vec<_>>(),
        "every order, in order"
    );
    assert!(out.contains("lost 0, duplicated 0"), "{}", tail(&out));
    assert!(
        out.contains("routine events dropped: the output could not keep up"),
        "{}",
        tail(&out)
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly_with_its_fault_cleared() {
    let (mut cmd, _, _) = service_invoke(&["--fault-at", "0s", "--duration", "60s"]);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let injected = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("injected: stop order-processor"));
    assert!(injected, "the fault was injected");
    drop(lines); // `| head`: the reader is gone
    let status = wait(&mut child, "a closed stdout");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "exit 0 for a closed stdout: {status:?}\n{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    assert!(!err.contains("still in effect"), "the fault was cleared: {err}");
}

/// The calls checkout's sidecar has answered so far, from its metrics (0 while it does not answer).
fn served_calls(metrics_port: u16) -> u64 {
    use std::io::Write;
    let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", metrics_port)) else {
        return 0;
    };
    let _ = conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut text = String::new();
    let _ = conn.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with("dapr_http_server_request_count{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

const STATESTORE: &str = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: statestore}\nspec:\n  type: state.redis\n  version: v1\n  metadata:\n  - {name: redisHost, value: \"HOST\"}\n";

/// q right after r, while `docker stop` is still in flight: the container is running afterwards, every time.
#[test]
fn q_during_a_docker_injection_leaves_the_container_running() {
    let container = common::docker::RedisContainer::create();
    let dir = tempfile::tempdir().unwrap();
    let resources = dir.path().join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    let host = format!("127.0.0.1:{}", container.port);
    std::fs::write(resources.join("statestore.yaml"), STATESTORE.replace("HOST", &host)).unwrap();
    for round in 0..3 {
        let command = format!(
            "RESILIENCE_TUI_STATE_DIR={} {} scenario state-management --state-store docker --redis-container {} --resources-path {} --dapr-http-port order-processor={} --metrics-port order-processor={}; echo EXIT=$?; sleep 30",
            dir.path().join("state").display(),
            env!("CARGO_BIN_EXE_resilience-tui"),
            container.name,
            resources.display(),
            free_port(),
            free_port(),
        );
        let name = format!("rtui-q-during-r-{}-{round}", std::process::id());
        let s = common::tmux::Session::start(&name, 100, 30, &command);
        s.wait_for("the UI", |sc| sc.contains("Saving Order"));
        s.keys("r");
        s.keys("q");
        let end = s.wait_for("the exit", |sc| sc.contains("EXIT="));
        assert!(end.contains("EXIT=0"), "round {round}:\n{end}");
        assert!(
            container.running(),
            "round {round}: the container runs after q during r:\n{end}"
        );
        assert!(!end.contains("still in effect"), "round {round}:\n{end}");
    }
}

/// `--record` with no terminal (CI, a script): the UI is drawn off-screen into the cast, which keeps its last
/// frame (it does not leave the alternate screen) and ends with the summary; the exit says where it is.
#[test]
fn a_recording_without_a_terminal_draws_the_ui_into_the_cast() {
    let dir = tempfile::tempdir().unwrap();
    let (resources, cast) = (dir.path().join("resources"), dir.path().join("demo.cast"));
    std::fs::create_dir_all(&resources).unwrap();
    let policy = "kind: Resiliency\nmetadata: {name: fast}\nscopes: [checkout]\nspec:\n  policies:\n    retries: {r: {duration: 300ms}}\n    circuitBreakers: {cb: {maxRequests: 1, timeout: 300ms, trip: consecutiveFailures >= 3}}\n  targets:\n    apps:\n      order-processor: {retry: r, circuitBreaker: cb}\n";
    std::fs::write(resources.join("resiliency.yaml"), policy).unwrap();
    let (cmd, _, _) = service_invoke(&["--order-interval", "100ms", "--fault-at", "300ms", "--clear-at", "2s"]);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| a != "--headless")
        .collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resilience-tui"));
    cmd.args(&args)
        .arg("--record")
        .arg(&cast)
        .arg("--resources-path")
        .arg(&resources)
        .stdin(Stdio::null())
        // Files, not pipes: nothing reads while the run goes on, and a full pipe would stall it.
        .stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
    // The run ends once the breaker's closing is in the cast (markers are written through at once), by SIGTERM
    // as a script would end it, rather than at a --duration the probe after the clear may not fit in.
    let mut child = cmd.spawn().unwrap();
    let closed = "\"m\",\"order-processor:orders: half-open -> closed\"";
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&cast).is_ok_and(|t| t.contains(closed)) {
        assert!(Instant::now() < deadline, "the breaker never closed in the cast");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = wait(&mut child, "the recording after SIGTERM");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (stdout, stderr) = (read("stdout"), read("stderr"));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("recorded {}", cast.display())) && stderr.contains(" KB"),
        "{stderr}"
    );
    assert!(stdout.contains("== SUMMARY =="), "{stdout}");
    let text = std::fs::read_to_string(&cast).unwrap();
    let events: Vec<serde_json::Value> = text.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    let output: String = events
        .iter()
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(
        output.contains("circuit breakers") && output.contains("CLOSED"),
        "the UI was drawn"
    );
    let markers: Vec<&str> = events
        .iter()
        .filter(|e| e[1] == "m")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(
        markers.contains(&"order-processor:orders: half-open -> closed"),
        "{markers:?}"
    );
    let last = events.last().unwrap()[2].as_str().unwrap();
    assert!(last.contains("== SUMMARY =="), "the cast ends with the summary: {last}");
    assert!(
        !output.contains("\u{1b}[?1049l"),
        "the last frame stays: the alternate screen is not left"
    );
}
