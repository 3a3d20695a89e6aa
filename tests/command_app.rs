//! A scenario file may declare an app as a `command` (a lesson's own small app): a real process with its own
//! sidecar, its lines as events, and the process faults on it. Here a Python standard-library order-processor,
//! paused (SIGSTOP to its group) for three seconds: the order in flight waits, and arrives when it goes on.

use crate::common;

use std::process::Command;

const SERVER: &str = r#"
import http.server, os, sys
class Orders(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['content-length']))
        print('got ' + body.decode(), flush=True)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(('127.0.0.1', int(os.environ['APP_PORT'])), Orders).serve_forever()
"#;

#[test]
fn a_command_app_is_a_real_process_with_its_own_sidecar_and_faults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("my-processor")).unwrap();
    std::fs::write(dir.path().join("my-processor/server.py"), SERVER).unwrap();
    let marker = format!("rtui-command-app-{}", std::process::id());
    let resources = concat!(env!("CARGO_MANIFEST_DIR"), "/resources/no-resiliency");
    let port = common::free_port;
    let scenario = format!(
        "name: mine\ntitle: mine\nsummary: s\nresources: {resources}\napps:\n  checkout: {{kind: checkout, daprHttpPort: {}, target: my-processor}}\n  my-processor:\n    kind: command\n    command: [python3, server.py, {marker}]\n    dir: my-processor\n    appPort: {}\n    daprHttpPort: {}\nfaults:\n  - {{name: freeze, key: p, action: pause-app, app: my-processor}}\n",
        port(),
        port(),
        port()
    );
    std::fs::write(dir.path().join("mine.yaml"), scenario).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .arg("scenario")
        .arg(dir.path().join("mine.yaml"))
        .args(["--headless", "--output", "jsonl", "--order-interval", "200ms"])
        .args(["--fault-at", "2s", "--clear-at", "5s", "--duration", "7s"])
        .args(["--metrics-port", &format!("checkout={}", port())])
        .args(["--metrics-port", &format!("my-processor={}", port())])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let got: Vec<f64> = lines
        .iter()
        .filter(|l| l["kind"] == "app_output" && l["source"] == "my-processor")
        .filter(|l| l["line"].as_str().unwrap().starts_with("got {\"orderId\":"))
        .map(|l| l["t"].as_f64().unwrap())
        .collect();
    // The pause as it happened (the fault's own events), not as scheduled: a loaded machine fires timers late.
    let at = |kind: &str| {
        let event = lines
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {stdout}"));
        (event["t"].as_f64().unwrap(), event.clone())
    };
    let ((paused, injected), (resumed, _)) = (at("fault_injected"), at("fault_cleared"));
    assert!(
        injected["description"]
            .as_str()
            .unwrap()
            .starts_with("pause my-processor (SIGSTOP"),
        "{injected}"
    );
    assert!(got.iter().any(|t| *t < paused), "orders before the pause: {stdout}");
    // An order already on its way may land just as the SIGSTOP comes; after that, nothing until SIGCONT.
    let during: Vec<&f64> = got.iter().filter(|t| **t > paused + 0.1 && **t < resumed).collect();
    assert!(
        during.is_empty(),
        "nothing while paused ({paused}..{resumed}): {during:?}"
    );
    assert!(
        got.iter().any(|t| *t >= resumed),
        "the held order and the next after it: {got:?}"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["lost"].as_u64(), Some(0), "{summary}");
    // No policy here: an order sent before the process listened fails; none after.
    let listening = got[0];
    let late_failures = lines
        .iter()
        .filter(|l| l["kind"] == "order_failed" && l["t"].as_f64().unwrap() > listening)
        .count();
    assert_eq!(
        late_failures, 0,
        "the pause holds orders, it does not fail them: {stdout}"
    );
    // The check below can see a process by its marker (it would otherwise prove nothing).
    let mut probe = Command::new("sh").args(["-c", "sleep 30", &marker]).spawn().unwrap();
    // Until it has exec'd, the child shows its parent's command line, and a shell may fork before its exec:
    // wait until the marker names the probe alone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while common::processes_with(&marker) != [probe.id()] && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(common::processes_with(&marker), [probe.id()]);
    probe.kill().unwrap();
    probe.wait().unwrap();
    let left = common::processes_with(&marker);
    assert!(left.is_empty(), "left running: {left:?}");
}

/// `run -f`: a sidecar whose template gives no `metricsPort` serves its metrics on a free random port, as the
/// Dapr CLI picks one, and its app is told which in `DAPR_METRICS_PORT`; a template's `metricsPort` is used.
#[test]
fn a_template_app_is_told_its_sidecar_s_metrics_port() {
    const PROBE: &str = "import os, urllib.request\np = os.environ['DAPR_METRICS_PORT']\nstatus = urllib.request.urlopen('http://127.0.0.1:' + p + '/metrics').status\nprint('metrics', p, status, flush=True)\n";
    let dir = tempfile::tempdir().unwrap();
    for app in ["random", "fixed"] {
        std::fs::create_dir_all(dir.path().join(app)).unwrap();
        std::fs::write(dir.path().join(app).join("probe.py"), PROBE).unwrap();
    }
    let fixed = common::free_port();
    let template = format!(
        "version: 1\napps:\n  - appDirPath: random\n    command: [python3, probe.py]\n  - appDirPath: fixed\n    metricsPort: {fixed}\n    command: [python3, probe.py]\n"
    );
    std::fs::write(dir.path().join("dapr.yaml"), template).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .args(["run", "-f"])
        .arg(dir.path())
        .args(["--headless", "--output", "jsonl", "--duration", "3s"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let said = |app: &str| -> Vec<String> {
        stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect(l))
            .filter(|l| l["kind"] == "app_output" && l["source"] == app)
            .filter_map(|l| l["line"].as_str()?.strip_prefix("metrics ").map(str::to_string))
            .collect()
    };
    let random = said("random");
    let [line] = random.as_slice() else {
        panic!("one line from random: {stdout}\n{stderr}")
    };
    let (port, served) = line.split_once(' ').unwrap();
    assert_eq!(served, "200", "its sidecar serves metrics there: {line}");
    assert!(
        !["9090", "9091"].contains(&port),
        "a free random port, not daprd's default: {port}"
    );
    assert_eq!(said("fixed"), [format!("{fixed} 200")], "{stdout}");
}
