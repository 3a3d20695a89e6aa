//! The sidecar's HTTP API on real loopback ports, against a real echo app: both invoke forms, forwarding,
//! pass-through of an app's error after retries, Dapr's error shapes, healthz, metadata and the API token.

use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use resilience_tui::resiliency::Resiliency;
use resilience_tui::resiliency::events::Discard;
use resilience_tui::resources::load_files;
use resilience_tui::sidecar::{NameResolver, Sidecar, SidecarError, SidecarOptions};
use serde_json::Value;

const POLICY: &str = r#"
kind: Resiliency
metadata: {name: testresiliency}
spec:
  policies:
    retries:
      DefaultAppRetryPolicy: {policy: constant, duration: 10ms, maxRetries: 3}
    circuitBreakers:
      cb: {maxRequests: 1, timeout: 5s, trip: consecutiveFailures >= 3}
  targets:
    apps:
      fragile: {circuitBreaker: cb}
"#;

/// An app that answers `/status/<code>` with that code, and echoes everything else as JSON.
async fn start_app(calls: Arc<AtomicU32>) -> SocketAddr {
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if let Some(code) = uri.path().strip_prefix("/status/") {
                let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
                return (status, [("x-app", "yes")], "fail".to_string());
            }
            let echo = serde_json::json!({
                "method": method.as_str(),
                "path": uri.path(),
                "query": uri.query(),
                "contentType": headers.get("content-type").map(|v| v.to_str().unwrap()),
                "token": headers.get("dapr-api-token").is_some(),
                "appIdHeader": headers.get("dapr-app-id").is_some(),
                "authorization": headers.get("authorization").is_some(),
                "body": String::from_utf8_lossy(&body),
            });
            (StatusCode::OK, [("x-app", "yes")], echo.to_string())
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(any(handler)))
            .await
            .unwrap()
    });
    addr
}

struct Harness {
    base: String,
    calls: Arc<AtomicU32>,
    client: reqwest::Client,
    _sidecar: Sidecar,
}

async fn harness(api_token: Option<&str>) -> Harness {
    let calls = Arc::new(AtomicU32::new(0));
    let app = start_app(calls.clone()).await;
    let resolver = Arc::new(NameResolver::default());
    resolver.register("echo", app);
    resolver.register("fragile", app);
    let loaded = load_files(vec![(PathBuf::from("r.yaml"), POLICY.as_bytes().to_vec())], None);
    assert!(!loaded.has_errors());
    let resiliency = Resiliency::new("caller", loaded.resiliency_configs(), Arc::new(Discard));
    let options = common::sidecar_options("caller", api_token);
    let sidecar = Sidecar::start(options, resiliency, resolver, Vec::new()).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    Harness {
        base: format!("http://{}", sidecar.addr()),
        calls,
        client,
        _sidecar: sidecar,
    }
}

async fn json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap())
}

#[tokio::test]
async fn invoke_by_header_forwards_everything() {
    let h = harness(None).await;
    let r = h
        .client
        .put(format!("{}/orders/42?x=1&y=2", h.base))
        .header("dapr-app-id", "echo")
        .header("content-type", "application/xml")
        .body("<order/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-app"], "yes");
    let (status, echo) = json(r).await;
    assert_eq!(status, 200);
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path"], "/orders/42");
    assert_eq!(echo["query"], "x=1&y=2");
    assert_eq!(echo["contentType"], "application/xml");
    assert_eq!(echo["body"], "<order/>");
    assert_eq!(echo["appIdHeader"], false, "dapr-app-id is removed before forwarding");
}

#[tokio::test]
async fn invoke_by_path_and_basic_auth() {
    let h = harness(None).await;
    let (status, echo) = json(
        h.client
            .post(format!("{}/v1.0/invoke/echo/method/a/b/../c?q=1", h.base))
            .body("hi")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, echo["path"].as_str(), echo["query"].as_str()),
        (200, Some("/a/c"), Some("q=1"))
    );
    let basic = base64_basic("dapr-app-id:echo");
    let r = h
        .client
        .get(format!("{}/orders", h.base))
        .header("authorization", basic)
        .send()
        .await
        .unwrap();
    let (status, echo) = json(r).await;
    assert_eq!(
        (status, echo["method"].as_str(), echo["path"].as_str()),
        (200, Some("GET"), Some("/orders"))
    );
}

