//! `DAPR_API_TOKEN` on two real sidecars (checkout's and order-processor's, both with the token, as a run
//! with the variable set starts them) in front of a real app: the token guards only the public API, as in
//! daprd; the hop between the sidecars is not guarded, and a token refusal never reaches the policy.

use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use resilience_tui::resiliency::Resiliency;
use resilience_tui::resiliency::events::{Discard, Recorder, ResiliencyEvent};
use resilience_tui::resources::load_files;
use resilience_tui::sidecar::{NameResolver, Sidecar, SidecarOptions};

const TOKEN: &str = "s3cret";

/// A breaker that opens on the first failure and retries: any failure counted would show.
const POLICY: &str = r#"
kind: Resiliency
metadata: {name: tokenresiliency}
spec:
  policies:
    retries:
      retryTwice: {policy: constant, duration: 10ms, maxRetries: 2}
    circuitBreakers:
      touchy: {maxRequests: 1, timeout: 30s, trip: consecutiveFailures >= 1}
  targets:
    apps:
      order-processor: {retry: retryTwice, circuitBreaker: touchy}
"#;

/// order-processor's app: counts its calls and says whether a token reached it.
async fn start_app(calls: Arc<AtomicU32>) -> SocketAddr {
    let handler = move |headers: HeaderMap| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let token = headers.contains_key("dapr-api-token");
            (StatusCode::OK, format!("order received; token seen: {token}"))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().fallback(any(handler))).await });
    addr
}

/// A sidecar's options with the token, on port 0 (the sidecar reports the port it got).
fn options(app_id: &str, app_port: Option<u16>) -> SidecarOptions {
    SidecarOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        app_port,
        ..common::sidecar_options(app_id, Some(TOKEN))
    }
}

struct Pair {
    checkout: Sidecar,
    _order_processor: Sidecar,
    calls: Arc<AtomicU32>,
    recorder: Arc<Recorder>,
}

async fn start_pair() -> Pair {
    let calls = Arc::new(AtomicU32::new(0));
    let app = start_app(calls.clone()).await;
    let resolver = Arc::new(NameResolver::default());
    let loaded = load_files(vec![(PathBuf::from("r.yaml"), POLICY.as_bytes().to_vec())], None);
    assert!(!loaded.has_errors());
    let callee = Resiliency::new("order-processor", loaded.resiliency_configs(), Arc::new(Discard));
    let order_processor = Sidecar::start(
        options("order-processor", Some(app.port())),
        callee,
        resolver.clone(),
        Vec::new(),
    )
    .await
    .unwrap();
    resolver.register_sidecar("order-processor", order_processor.addr());
    let recorder = Recorder::new();
    let caller = Resiliency::new("checkout", loaded.resiliency_configs(), recorder.clone());
    let checkout = Sidecar::start(options("checkout", None), caller, resolver, Vec::new())
        .await
        .unwrap();
    Pair {
        checkout,
        _order_processor: order_processor,
        calls,
        recorder,
    }
}

async fn order(pair: &Pair, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!(
        "http://{}/v1.0/invoke/order-processor/method/orders",
        pair.checkout.addr()
    );
    let mut request = client.post(url).body(r#"{"orderId":1}"#);
    if let Some(token) = token {
        request = request.header("dapr-api-token", token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_right_token_reaches_the_app_through_the_unguarded_hop() {
    let pair = start_pair().await;
    let (status, body) = order(&pair, Some(TOKEN)).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "order received; token seen: false"),
        "the hop to order-processor's sidecar carries no token and needs none"
    );
    assert_eq!(pair.calls.load(Ordering::SeqCst), 1, "one attempt, no retry");
    let failed = pair.recorder.events().into_iter().any(|(_, e)| {
        matches!(
            e,
            ResiliencyEvent::AttemptFailed { .. } | ResiliencyEvent::BreakerStateChanged { .. }
        )
    });
    assert!(!failed, "no attempt failed: {:?}", pair.recorder.events());
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_daprd_s_401_and_touches_no_policy() {
    let pair = start_pair().await;
    for token in [Some("wrong"), None] {
        let (status, body) = order(&pair, token).await;
        assert_eq!((status, body.as_str()), (401, "invalid api token\n"), "token {token:?}");
    }
    assert_eq!(pair.calls.load(Ordering::SeqCst), 0, "the app was never called");
    let touched = |e: &ResiliencyEvent| !matches!(e, ResiliencyEvent::ResourceLoaded { .. });
    assert!(
        !pair.recorder.events().iter().any(|(_, e)| touched(e)),
        "a refused request never reaches the policy (no attempt, retry or breaker): {:?}",
        pair.recorder.events()
    );
    // The breaker (which opens on one failure) is still closed: the next good order goes through.
    assert_eq!(order(&pair, Some(TOKEN)).await.0, 200);
}

#[tokio::test]
async fn a_refusal_by_the_callee_s_sidecar_is_not_the_app_s_answer() {
    // A "sidecar" that refuses every hop with 401, as ours did when the token guarded the hop: the caller must
    // not pass that 401 on as order-processor's answer.
    let refuser = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refuser_addr = refuser.local_addr().unwrap();
    let refuse = || async { (StatusCode::UNAUTHORIZED, "invalid api token\n") };
    tokio::spawn(async move { axum::serve(refuser, Router::new().fallback(any(refuse))).await });
    let resolver = Arc::new(NameResolver::default());
    resolver.register_sidecar("order-processor", refuser_addr);
    let checkout = Sidecar::start(
        options("checkout", None),
        Resiliency::new("checkout", Vec::new(), Arc::new(Discard)),
        resolver,
        Vec::new(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/v1.0/invoke/order-processor/method/orders", checkout.addr());
    let response = client.post(url).header("dapr-api-token", TOKEN).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("ERR_DIRECT_INVOKE")
            && body.contains("refused the call with 401 Unauthorized: invalid api token"),
        "{body}"
    );
}
