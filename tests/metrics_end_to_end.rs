//! daprd's metrics over real HTTP, through the service-invocation quickstart's story on a paused clock (as in
//! `quickstart_end_to_end.rs`): the checkout sidecar's breaker is open at 32 s, the order-processor stopped
//! from 10 s to 45 s, and after the recovery at 45 s the breaker's gauge reads closed (dapr/dapr#10114, not
//! v1.18.3's stuck half-open).

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use resilience_tui::lifecycle::{RunOptions, StateStoreChoice, start};
use resilience_tui::metrics::server::MetricsPorts;
use resilience_tui::scenario::{self, PortOverrides};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, sleep_until};

/// One scrape, as Prometheus makes it: `GET /metrics` over TCP, the body back.
async fn scrape(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the metrics port answers");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The value of the sample with exactly these labels, if the scrape has it.
fn sample(scrape: &str, name: &str, labels: &str) -> Option<f64> {
    let key = format!("{name}{{{labels}}} ");
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map(|v| v.trim().parse().expect("a number"))
}

fn cb_state(scrape: &str, status: &str) -> Option<f64> {
    let labels = format!(
        r#"app_id="checkout",flow_direction="outbound",name="myresiliency",namespace="",policy="circuitbreaker",status="{status}",target="app_order-processor""#
    );
    sample(scrape, "dapr_resiliency_cb_state", &labels)
}

fn policy_metric(scrape: &str, name: &str, policy: &str, status: &str) -> Option<f64> {
    let labels = format!(
        r#"app_id="checkout",flow_direction="outbound",name="myresiliency",namespace="",policy="{policy}",status="{status}",target="app_order-processor""#
    );
    sample(scrape, name, &labels)
}

#[tokio::test(start_paused = true)]
async fn the_quickstart_story_in_daprd_metrics() {
    let source = scenario::find("service-invoke").expect("built in");
    let port = common::free_port;
    let (checkout_metrics, processor_metrics) = (port(), port());
    let opts = RunOptions {
        ports: PortOverrides {
            dapr_http: vec![("checkout".into(), port()), ("order-processor".into(), port())],
            app: vec![("order-processor".into(), port())],
        },
        metrics_ports: MetricsPorts {
            first: None,
            overrides: vec![
                ("checkout".into(), checkout_metrics),
                ("order-processor".into(), processor_metrics),
            ],
        },
        state_store: StateStoreChoice::Memory,
        sidecars_on_this_runtime: true,
        ..RunOptions::default()
    };
    let checkout = resilience_tui::net::loopback(checkout_metrics);
    let t0 = Instant::now();
    let (running, mut events) = start(source.load().unwrap(), &opts).await.expect("the scenario starts");
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });

    sleep_until(t0 + Duration::from_millis(5_500)).await;
    let healthy = scrape(checkout).await;
    assert_eq!(cb_state(&healthy, "closed"), Some(1.0), "{healthy}");
    let loaded = r#"app_id="checkout",name="myresiliency",namespace="""#;
    assert_eq!(
        sample(&healthy, "dapr_resiliency_loaded", loaded),
        Some(1.0),
        "{healthy}"
    );

    sleep_until(t0 + Duration::from_secs(10)).await;
    running.faults.inject(0).await;
    sleep_until(t0 + Duration::from_secs(32)).await;
    let open = scrape(checkout).await;
    assert_eq!(cb_state(&open, "open"), Some(1.0), "{open}");
    for status in ["closed", "half-open", "unknown"] {
        assert_eq!(cb_state(&open, status), Some(0.0), "{status}: {open}");
    }
    let activations = "dapr_resiliency_activations_total";
    assert_eq!(
        policy_metric(&open, activations, "circuitbreaker", "open"),
        Some(1.0),
        "{open}"
    );

    sleep_until(t0 + Duration::from_secs(45)).await;
    running.faults.clear_all().await;
    sleep_until(t0 + Duration::from_millis(49_500)).await;
    let recovered = scrape(checkout).await;
    assert_eq!(cb_state(&recovered, "closed"), Some(1.0), "{recovered}");
    for status in ["half-open", "open", "unknown"] {
        assert_eq!(cb_state(&recovered, status), Some(0.0), "{status}: {recovered}");
    }
    // One request was retried (the order held from 10 s to 45 s): daprd counts a retry activation once per
    // request, on its first failure. The breaker opened at 30, 35 and 40 s and closed at 45 s.
    assert_eq!(
        policy_metric(&recovered, activations, "retry", ""),
        Some(1.0),
        "{recovered}"
    );
    assert_eq!(
        policy_metric(&recovered, activations, "circuitbreaker", "open"),
        Some(3.0),
        "{recovered}"
    );
    assert_eq!(
        policy_metric(&recovered, activations, "circuitbreaker", "closed"),
        Some(1.0),
        "{recovered}"
    );
    assert_eq!(
        policy_metric(&recovered, activations, "circuitbreaker", "half-open"),
        None,
        "{recovered}"
    );
    // Orders at 0-9 s, the held one, and 46-49 s (checkout waits on the held one): one instantiation each,
    // every one finding the breaker closed.
    let requests = 10 + 1 + 4;
    let count = "dapr_resiliency_count";
    assert_eq!(
        policy_metric(&recovered, count, "retry", ""),
        Some(f64::from(requests)),
        "{recovered}"
    );
    let closed = policy_metric(&recovered, count, "circuitbreaker", "closed");
    assert_eq!(closed, Some(f64::from(requests)), "{recovered}");
    let sent = r#"app_id="checkout",dst_app_id="order-processor",type="unary""#;
    let sent = sample(&recovered, "dapr_runtime_service_invocation_req_sent_total", sent);
    // Every attempt is sent: the held order's 8 (the breaker refused none: each retry came as it re-opened).
    assert_eq!(sent, Some(f64::from(requests - 1 + 8)), "{recovered}");
    let answered = r#"app_id="checkout",src_app_id="order-processor",status="200",type="unary""#;
    let answered = sample(&recovered, "dapr_runtime_service_invocation_res_recv_total", answered);
    assert_eq!(answered, Some(f64::from(requests)), "{recovered}");
    // v1.18's default (legacy) HTTP server metrics: checkout's `POST /orders` with `dapr-app-id` is labelled
    // with its own path, counted once per request and once per response, timed and sized.
    let served = r#"app_id="checkout",method="POST",path="/orders",status="200""#;
    for family in ["dapr_http_server_request_count", "dapr_http_server_response_count"] {
        assert_eq!(
            sample(&recovered, family, served),
            Some(f64::from(requests)),
            "{family}: {recovered}"
        );
    }
    let timed = sample(&recovered, "dapr_http_server_latency_count", served);
    assert_eq!(timed, Some(f64::from(requests)), "{recovered}");
    for family in [
        "dapr_http_server_request_bytes_count",
        "dapr_http_server_response_bytes_count",
    ] {
        let sized = sample(&recovered, family, r#"app_id="checkout""#);
        assert_eq!(sized, Some(f64::from(requests)), "{family}: {recovered}");
    }

    // The callee's sidecar serves its own metrics: the resource is scoped to checkout, so none loaded there.
    let processor = scrape(resilience_tui::net::loopback(processor_metrics)).await;
    assert!(!processor.contains("dapr_resiliency_loaded"), "{processor}");
    // …and counts the calls that reached it through the hop (none while it was stopped), each answered.
    let received = r#"app_id="order-processor",src_app_id="checkout""#;
    let received = sample(&processor, "dapr_runtime_service_invocation_req_recv_total", received);
    assert!(received.is_some_and(|n| n >= 1.0), "{processor}");
    let replied = r#"app_id="order-processor",dst_app_id="checkout",status="200""#;
    let replied = sample(&processor, "dapr_runtime_service_invocation_res_sent_total", replied);
    assert_eq!(replied, received, "{processor}");
    // The hop is daprd's internal gRPC call, not a request to the callee's HTTP server.
    assert!(!processor.contains("dapr_http_server_"), "{processor}");

    let warnings = running.shutdown().await;
    assert!(warnings.is_empty(), "{warnings:?}");
    drain.await.unwrap();
}

