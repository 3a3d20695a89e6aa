//! Your own apps under the tool, from Dapr's multi-app run template: an order-processor (Flask) and a checkout
//! (`requests`, the `dapr-app-id` header to `DAPR_HTTP_PORT`), written the way the quickstart's Python apps are,
//! run as real processes by `resilience-tui run -f` with the quickstart's layout and a short resiliency policy.
//! order-processor is stopped (SIGTERM to its process group), the retries and the breaker show, it is started
//! again and the waiting order arrives; no process outlives the run. Flask and requests are installed once into
//! a virtualenv under `target/` (PyPI is reachable wherever this project runs).

use crate::common;

use std::path::PathBuf;
use std::process::Command;

const PACKAGES: [&str; 2] = ["flask==3.1.2", "requests==2.32.5"];

fn venv() -> PathBuf {
    common::python::venv("py-own-apps", &PACKAGES)
}

const ORDER_PROCESSOR: &str = r#"
import json, os
from flask import Flask, request

app = Flask(__name__)

@app.route('/orders', methods=['POST'])
def orders():
    print('Order received : ' + json.dumps(request.json), flush=True)
    return json.dumps({'success': True}), 200, {'ContentType': 'application/json'}

app.run(port=int(os.environ['APP_PORT']))
"#;

const CHECKOUT: &str = r#"
import json, os, time, requests

base = 'http://localhost:' + os.environ['DAPR_HTTP_PORT']
headers = {'dapr-app-id': 'order-processor', 'content-type': 'application/json'}
for i in range(1, 10000):
    order = {'orderId': i}
    result = requests.post(url='%s/orders' % base, data=json.dumps(order), headers=headers)
    print('Order passed: ' + json.dumps(order), flush=True)
    time.sleep(0.2)
"#;

/// The quickstart's policy with short times: retry every 1s forever; open after 5 failures for 1s (as in the
/// quickstart, the retry interval equals the breaker's timeout, so each retry is a half-open probe and the
/// order waits instead of failing on an open breaker).
const RESILIENCY: &str = "apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
scopes:
  - checkout
spec:
  policies:
    retries:
      retryForever: {policy: constant, duration: 1s, maxRetries: -1}
    circuitBreakers:
      simpleCB: {maxRequests: 1, timeout: 1s, trip: consecutiveFailures >= 5}
  targets:
    apps:
      order-processor: {retry: retryForever, circuitBreaker: simpleCB}
";

#[test]
fn quickstart_style_python_apps_from_a_run_template() {
    let python = venv();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (sub, app) in [("order-processor", ORDER_PROCESSOR), ("checkout", CHECKOUT)] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
        std::fs::write(root.join(sub).join("app.py"), app).unwrap();
    }
    std::fs::create_dir_all(root.join("resources")).unwrap();
    std::fs::write(root.join("resources/resiliency.yaml"), RESILIENCY).unwrap();
    let port = common::free_port;
    // A marker in every command line, to find any process left behind.
    let marker = format!("rtui-own-apps-{}", std::process::id());
    let template = format!(
        "version: 1\ncommon:\n  resourcesPath: ./resources\napps:\n  - appDirPath: ./order-processor/\n    appPort: {}\n    daprHTTPPort: {}\n    command: [\"{py}\", \"app.py\", \"{marker}\"]\n  - appID: checkout\n    appDirPath: ./checkout/\n    daprHTTPPort: {}\n    command: [\"{py}\", \"app.py\", \"{marker}\"]\n",
        port(),
        port(),
        port(),
        py = python.display()
    );
    std::fs::write(root.join("dapr.yaml"), template).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .args(["run", "-f"])
        .arg(root)
        .args([
            "--headless",
            "--output",
            "jsonl",
            "--fault-at",
            "4s",
            "--clear-at",
            "9s",
            "--duration",
            "14s",
        ])
        .args(["--metrics-port", &format!("checkout={}", port())])
        .args(["--metrics-port", &format!("order-processor={}", port())])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let t = |l: &serde_json::Value| l["t"].as_f64().unwrap();
    let output = |app: &str, text: &str| {
        lines
            .iter()
            .filter(|l| l["kind"] == "app_output" && l["source"] == app && l["line"].as_str().unwrap().contains(text))
            .map(t)
            .collect::<Vec<f64>>()
    };
    assert!(
        !output("order-processor", "Order received : {\"orderId\": 1}").is_empty(),
        "{stdout}"
    );
    // Each kind's first event after `since` (checkout may meet order-processor still starting, before the fault).
    let first = |kind: &str, since: f64| {
        lines
            .iter()
            .filter(|l| t(l) >= since)
            .find(|l| l["kind"] == kind && (kind != "breaker_state_changed" || l["to"] == "open"))
            .map(t)
            .unwrap_or_else(|| panic!("no {kind} after {since}s:\n{stdout}"))
    };
    let injected = first("fault_injected", 0.0);
    let (retrying, opened) = (first("retrying", injected), first("breaker_state_changed", injected));
    let cleared = first("fault_cleared", opened);
    let recovered = first("recovered", cleared);
    assert!(
        injected < retrying && retrying < opened && opened < cleared && cleared < recovered,
        "{stdout}"
    );
    let exited = lines
        .iter()
        .any(|l| l["kind"] == "app_exited" && l["source"] == "order-processor");
    assert!(exited, "the stop is SIGTERM to the app's group: its exit is an event");
    // The order waiting in the retry is the first order-processor gets after it is back.
    let received_after: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "app_output" && l["source"] == "order-processor" && t(l) > cleared)
        .filter_map(|l| l["line"].as_str())
        .filter(|l| l.starts_with("Order received"))
        .collect();
    let before: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "app_output" && l["source"] == "order-processor" && t(l) < injected)
        .filter_map(|l| l["line"].as_str())
        .filter(|l| l.starts_with("Order received"))
        .collect();
    let id = |line: &str| {
        line.rsplit(' ')
            .next()
            .unwrap()
            .trim_end_matches('}')
            .parse::<u64>()
            .unwrap()
    };
    let last_before = id(before
        .last()
        .unwrap_or_else(|| panic!("orders before the fault:\n{stdout}")));
    let first_after = id(received_after
        .first()
        .unwrap_or_else(|| panic!("orders after the clear:\n{stdout}")));
    // None skipped. The order in flight when the SIGTERM came may arrive twice (its answer cut off, then
    // retried): at least once, as with daprd.
    assert!(
        first_after == last_before + 1 || first_after == last_before,
        "the held order arrives, none skipped: {last_before} then {received_after:?}"
    );
    // The apps' output is not read for orders: the summary is what the sidecars saw per target.
    let summary = lines.last().unwrap();
    assert_eq!(summary["sent"], 0, "{summary}");
    let target = &summary["targets"][0];
    assert_eq!(
        target["operation"], "endpoint[order-processor, order-processor:orders]",
        "{summary}"
    );
    assert!(
        target["calls"].as_u64().unwrap() > 10 && target["retries"].as_u64().unwrap() > 0,
        "{summary}"
    );
    // No process outlives the run.
    let left = common::processes_with(&marker);
    assert!(left.is_empty(), "left running: {left:?}");
}
