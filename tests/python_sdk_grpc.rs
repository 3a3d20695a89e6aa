//! The official Dapr Python SDK's `DaprClient`, unchanged, against a running scenario's sidecar over Dapr's
//! gRPC API (`DAPR_GRPC_PORT`): save, get, delete, bulk, a transaction, `GetMetadata`; an ETag mismatch and a
//! missing store answered with daprd's codes and texts; a method the sidecar does not serve named in its
//! UNIMPLEMENTED answer. The SDK is installed once into a virtualenv under `target/`.

use crate::common;

use common::free_port;
use std::path::PathBuf;
use std::time::Duration;

use resilience_tui::apps::process::ProcessSpec;
use resilience_tui::lifecycle::{GrpcPorts, RunOptions, start};
use resilience_tui::scenario::{AppSpec, Scenario};
use serde_json::Value;

const SDK: &str = "dapr==1.19.0";

const STORE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec:
  type: state.in-memory
  version: v1
"#;

const SCRIPT: &str = r#"
import json
from dapr.clients import DaprClient
from dapr.clients.grpc._state import StateItem
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType

def failure(call):
    try:
        call()
        return None
    except Exception as e:
        code = e.code() if hasattr(e, "code") else None
        details = e.details() if hasattr(e, "details") else str(e)
        reason = e.error_code() if hasattr(e, "error_code") else None
        return [code.name if code is not None else type(e).__name__, details, reason]

out = {}
with DaprClient() as d:
    d.save_state("statestore", "order_1", '{"orderId": 1}')
    got = d.get_state("statestore", "order_1")
    out["get"] = [got.data.decode(), got.etag]
    d.save_bulk_state("statestore", [StateItem(key="a", value="1"), StateItem(key="b", value="2")])
    items = d.get_bulk_state("statestore", ["a", "b", "missing"]).items
    out["bulk"] = [[i.key, i.data.decode(), i.etag != ""] for i in items]
    d.execute_state_transaction("statestore", [
        TransactionalStateOperation(key="a", data="10", operation_type=TransactionOperationType.upsert),
        TransactionalStateOperation(key="b", data="", operation_type=TransactionOperationType.delete),
    ])
    out["after_transaction"] = [d.get_state("statestore", k).data.decode() for k in ["a", "b"]]
    d.delete_state("statestore", "order_1")
    out["deleted"] = d.get_state("statestore", "order_1").data.decode()
    d.save_state("statestore", "order_2", "v1")
    out["etag_mismatch"] = failure(lambda: d.save_state("statestore", "order_2", "v2", etag="999"))
    out["missing_store"] = failure(lambda: d.get_state("nostore", "k"))
    out["bad_key"] = failure(lambda: d.save_state("statestore", "a||b", "x"))
    out["unserved"] = failure(lambda: d.publish_event("pubsub", "orders", "{}"))
    failure(lambda: d.publish_event("pubsub", "orders", "{}"))
    meta = d.get_metadata()
    out["metadata"] = [meta.application_id, [c.name for c in meta.registered_components]]
print(json.dumps(out))
"#;