#[tokio::test]
async fn a_taken_metrics_port_is_named_with_its_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let free = common::free_port;
    let opts = RunOptions {
        ports: PortOverrides {
            dapr_http: vec![("checkout".into(), free()), ("order-processor".into(), free())],
            app: vec![("order-processor".into(), free())],
        },
        metrics_ports: MetricsPorts {
            first: None,
            overrides: vec![("checkout".into(), port)],
        },
        state_store: StateStoreChoice::Memory,
        ..RunOptions::default()
    };
    let source = scenario::find("service-invoke").expect("built in");
    let Err(error) = start(source.load().unwrap(), &opts).await else {
        panic!("started on a taken metrics port");
    };
    let text = format!("{error:#}");
    assert!(text.contains(&format!("port {port} is already in use")), "{text}");
    assert!(text.contains("--metrics-port checkout=PORT"), "{text}");
}

#[test]
fn metrics_ports_count_up_from_daprds_9090_unless_moved() {
    let ports = MetricsPorts::daprd(vec![("order-processor".into(), 9300)]);
    assert_eq!(ports.port("checkout", 0), 9090);
    assert_eq!(ports.port("order-processor", 1), 9300);
    assert_eq!(ports.port("third", 2), 9092);
    assert_eq!(MetricsPorts::default().port("checkout", 0), 0, "any free port");
}