/// daprd's `findTargetIDAndMethod`: the header wins even on an invoke path (the whole path is the method,
/// path-cleaned with its trailing slash kept); Basic auth's user name ignores case and the header is kept.
#[tokio::test]
async fn header_and_basic_auth_win_as_in_daprd() {
    let h = harness(None).await;
    let (status, echo) = json(
        h.client
            .post(format!("{}/v1.0/invoke/nosuch/method/x/../y/", h.base))
            .header("dapr-app-id", "echo")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, echo["path"].as_str()),
        (200, Some("/v1.0/invoke/nosuch/method/y/"))
    );
    let r = h
        .client
        .get(format!("{}/orders/", h.base))
        .header("authorization", base64_basic("DAPR-APP-ID:fragile"))
        .send()
        .await
        .unwrap();
    let (status, echo) = json(r).await;
    assert_eq!((status, echo["path"].as_str()), (200, Some("/orders/")));
    assert_eq!(echo["authorization"], true, "daprd keeps the Authorization header");
    let breakers: Vec<String> = h
        ._sidecar
        .resiliency()
        .breakers()
        .iter()
        .map(|b| b.name().to_string())
        .collect();
    assert!(breakers.contains(&"fragile:orders/".to_string()), "{breakers:?}");
}

fn base64_basic(s: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s))
}

#[tokio::test]
async fn no_app_id_is_dapr_s_404() {
    let h = harness(None).await;
    let (status, body) = json(h.client.post(format!("{}/orders", h.base)).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(body["errorCode"], "ERR_DIRECT_INVOKE");
    assert_eq!(
        body["message"],
        "failed getting app id either from the URL path or the header dapr-app-id"
    );
}

#[tokio::test]
async fn app_error_is_retried_then_passed_through() {
    let h = harness(None).await;
    let r = h
        .client
        .post(format!("{}/status/400", h.base))
        .header("dapr-app-id", "echo")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["x-app"], "yes");
    assert_eq!(r.text().await.unwrap(), "fail");
    assert_eq!(
        h.calls.load(Ordering::SeqCst),
        4,
        "1 attempt + 3 retries of DefaultAppRetryPolicy"
    );
}

#[tokio::test]
async fn unreachable_app_and_open_breaker() {
    let h = harness(None).await;
    let (status, body) = json(
        h.client
            .post(format!("{}/v1.0/invoke/nobody/method/x", h.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(body["errorCode"], "ERR_DIRECT_INVOKE");
    assert_eq!(
        body["message"],
        "failed to invoke, id: nobody, err: couldn't find service: nobody"
    );

    // `fragile` has a breaker (trip at 3) and no retry: three 500s from the app, then Dapr's own 500.
    for _ in 0..3 {
        let r = h
            .client
            .post(format!("{}/status/503", h.base))
            .header("dapr-app-id", "fragile")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 503);
    }
    let (status, body) = json(
        h.client
            .post(format!("{}/status/503", h.base))
            .header("dapr-app-id", "fragile")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        body["message"],
        "failed to invoke, id: fragile, err: circuit breaker is open"
    );
    assert_eq!(
        h.calls.load(Ordering::SeqCst),
        3,
        "the open breaker kept the 4th call from the app"
    );
}

#[tokio::test]
async fn health_and_metadata() {
    let h = harness(None).await;
    for path in ["/v1.0/healthz", "/v1.0/healthz/outbound"] {
        assert_eq!(
            h.client
                .get(format!("{}{path}", h.base))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            204
        );
    }
    let (status, meta) = json(h.client.get(format!("{}/v1.0/metadata", h.base)).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(meta["id"], "caller");
    // daprd reports its release; the sidecar reports the one it follows (v1.18.3).
    assert_eq!(meta["runtimeVersion"], "1.18.3");
    assert_eq!(meta["extended"]["daprRuntimeVersion"], "1.18.3");
    assert!(meta["components"].is_array());
    assert_eq!(meta["resiliencies"][0]["name"], "testresiliency");
}

#[tokio::test]
async fn api_token_is_enforced_like_daprd() {
    let h = harness(Some("s3cret")).await;
    let r = h
        .client
        .post(format!("{}/orders", h.base))
        .header("dapr-app-id", "echo")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.text().await.unwrap(), "invalid api token\n");
    assert_eq!(
        h.client
            .get(format!("{}/v1.0/healthz", h.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let r = h
        .client
        .post(format!("{}/orders", h.base))
        .header("dapr-app-id", "echo")
        .header("dapr-api-token", "s3cret");
    let (status, echo) = json(r.send().await.unwrap()).await;
    assert_eq!(
        (status, echo["token"].as_bool()),
        (200, Some(false)),
        "the token is not forwarded to the app"
    );
}

#[tokio::test]
async fn port_in_use_names_the_port_and_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let options = SidecarOptions {
        app_id: "checkout".into(),
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        port_flag: "--dapr-http-port checkout=PORT".into(),
        grpc_listen: None,
        grpc_port_chosen: false,
        app_port: None,
        api_token: None,
        max_body_bytes: 1024,
        metrics: None,
    };
    let resiliency = Resiliency::new("checkout", Vec::new(), Arc::new(Discard));
    let err = Sidecar::start(options, resiliency, Arc::default(), Vec::new())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SidecarError::PortInUse { .. }));
    let text = err.to_string();
    assert!(
        text.contains(&format!("port {port} is already in use")) && text.contains("--dapr-http-port checkout=PORT"),
        "{text}"
    );
}