/// A sidecar alone, as `dapr run --app-id order-processor` without a command, serving `resources`.
fn sidecar_alone(name: &str, resources: &std::path::Path, http_port: u16) -> Scenario {
    Scenario {
        name: name.into(),
        title: name.into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(resources.to_path_buf()),
        apps: vec![AppSpec::Process {
            app_id: "order-processor".into(),
            dapr_http_port: http_port,
            app_port: None,
            process: ProcessSpec {
                app_id: "order-processor".into(),
                dir: PathBuf::from("."),
                command: Vec::new(),
                env: Vec::new(),
            },
        }],
        faults: Vec::new(),
        file: PathBuf::from(format!("{name}.yaml")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_state_over_grpc() {
    let python = tokio::task::spawn_blocking(|| common::python::venv("py-dapr-sdk", &[SDK]))
        .await
        .unwrap();
    let resources = tempfile::tempdir().unwrap();
    std::fs::write(resources.path().join("statestore.yaml"), STORE).unwrap();
    let (http_port, grpc_port) = (free_port(), free_port());
    let scenario = sidecar_alone("sdk-grpc", resources.path(), http_port);
    let opts = RunOptions {
        order_interval: Some(Duration::from_secs(60)),
        grpc_ports: GrpcPorts {
            first: None,
            overrides: vec![("order-processor".into(), grpc_port)],
        },
        ..RunOptions::default()
    };
    let (running, mut rx) = start(scenario, &opts).await.expect("scenario starts");
    let out = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .env("DAPR_HTTP_PORT", http_port.to_string())
        .env("DAPR_GRPC_PORT", grpc_port.to_string())
        .output()
        .await
        .expect("python runs");
    running.shutdown().await;
    let mut ledger = resilience_tui::summary::Ledger::default();
    let mut unserved = Vec::new();
    while let Some(e) = rx.try_recv() {
        ledger.record(&e);
        if let resilience_tui::event::Event::Warning {
            message,
            field: Some(field),
            help,
            ..
        } = e.event
            && field.ends_with("/PublishEvent")
        {
            unserved.push((message, help.unwrap_or_default()));
        }
    }
    // Called twice, said once: which method, which port, that the sidecar does not serve it, what to use.
    assert_eq!(unserved.len(), 1, "{unserved:?}");
    let (message, help) = &unserved[0];
    assert_eq!(
        message,
        &format!(
            "order-processor called the gRPC method PublishEvent on DAPR_GRPC_PORT {grpc_port}: its sidecar does not serve it and answered UNIMPLEMENTED"
        )
    );
    assert!(
        help.contains("SaveState") && help.contains(&format!("DAPR_HTTP_PORT {http_port}")),
        "{help}"
    );
    let summary = ledger.text(Duration::from_secs(1)).replace("\n", " ");
    assert!(summary.contains("PublishEvent"), "the summary says it too: {summary}");
    assert!(
        out.status.success(),
        "the SDK calls failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(result["get"][0], r#"{"orderId": 1}"#, "{result}");
    assert_ne!(result["get"][1], "", "an ETag comes back: {result}");
    assert_eq!(
        result["bulk"],
        serde_json::json!([["a", "1", true], ["b", "2", true], ["missing", "", false]])
    );
    assert_eq!(result["after_transaction"], serde_json::json!(["10", ""]));
    assert_eq!(result["deleted"], "");
    // daprd: an ETag mismatch on save is Aborted (`stateErrorResponse`), with ErrStateSave's text.
    let mismatch = &result["etag_mismatch"];
    assert_eq!(mismatch[0], "ABORTED", "{result}");
    let text = mismatch[1].as_str().unwrap();
    assert!(
        text.starts_with("failed saving state in state store statestore: possible etag mismatch"),
        "{text}"
    );
    // daprd's `StateStore(name).NotFound(appID)`: InvalidArgument, with an ErrorInfo DAPR_STATE_NOT_FOUND.
    assert_eq!(
        result["missing_store"],
        serde_json::json!([
            "INVALID_ARGUMENT",
            "state store nostore is not found",
            "DAPR_STATE_NOT_FOUND"
        ])
    );
    assert_eq!(result["bad_key"][0], "INVALID_ARGUMENT");
    assert_eq!(result["bad_key"][1], "input key/keyPrefix 'a||b' can't contain '||'");
    assert_eq!(result["unserved"][0], "UNIMPLEMENTED");
    assert_eq!(result["unserved"][1], "method PublishEvent not implemented");
    assert_eq!(
        result["metadata"],
        serde_json::json!(["order-processor", ["statestore"]])
    );
}

const TOKEN_SCRIPT: &str = r#"
import json
from dapr.clients import DaprClient
out = {}
with DaprClient() as d:
    try:
        d.save_state("statestore", "k", "v")
        out["save"] = "ok"
    except Exception as e:
        out["save"] = [e.code().name, e.details()]
print(json.dumps(out))
"#;

/// `DAPR_API_TOKEN` on the sidecar: the SDK's `dapr-api-token` metadata is checked as daprd's gRPC interceptor
/// does (`pkg/api/grpc/auth.go`): a wrong one is Unauthenticated `Unauthorized`, the right one passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_api_token_over_grpc() {
    let python = tokio::task::spawn_blocking(|| common::python::venv("py-dapr-sdk", &[SDK]))
        .await
        .unwrap();
    let resources = tempfile::tempdir().unwrap();
    std::fs::write(resources.path().join("statestore.yaml"), STORE).unwrap();
    let (http_port, grpc_port) = (free_port(), free_port());
    let scenario = sidecar_alone("sdk-grpc-token", resources.path(), http_port);
    let opts = RunOptions {
        api_token: Some("s3cret".into()),
        grpc_ports: GrpcPorts {
            first: None,
            overrides: vec![("order-processor".into(), grpc_port)],
        },
        ..RunOptions::default()
    };
    let (running, _rx) = start(scenario, &opts).await.expect("scenario starts");
    let mut answers = Vec::new();
    for token in ["wrong", "s3cret"] {
        let out = tokio::process::Command::new(&python)
            .arg("-c")
            .arg(TOKEN_SCRIPT)
            .env("DAPR_HTTP_PORT", http_port.to_string())
            .env("DAPR_GRPC_PORT", grpc_port.to_string())
            .env("DAPR_API_TOKEN", token)
            .output()
            .await
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        answers.push(result["save"].clone());
    }
    running.shutdown().await;
    assert_eq!(answers[0], serde_json::json!(["UNAUTHENTICATED", "Unauthorized"]));
    assert_eq!(answers[1], "ok");
}
