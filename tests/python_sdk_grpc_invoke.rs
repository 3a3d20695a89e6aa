//! The Python SDK's `invoke_method` over Dapr's gRPC API (`InvokeService`, with
//! `DAPR_API_METHOD_INVOCATION_PROTOCOL=grpc`) from a checkout-like client through its sidecar to
//! order-processor, under the same policy as HTTP invocation: with order-processor stopped the call is held in
//! the retry (daprd's "Retrying" line for `endpoint[order-processor, order-processor:orders]`) and returns
//! the app's answer once it is back. Then the SDK's `shutdown()` (gRPC `Shutdown`) stops the sidecar's APIs.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::free_port;
use resilience_tui::apps::process::ProcessSpec;
use resilience_tui::event::Event;
use resilience_tui::lifecycle::{GrpcPorts, RunOptions, start};
use resilience_tui::resiliency::ResiliencyEvent;
use resilience_tui::scenario::{AppSpec, FaultAction, FaultSpec, Scenario};
use serde_json::Value;

/// The service-invoke quickstart's policy, faster: a retry every 300ms, the breaker open after 3 failures.
const RESILIENCY: &str = "apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
scopes:
  - checkout
spec:
  policies:
    retries:
      retryForever: {policy: constant, duration: 300ms, maxRetries: -1}
    circuitBreakers:
      simpleCB: {maxRequests: 1, timeout: 300ms, trip: consecutiveFailures >= 3}
  targets:
    apps:
      order-processor: {retry: retryForever, circuitBreaker: simpleCB}
";

const SCRIPT: &str = r#"
import json
from dapr.clients import DaprClient
with DaprClient() as d:
    r = d.invoke_method("order-processor", "orders", data='{"orderId": 7}', http_verb="POST",
                        content_type="application/json")
    print(json.dumps({"answered": r.text()}), flush=True)
    d.shutdown()
    print(json.dumps({"shutdown": "ok"}), flush=True)
"#;

fn scenario(resources: PathBuf, checkout_http: u16) -> Scenario {
    Scenario {
        name: "sdk-grpc-invoke".into(),
        title: "sdk-grpc-invoke".into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(resources),
        apps: vec![
            // checkout's sidecar alone (the SDK script is its app), as `dapr run --app-id checkout`.
            AppSpec::Process {
                app_id: "checkout".into(),
                dapr_http_port: checkout_http,
                app_port: None,
                process: ProcessSpec {
                    app_id: "checkout".into(),
                    dir: PathBuf::from("."),
                    command: Vec::new(),
                    env: Vec::new(),
                },
            },
            AppSpec::OrderProcessor {
                app_id: "order-processor".into(),
                app_port: free_port(),
                dapr_http_port: free_port(),
            },
        ],
        faults: vec![FaultSpec {
            name: "stop-app".into(),
            key: 'a',
            action: FaultAction::StopApp {
                app_id: "order-processor".into(),
            },
            explain: String::new(),
        }],
        file: PathBuf::from("sdk-grpc-invoke.yaml"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_invoke_method_over_grpc_is_held_by_the_retry_then_shutdown() {
    let python = tokio::task::spawn_blocking(|| common::python::venv("py-dapr-sdk", &["dapr==1.19.0"]))
        .await
        .unwrap();
    let resources = tempfile::tempdir().unwrap();
    std::fs::write(resources.path().join("resiliency.yaml"), RESILIENCY).unwrap();
    let (http_port, grpc_port) = (free_port(), free_port());
    let opts = RunOptions {
        grpc_ports: GrpcPorts {
            first: None,
            overrides: vec![("checkout".into(), grpc_port)],
        },
        ..RunOptions::default()
    };
    let (running, mut rx) = start(scenario(resources.path().to_path_buf(), http_port), &opts)
        .await
        .expect("scenario starts");
    running.faults.inject(0).await;
    let child = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .env("DAPR_HTTP_PORT", http_port.to_string())
        .env("DAPR_GRPC_PORT", grpc_port.to_string())
        .env("DAPR_API_METHOD_INVOCATION_PROTOCOL", "grpc")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    // The gRPC call meets the stopped app and is retried, as an HTTP invocation is.
    let retrying = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = rx.recv().await {
            if let Event::Resiliency {
                app_id,
                event: ResiliencyEvent::Retrying { operation, .. },
            } = &e.event
            {
                return Some((app_id.to_string(), operation.to_string()));
            }
        }
        None
    })
    .await
    .expect("a Retrying line within 30s")
    .expect("the bus is open");
    assert_eq!(
        retrying,
        (
            "checkout".to_string(),
            "endpoint[order-processor, order-processor:orders]".to_string()
        )
    );
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "the call is held in the retry");
    running.faults.clear_all().await;
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the held call returns after the clear")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let answers: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    assert_eq!(answers[0]["answered"], "", "order-processor's empty 200: {stdout}");
    assert_eq!(answers[1]["shutdown"], "ok", "{stdout}");
    // `Shutdown` stops both of checkout's APIs: nothing listens on its ports any more.
    let refused = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_err();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !(refused(http_port) && refused(grpc_port)) {
        assert!(
            std::time::Instant::now() < deadline,
            "checkout's sidecar still serves after Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.shutdown().await;
    // The order reached order-processor once it was back.
    let mut received = 0;
    while let Some(e) = rx.try_recv() {
        if let Event::App {
            event: resilience_tui::event::AppEvent::Output { line },
            ..
        } = &e.event
            && line.starts_with("Order received: {\"orderId\":7}")
        {
            received += 1;
        }
    }
    assert_eq!(received, 1, "the held order arrives once");
}
