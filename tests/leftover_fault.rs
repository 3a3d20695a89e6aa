//! SIGKILL cannot be handled, so a run killed while its Docker fault is injected leaves the container stopped.
//! The next run finds it (the marker the first one left), says so, and starts the container again. Against a
//! real container of the test's own; the real binary is killed with SIGKILL.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RESOURCES: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: "HOST"}
"#;

fn run(state_dir: &std::path::Path, resources: &std::path::Path, container: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resilience-tui"));
    cmd.args(["scenario", "state-management", "--headless", "--state-store", "docker"])
        .args(["--redis-container", container, "--resources-path"])
        .arg(resources)
        .args(["--dapr-http-port", &format!("order-processor={}", common::free_port())])
        .args(["--metrics-port", &format!("order-processor={}", common::free_port())])
        .args(extra)
        .env("RESILIENCE_TUI_STATE_DIR", state_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn a_container_left_stopped_by_a_killed_run_is_started_by_the_next() {
    let container = common::docker::RedisContainer::create();
    let dir = common::temp_dir("leftover");
    let (state_dir, resources) = (dir.join("state"), dir.join("resources"));
    std::fs::create_dir_all(&resources).unwrap();
    let host = format!("127.0.0.1:{}", container.port);
    std::fs::write(resources.join("statestore.yaml"), RESOURCES.replace("HOST", &host)).unwrap();

    // First run: inject the fault, then die without a chance to clear it.
    let mut first = run(
        &state_dir,
        &resources,
        &container.name,
        &["--fault-at", "300ms", "--duration", "60s"],
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let injected = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("== FAULT ==") && l.contains("injected"));
    assert!(
        injected && Instant::now() < deadline,
        "the first run never injected its fault"
    );
    // SIGKILL: no handler runs, nothing is cleared.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!container.running(), "the killed run left the container stopped");

    // Second run: finds the leftover, says so, starts the container.
    let second = run(&state_dir, &resources, &container.name, &["--duration", "1s"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        out.contains(&format!(
            "{} was left stopped by an earlier resilience-tui run",
            container.name
        )),
        "{out}"
    );
    assert!(container.running(), "started again");
    assert!(
        std::fs::read_dir(&state_dir).map(|d| d.count()).unwrap_or(0) == 0,
        "the marker is gone"
    );
    let _ = std::fs::remove_dir_all(dir);
}
