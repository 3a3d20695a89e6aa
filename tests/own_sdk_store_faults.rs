//! The service-to-component quickstart as a user runs it with their own SDK app: an app written as
//! `state_management/python/sdk/order-processor` (`DaprClient` save / get / delete on `statestore`, once a
//! second) under `resilience-tui run -f`, with the quickstart's own resources (`resiliency.yaml`,
//! `statestore.yaml` at `localhost:6379`). No app serves a port, so `--fault-at` stops the state store as the
//! seed's `docker stop dapr_redis` does, here the redis-server the tool starts for it. The sidecar logs
//! daprd's "Retrying" line, `simpleCB-statestore` opens, the gRPC call held in `retryForever` returns after
//! the clear and the app goes on with no order lost; no process outlives the run.

use crate::common;

use std::process::Command;

use serde_json::Value;

const APP: &str = r#"
from time import sleep
import logging, sys
from dapr.clients import DaprClient

logging.basicConfig(level=logging.INFO, stream=sys.stdout)
DAPR_STORE_NAME = "statestore"
for i in range(1, 100):
    orderId = str(i)
    order = {'orderId': orderId}
    with DaprClient() as client:
        client.save_state(DAPR_STORE_NAME, orderId, str(order))
        logging.info('Saving Order: %s', order)
        result = client.get_state(DAPR_STORE_NAME, orderId)
        logging.info('Result after get: ' + str(result.data))
        client.delete_state(store_name=DAPR_STORE_NAME, key=orderId)
        logging.info('Deleting Order: %s', order)
    sys.stdout.flush()
    sleep(1)
"#;

/// The app's lines in order: each step and order id, with when it was said.
fn steps(lines: &[Value]) -> Vec<(f64, String)> {
    lines
        .iter()
        .filter(|l| l["kind"] == "app_output")
        .filter_map(|l| {
            let line = l["line"].as_str()?;
            let id = line.split("'orderId': '").nth(1)?.split('\'').next()?;
            let step = ["Saving", "Result after get", "Deleting"]
                .into_iter()
                .find(|s| line.contains(s))?;
            // A get must return what was saved.
            if step == "Result after get" {
                assert!(line.ends_with(&format!("b\"{{'orderId': '{id}'}}\"")), "{line}");
            }
            Some((l["t"].as_f64()?, format!("{step} {id}")))
        })
        .collect()
}

#[test]
fn the_quickstart_sdk_app_meets_a_stopped_state_store_under_run_f() {
    common::ensure_installed("redis-server", "redis-server");
    let python = common::python::venv("py-dapr-sdk", &["dapr==1.19.0"]);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("order-processor")).unwrap();
    std::fs::write(root.join("order-processor/app.py"), APP).unwrap();
    let resources = root.join("resources");
    std::fs::create_dir_all(&resources).unwrap();
    for file in ["resiliency.yaml", "statestore.yaml"] {
        let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/resources/state-management/");
        std::fs::copy(format!("{quickstart}{file}"), resources.join(file)).unwrap();
    }
    let marker = format!("rtui-own-sdk-store-{}", std::process::id());
    let template = format!(
        "version: 1\ncommon:\n  resourcesPath: ./resources/\napps:\n  - appID: order-processor\n    appDirPath: ./order-processor/\n    daprHTTPPort: {}\n    daprGRPCPort: {}\n    command: [\"{py}\", \"app.py\", \"{marker}\"]\n",
        common::free_port(),
        common::free_port(),
        py = python.display()
    );
    std::fs::write(root.join("dapr.yaml"), template).unwrap();
    // The quickstart's policy: a retry every 5s, the breaker open after 5 failures for 5s.
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .args(["run", "-f"])
        .arg(root)
        .args(["--headless", "--output", "jsonl", "--state-store", "redis-server"])
        // Each failing call takes about 1.5s (go-redis retries a refused connection 3 times, 512ms apart:
        // src/state/go_redis.rs), then 5s to the next retry: the 5th failure in a row opens the breaker
        // about 33s in; cleared at 40s, the next probe closes it.
        .args(["--fault-at", "4s", "--clear-at", "40s", "--duration", "56s"])
        .args(["--metrics-port", &format!("order-processor={}", common::free_port())])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    if let Ok(path) = std::env::var("RTUI_KEEP_OUTPUT") {
        std::fs::write(path, stdout.as_bytes()).unwrap();
    }
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let t = |l: &Value| l["t"].as_f64().unwrap();
    let first = |what: &dyn Fn(&Value) -> bool, since: f64| {
        lines
            .iter()
            .filter(|l| t(l) >= since)
            .find(|l| what(l))
            .unwrap_or_else(|| panic!("not found after {since}s:\n{stdout}"))
    };
    let injected = first(&|l| l["kind"] == "fault_injected", 0.0);
    assert!(
        injected["fault"] == "stop-statestore",
        "--fault-at stops the state store: {injected}"
    );
    let injected = t(injected);
    let retrying = first(&|l| l["kind"] == "retrying", injected);
    assert!(
        retrying["msg"]
            .as_str()
            .unwrap()
            .starts_with("Error processing operation component[statestore] output. Retrying"),
        "{retrying}"
    );
    let breaker = |to: &'static str| {
        move |l: &Value| {
            l["kind"] == "breaker_state_changed"
                && l["to"] == to
                && l["msg"].as_str().unwrap().contains("simpleCB-statestore")
        }
    };
    let opened = t(first(&breaker("open"), injected));
    let cleared = t(first(&|l| l["kind"] == "fault_cleared", opened));
    let closed = t(first(&breaker("closed"), cleared));
    assert!(t(retrying) < opened && opened < cleared && cleared < closed, "{stdout}");
    // The app's steps are exactly save, get, delete of 1, 2, 3, … : none lost, none repeated, every get
    // returning what was saved; one call was held from before the stop until after the clear.
    let steps = steps(&lines);
    let expected = (1..).flat_map(|id| ["Saving", "Result after get", "Deleting"].map(|s| format!("{s} {id}")));
    let said: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        said.iter().zip(expected).all(|(s, e)| *s == e),
        "the app's steps in order: {said:?}"
    );
    // The app has no retry of its own: a call that failed would end it. So a call was held through the
    // outage when no step completes during it and the steps go on after the clear. (The app may make its
    // first call only after the stop on a loaded machine: then that first call is the one held.)
    let after_clear = steps.iter().position(|(t, _)| *t > cleared);
    let held = after_clear.is_some_and(|k| steps[..k].iter().all(|(t, _)| *t < injected + 1.0));
    assert!(
        held,
        "a call held through the outage returns after the clear: {steps:?}"
    );
    let after = steps.iter().filter(|(at, _)| *at > closed).count();
    assert!(after >= 6, "the app goes on after the breaker closes: {steps:?}");
    assert!(!stdout.contains("Traceback"), "{stdout}");
    // The store was a redis-server the tool started for the component, and stopped with the run.
    let notice = first(
        &|l| {
            l["kind"] == "notice"
                && l["msg"]
                    .as_str()
                    .unwrap()
                    .contains("a redis-server started by resilience-tui on")
        },
        0.0,
    );
    let addr = notice["msg"].as_str().unwrap().rsplit(' ').next().unwrap().to_string();
    for left in [marker.as_str(), addr.as_str()] {
        let found = common::processes_with(left);
        assert!(found.is_empty(), "left running ({left}): {found:?}");
    }
}
