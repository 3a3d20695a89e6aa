//! An app written as the service-to-component quickstart's Python SDK app (`state_management/python/sdk/
//! order-processor`: `DaprClient` `save_state` / `get_state` / `delete_state` on `statestore` in a loop), run
//! unchanged by `resilience-tui run -f` from a run template with a `daprGRPCPort`: its calls reach the sidecar's
//! gRPC API at `DAPR_GRPC_PORT` and go through the state core under the component's policy (the summary counts
//! them for `statestore`); the app ends by itself and no process outlives the run. The SDK is installed once
//! into a virtualenv under `target/`.

use crate::common;

use std::process::Command;

const APP: &str = r#"
from time import sleep
import logging, os, sys
from dapr.clients import DaprClient

logging.basicConfig(level=logging.INFO, stream=sys.stdout)
print('DAPR_GRPC_PORT=' + os.environ['DAPR_GRPC_PORT'], flush=True)
DAPR_STORE_NAME = "statestore"
for i in range(1, 4):
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
    sleep(0.5)
"#;

const STORE: &str = "apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
";

const RESILIENCY: &str = "apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
scopes:
  - order-processor
spec:
  policies:
    retries:
      retryForever: {policy: constant, duration: 1s, maxRetries: -1}
    circuitBreakers:
      simpleCB: {maxRequests: 1, timeout: 1s, trip: consecutiveFailures >= 5}
  targets:
    components:
      statestore:
        outbound: {retry: retryForever, circuitBreaker: simpleCB}
";

#[test]
fn quickstart_sdk_state_app_over_grpc_from_a_run_template() {
    let python = common::python::venv("py-dapr-sdk", &["dapr==1.19.0"]);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("order-processor")).unwrap();
    std::fs::write(root.join("order-processor/app.py"), APP).unwrap();
    std::fs::create_dir_all(root.join("resources")).unwrap();
    std::fs::write(root.join("resources/statestore.yaml"), STORE).unwrap();
    std::fs::write(root.join("resources/resiliency.yaml"), RESILIENCY).unwrap();
    let marker = format!("rtui-own-sdk-app-{}", std::process::id());
    let grpc_port = common::free_port();
    let template = format!(
        "version: 1\ncommon:\n  resourcesPath: ./resources\napps:\n  - appID: order-processor\n    appDirPath: ./order-processor/\n    daprHTTPPort: {}\n    daprGRPCPort: {grpc_port}\n    command: [\"{py}\", \"app.py\", \"{marker}\"]\n",
        common::free_port(),
        py = python.display()
    );
    std::fs::write(root.join("dapr.yaml"), template).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .args(["run", "-f"])
        .arg(root)
        .args(["--headless", "--output", "jsonl", "--duration", "10s"])
        .args(["--metrics-port", &format!("order-processor={}", common::free_port())])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let said = |text: &str| {
        lines
            .iter()
            .any(|l| l["kind"] == "app_output" && l["line"].as_str().unwrap().contains(text))
    };
    assert!(
        said(&format!("DAPR_GRPC_PORT={grpc_port}")),
        "the template's daprGRPCPort: {stdout}"
    );
    for id in 1..=3 {
        assert!(said(&format!("Saving Order: {{'orderId': '{id}'}}")), "{stdout}");
        assert!(
            said(&format!("Result after get: b\"{{'orderId': '{id}'}}\"")),
            "{stdout}"
        );
        assert!(said(&format!("Deleting Order: {{'orderId': '{id}'}}")), "{stdout}");
    }
    assert!(!said("Traceback"), "{stdout}");
    let exited = lines
        .iter()
        .find(|l| l["kind"] == "app_exited")
        .unwrap_or_else(|| panic!("the app ends by itself: {stdout}"));
    assert_eq!(exited["code"], 0, "{exited}");
    // The gRPC calls went through the state core: the summary counts them for the component's policy.
    let summary = lines.last().unwrap();
    let targets = summary["targets"].as_array().unwrap();
    let store = targets
        .iter()
        .find(|t| t["operation"].as_str().unwrap_or_default().contains("statestore"))
        .unwrap_or_else(|| panic!("no statestore target: {summary}"));
    assert!(store["calls"].as_u64().unwrap() >= 9, "{summary}");
    let left = common::processes_with(&marker);
    assert!(left.is_empty(), "left running: {left:?}");
}