/// `no-resiliency` with the quickstart's fault: no Resiliency resource names order-processor, so each order
/// runs under daprd's built-in service retries (4 hops, 1 s apart), and daprd counts every hop as a request
/// sent (`invokeRemote` runs inside the built-in runner, `direct_messaging.go`). Then only the app stops: the
/// callee's sidecar answers each hop with an app-channel error, and daprd's `CallLocalStream` leaves the status
/// of the response it counts at 0 (`pkg/api/grpc/daprinternal.go`).
#[tokio::test(start_paused = true)]
async fn every_hop_is_counted_and_an_app_channel_error_is_status_0() {
    let source = scenario::find("no-resiliency").expect("built in");
    let port = common::free_port;
    let (checkout_metrics, processor_metrics, processor_sidecar) = (port(), port(), port());
    let opts = RunOptions {
        ports: PortOverrides {
            dapr_http: vec![
                ("checkout".into(), port()),
                ("order-processor".into(), processor_sidecar),
            ],
            app: vec![("order-processor".into(), port())],
        },
        metrics_ports: MetricsPorts {
            first: None,
            overrides: vec![
                ("checkout".into(), checkout_metrics),
                ("order-processor".into(), processor_metrics),
            ],
        },
        state_store: StateStoreChoice::Memory,
        sidecars_on_this_runtime: true,
        ..RunOptions::default()
    };
    let (checkout, processor) = (
        resilience_tui::net::loopback(checkout_metrics),
        resilience_tui::net::loopback(processor_metrics),
    );
    let t0 = Instant::now();
    let (running, mut events) = start(source.load().unwrap(), &opts).await.expect("the scenario starts");
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
    let sent_labels = r#"app_id="checkout",dst_app_id="order-processor",type="unary""#;
    let answered_labels = r#"app_id="checkout",src_app_id="order-processor",status="200",type="unary""#;

    // Orders at 0, 1 and 2 s pass. The sidecar stops at 2.5 s: the order sent at 3 s is tried at 3, 4, 5 and
    // 6 s, the next at 7-10 s, the next at 11-14 s; each fails after its 4th hop.
    sleep_until(t0 + Duration::from_millis(2_500)).await;
    running.faults.inject(0).await;
    sleep_until(t0 + Duration::from_millis(14_500)).await;
    let stopped = scrape(checkout).await;
    let sent = sample(&stopped, "dapr_runtime_service_invocation_req_sent_total", sent_labels);
    assert_eq!(sent, Some(3.0 + 3.0 * 4.0), "{stopped}");
    let answered = sample(
        &stopped,
        "dapr_runtime_service_invocation_res_recv_total",
        answered_labels,
    );
    assert_eq!(
        answered,
        Some(3.0),
        "no answer came back from a stopped sidecar: {stopped}"
    );

    // The sidecar is back at 14.5 s (the order at 15 s passes); only the app stops at 15.5 s. The orders at
    // 16, 17 and 18 s reach the callee's sidecar and fail there, once each (Internal is not retried).
    running.faults.clear_all().await;
    sleep_until(t0 + Duration::from_millis(15_500)).await;
    running.faults.inject(1).await;
    sleep_until(t0 + Duration::from_millis(18_500)).await;
    let served = scrape(processor).await;
    let channel_error = r#"app_id="order-processor",dst_app_id="checkout",status="0""#;
    let channel_error = sample(&served, "dapr_runtime_service_invocation_res_sent_total", channel_error);
    assert_eq!(channel_error, Some(3.0), "{served}");
    let ok = r#"app_id="order-processor",dst_app_id="checkout",status="200""#;
    let ok = sample(&served, "dapr_runtime_service_invocation_res_sent_total", ok);
    assert_eq!(ok, Some(4.0), "{served}");

    // A hop that does not say who calls is counted as from "unknown" (daprd's `callLocalRecordRequest`).
    let mut stream = tokio::net::TcpStream::connect(resilience_tui::net::loopback(processor_sidecar))
        .await
        .unwrap();
    let request =
        "POST /dapr-internal/v1/invoke/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.read_to_end(&mut Vec::new()).await.unwrap();
    let served = scrape(processor).await;
    let unknown = r#"app_id="order-processor",src_app_id="unknown""#;
    let unknown = sample(&served, "dapr_runtime_service_invocation_req_recv_total", unknown);
    assert_eq!(unknown, Some(1.0), "{served}");
    assert!(!served.contains(r#"src_app_id="""#), "{served}");

    let warnings = running.shutdown().await;
    assert!(warnings.is_empty(), "{warnings:?}");
    drain.await.unwrap();
}

/// The resiliency metrics' `namespace` label is the resource's `metadata.namespace` (daprd's `r.namespace`,
/// `pkg/resiliency/resiliency.go`), not always empty.
#[tokio::test(start_paused = true)]
async fn the_namespace_label_is_the_resource_s() {
    const RESOURCE: &str = "apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
  namespace: production
spec:
  policies:
    retries:
      twice: {policy: constant, duration: 1s, maxRetries: 2}
  targets:
    apps:
      order-processor: {retry: twice}
";
    let files = vec![(std::path::PathBuf::from("r.yaml"), RESOURCE.as_bytes().to_vec())];
    let loaded = resilience_tui::resources::load_files(files, None);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    let metrics = resilience_tui::metrics::SidecarMetrics::new("checkout");
    let observer = metrics.clone();
    let r = resilience_tui::resiliency::Resiliency::new("checkout", loaded.resiliency_configs(), observer);
    let _ = r
        .endpoint_policy("order-processor", "orders")
        .run(|_| async { Ok::<(), common::OpError>(()) })
        .await;
    let text = metrics.render();
    let loaded = r#"app_id="checkout",name="myresiliency",namespace="production""#;
    assert_eq!(sample(&text, "dapr_resiliency_loaded", loaded), Some(1.0), "{text}");
    let count = r#"app_id="checkout",flow_direction="outbound",name="myresiliency",namespace="production",policy="retry",status="",target="app_order-processor""#;
    assert_eq!(sample(&text, "dapr_resiliency_count", count), Some(1.0), "{text}");
}

/// `/metrics` also serves the process's own metrics, as daprd's exporter does (`pkg/metrics/exporter.go`).
#[test]
fn the_process_metrics_are_served_too() {
    let text = resilience_tui::metrics::SidecarMetrics::new("checkout").render();
    for family in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(text.contains(&format!("\n{family} ")), "{family}: {text}");
    }
}
