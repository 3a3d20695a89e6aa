//! The official Dapr Python SDK, unchanged, against a running scenario's sidecar: `DaprClient().invoke_method`
//! over HTTP reaches order-processor. The SDK is installed once into a virtualenv under `target/` (PyPI is
//! reachable on every machine this project runs on); a failed install fails the test with pip's output.

use crate::common;

use common::free_port;
use std::path::{Path, PathBuf};
use std::time::Duration;

use resilience_tui::event::{AppEvent, Event};
use resilience_tui::lifecycle::{RunOptions, start};
use resilience_tui::scenario::{AppSpec, Scenario};

const SDK: &str = "dapr==1.19.0";

fn venv() -> PathBuf {
    common::python::venv("py-dapr-sdk", &[SDK])
}

const SCRIPT: &str = r#"
import json
from dapr.clients import DaprClient
with DaprClient() as d:
    resp = d.invoke_method('order-processor', 'orders', data=json.dumps({"orderId": 777}),
                           content_type='application/json', http_verb='POST')
    print("invoked", resp.status_code if hasattr(resp, "status_code") else "ok")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_invoke_method() {
    let python = tokio::task::spawn_blocking(venv).await.unwrap();
    let checkout_port = free_port();
    let scenario = Scenario {
        name: "sdk".into(),
        title: "sdk".into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/service-invoke"),
        ),
        apps: vec![
            AppSpec::Checkout {
                app_id: "checkout".into(),
                dapr_http_port: checkout_port,
                target: "order-processor".into(),
            },
            AppSpec::OrderProcessor {
                app_id: "order-processor".into(),
                app_port: free_port(),
                dapr_http_port: free_port(),
            },
        ],
        faults: Vec::new(),
        file: PathBuf::from("sdk.yaml"),
    };
    let opts = RunOptions {
        order_interval: Some(Duration::from_secs(60)),
        ..RunOptions::default()
    };
    let (running, mut rx) = start(scenario, &opts).await.expect("scenario starts");
    let out = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .env("DAPR_HTTP_PORT", checkout_port.to_string())
        .env("DAPR_HTTP_ENDPOINT", format!("http://127.0.0.1:{checkout_port}"))
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success(),
        "the SDK call failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("invoked"));
    running.shutdown().await;
    let (mut received, mut other) = (Vec::new(), None);
    while let Some(e) = rx.try_recv() {
        match e.event {
            Event::App {
                event: AppEvent::OrderReceived { order_id },
                ..
            } => received.push(order_id),
            Event::App {
                event: AppEvent::Output { line },
                ..
            } if line.contains("\"orderId\":777") => other = Some(line),
            _ => {}
        }
    }
    // The SDK is another client than the scenario's checkout: its order is shown, and not counted (a
    // duplicate of our own order 777 would otherwise be claimed).
    let other = other.unwrap_or_else(|| panic!("order-processor saw only {received:?}"));
    assert!(other.ends_with("(from another client: not counted)"), "{other}");
    assert!(!received.contains(&777), "{received:?}");
}
