//! Exposure: by default every port the tool opens is bound to loopback only (read back from the kernel's own
//! socket table), and `--listen-address` moves the sidecars and apps with a warning on the event stream.
//! No traffic leaves loopback: binding to 0.0.0.0 is checked by reaching it on 127.0.0.1.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::free_port;
use resilience_tui::event::Event;
use resilience_tui::event::Events;
use resilience_tui::lifecycle::{RunOptions, Running};
use resilience_tui::scenario::{AppSpec, Scenario};

fn scenario(ports: [u16; 3]) -> Scenario {
    let dir = common::temp_dir("exposure");
    std::fs::create_dir_all(&dir).unwrap();
    Scenario {
        name: "exposure".into(),
        title: "exposure".into(),
        summary: String::new(),
        resources: resilience_tui::scenario::ResourcesSource::Dir(dir),
        apps: vec![
            AppSpec::Checkout {
                app_id: "checkout".into(),
                dapr_http_port: ports[0],
                target: "order-processor".into(),
            },
            AppSpec::OrderProcessor {
                app_id: "order-processor".into(),
                app_port: ports[1],
                dapr_http_port: ports[2],
            },
        ],
        faults: Vec::new(),
        file: PathBuf::from("exposure.yaml"),
    }
}

/// The scenario on three free ports, started; the ports are returned (read back from the kernel by the tests).
async fn start_on_free_ports(opts: &RunOptions) -> (Running, Events, [u16; 3]) {
    let ports = std::cell::Cell::new([0; 3]);
    let make = || {
        ports.set([free_port(), free_port(), free_port()]);
        scenario(ports.get())
    };
    let (running, rx) = common::start_on_free_ports(make, opts).await;
    (running, rx, ports.get())
}

/// The local IPv4 address a listening port is bound to, from /proc/net/tcp (state 0A = LISTEN).
fn bound_address(port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (addr, port_hex) = fields.get(1)?.split_once(':')?;
        (u16::from_str_radix(port_hex, 16).ok()? == port && fields.get(3) == Some(&"0A")).then(|| {
            let n = u32::from_str_radix(addr, 16).unwrap_or_default().to_le_bytes();
            format!("{}.{}.{}.{}", n[0], n[1], n[2], n[3])
        })
    })
}

/// Every notice and warning the run said, read once it has shut down: all it emitted is queued by then, so no
/// stretch of silence has to stand for "done".
fn notices(rx: &mut Events) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(e) = rx.try_recv() {
        if let Event::Notice { .. } | Event::Warning { .. } = e.event {
            out.extend(e.event.text());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_binds_to_loopback_by_default() {
    let opts = RunOptions {
        order_interval: Some(Duration::from_secs(60)),
        ..RunOptions::default()
    };
    let (running, mut rx, ports) = start_on_free_ports(&opts).await;
    for port in ports {
        assert_eq!(bound_address(port).as_deref(), Some("127.0.0.1"), "port {port}");
    }
    running.shutdown().await;
    let said = notices(&mut rx);
    assert!(said.iter().all(|n| !n.contains("--listen-address")), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_address_moves_every_port_and_warns() {
    let opts = RunOptions {
        order_interval: Some(Duration::from_secs(60)),
        listen_address: Some("0.0.0.0".parse().unwrap()),
        ..RunOptions::default()
    };
    let (running, mut rx, ports) = start_on_free_ports(&opts).await;
    for port in ports {
        assert_eq!(bound_address(port).as_deref(), Some("0.0.0.0"), "port {port}");
    }
    // Still reachable on loopback, and invocation through the sidecar still finds the app.
    let r = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/v1.0/invoke/order-processor/method/orders",
            ports[0]
        ))
        .header("content-type", "application/json")
        .body(r#"{"orderId":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    running.shutdown().await;
    let warnings = notices(&mut rx);
    assert!(
        warnings
            .iter()
            .any(|n| n.starts_with("warning: --listen-address 0.0.0.0 exposes") && n.contains("DAPR_API_TOKEN")),
        "{warnings:?}"
    );
}
