//! Bad HTTP input to the sidecar, on a real port: every mistake a client can make gets Dapr's error shape
//! (`{"errorCode", "message"}`) and status, never a panic, a hang or a plain-text answer of the framework's.
//! Raw TCP is used where a well-behaved client library would refuse to send the request.

use crate::common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::get;

use resilience_tui::resiliency::Resiliency;
use resilience_tui::resiliency::events::Discard;
use resilience_tui::resources::load_files;
use resilience_tui::sidecar::{NameResolver, Sidecar};
use serde_json::Value;

const STORE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec: {type: state.in-memory, version: v1, metadata: []}
"#;

const LIMIT: usize = 64 * 1024;

async fn sidecar(app: Option<SocketAddr>) -> Sidecar {
    let loaded = load_files(vec![(PathBuf::from("r.yaml"), STORE.as_bytes().to_vec())], None);
    let resolver = Arc::new(NameResolver::default());
    if let Some(addr) = app {
        resolver.register("echo", addr);
    }
    let mut options = common::sidecar_options("checkout", None);
    options.max_body_bytes = LIMIT;
    let resiliency = Resiliency::new("checkout", Vec::new(), Arc::new(Discard));
    Sidecar::start(options, resiliency, resolver, loaded.components.clone())
        .await
        .unwrap()
}

/// An app that answers every request with 200 and the body it read.
async fn echo_app() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(|body: axum::body::Bytes| async move { body });
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Sends raw bytes, returns (status, headers and body text).
async fn raw(addr: SocketAddr, request: Vec<u8>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        conn.write_all(&request).unwrap();
        let mut reply = Vec::new();
        let _ = conn.read_to_end(&mut reply);
        let text = String::from_utf8_lossy(&reply).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, text)
    })
    .await
    .unwrap()
}

fn dapr_error(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not Dapr's error shape ({e}): {body}"));
    (
        v["errorCode"].as_str().unwrap_or_default().to_string(),
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

async fn post(url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let r = reqwest::Client::new().post(url).body(body).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn malformed_state_requests_get_dapr_errors() {
    let sidecar = sidecar(None).await;
    let base = format!("http://{}/v1.0/state", sidecar.addr());
    let save = format!("{base}/statestore");
    for (body, why) in [
        ("{not json", "malformed JSON"),
        ("", "an empty body"),
        (r#"{"key": "a", "value": 1}"#, "an object, not an array"),
        (r#"[{"key": 7}]"#, "a key that is not a string"),
    ] {
        let (status, text) = post(&save, body).await;
        assert_eq!(status, 400, "{why}: {text}");
        let (code, message) = dapr_error(&text);
        assert_eq!(code, "ERR_MALFORMED_REQUEST", "{why}: {text}");
        assert!(message.starts_with("failed to parse request body"), "{why}: {message}");
    }
    // daprd reads the array first, then finds the item's key missing (`pkg/api/http/http.go`).
    let (status, text) = post(&save, r#"[{"value": 1}]"#).await;
    assert_eq!(status, 400, "an item without a key: {text}");
    let (code, message) = dapr_error(&text);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ERR_MALFORMED_REQUEST", "\"key\" is a required field")
    );
    for path in ["bulk", "transaction"] {
        let (status, text) = post(&format!("{save}/{path}"), "[1,2").await;
        assert_eq!(status, 400, "{path}: {text}");
        assert_eq!(dapr_error(&text).0, "ERR_MALFORMED_REQUEST");
    }

    let (status, text) = post(&save, r#"[{"key": "a||b", "value": 1}]"#).await;
    assert_eq!(status, 400, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    // daprd's details: BadRequest, ResourceInfo, then the ErrorInfo with the reason.
    let reasons: Vec<&Value> = v["details"].as_array().unwrap().iter().map(|d| &d["reason"]).collect();
    assert!(reasons.contains(&&Value::from("DAPR_STATE_ILLEGAL_KEY")), "{text}");

    let (status, text) = post(&format!("{base}/nostore"), r#"[{"key": "a", "value": 1}]"#).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(dapr_error(&text).0, "ERR_STATE_STORE_NOT_FOUND");

    // A key that is not UTF-8 once percent-decoded.
    let r = reqwest::get(format!("{save}/bad%FFkey")).await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(status, 400, "{text}");
    let (code, message) = dapr_error(&text);
    assert_eq!(code, "ERR_MALFORMED_REQUEST");
    assert!(message.contains("UTF-8"), "{message}");
    sidecar.stop().await;
}

/// checkout's sidecar and order-processor's, both with `LIMIT`; checkout's policy for order-processor has no
/// retries, so a body streams through unbuffered. The app counts the requests it read whole, echoes them, and
/// answers `/big` with more than `LIMIT` bytes.
async fn two_sidecars(read: Arc<AtomicUsize>) -> (Sidecar, Sidecar) {
    let app = {
        let big = ([("x-app", "kept")], vec![b'z'; LIMIT + 100]);
        let echo = move |body: axum::body::Bytes| async move {
            read.fetch_add(1, Ordering::SeqCst);
            body
        };
        let router = axum::Router::new()
            .route("/big", get(move || std::future::ready(big.clone())))
            .fallback(echo);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr
    };
    let resolver = Arc::new(NameResolver::default());
    let mut options = common::sidecar_options("order-processor", None);
    (options.app_port, options.max_body_bytes) = (Some(app.port()), LIMIT);
    let none = Resiliency::new("order-processor", Vec::new(), Arc::new(Discard));
    let processor = Sidecar::start(options, none, resolver.clone(), Vec::new())
        .await
        .unwrap();
    resolver.register_sidecar("order-processor", processor.addr());
    let loaded = load_files(vec![(PathBuf::from("r.yaml"), NO_RETRIES.as_bytes().to_vec())], None);
    let resiliency = Resiliency::new("checkout", loaded.resiliency_configs(), Arc::new(Discard));
    let mut options = common::sidecar_options("checkout", None);
    options.max_body_bytes = LIMIT;
    let checkout = Sidecar::start(options, resiliency, resolver, Vec::new()).await.unwrap();
    (checkout, processor)
}

const NO_RETRIES: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: no-retries}
spec:
  policies: {timeouts: {long: 30s}}
  targets: {apps: {order-processor: {timeout: long}}}
"#;

#[tokio::test]
async fn a_request_body_over_the_limit_gets_daprds_error_and_never_reaches_the_app() {
    let read = Arc::new(AtomicUsize::new(0));
    let (checkout, processor) = two_sidecars(read.clone()).await;
    let invoke = format!("http://{}/v1.0/invoke/order-processor/method/orders", checkout.addr());
    let daprds = (
        500,
        "ERR_DIRECT_INVOKE".to_string(),
        "failed to invoke, id: order-processor, err: stream too large".to_string(),
    );
    // Its Content-Length says it is too large: refused before anything is sent.
    let (status, text) = post(&invoke, vec![b'x'; LIMIT + 1]).await;
    let (code, message) = dapr_error(&text);
    assert_eq!((status, code, message), daprds.clone(), "{text}");
    // Chunked, so nothing says so first: it streams to order-processor's sidecar until the limit stops it.
    let mut request = format!(
        "POST /v1.0/invoke/order-processor/method/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        LIMIT + 10
    )
    .into_bytes();
    request.extend(vec![b'z'; LIMIT + 10]);
    request.extend(b"\r\n0\r\n\r\n");
    let (status, text) = raw(checkout.addr(), request).await;
    let (code, message) = dapr_error(text.split("\r\n\r\n").nth(1).unwrap_or_default());
    assert_eq!((status, code, message), daprds, "{text}");
    assert_eq!(read.load(Ordering::SeqCst), 0, "the app read none of them");
    // Exactly at the limit passes through, both ways.
    let (status, text) = post(&invoke, vec![b'y'; LIMIT]).await;
    assert_eq!((status, text.len()), (200, LIMIT));
    assert_eq!(read.load(Ordering::SeqCst), 1);

    // The state API reads its body whole: daprd's answer is Go's plain-text http.Error.
    let store = sidecar(None).await;
    let save = format!("http://{}/v1.0/state/statestore", store.addr());
    let r = reqwest::Client::new()
        .post(&save)
        .body(vec![b'x'; LIMIT + 1])
        .send()
        .await
        .unwrap();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let (status, text) = (r.status().as_u16(), r.text().await.unwrap());
    assert_eq!(
        (status, text.as_str()),
        (400, "error reading request body: stream too large\n")
    );
    assert_eq!(content_type.as_deref(), Some("text/plain; charset=utf-8"));
    for sidecar in [checkout, processor, store] {
        sidecar.stop().await;
    }
}

#[tokio::test]
async fn an_answer_over_the_limit_is_cut_there_as_daprd_cuts_it() {
    let (checkout, processor) = two_sidecars(Arc::default()).await;
    // The app's status and headers, then its first LIMIT bytes, and the answer ends: only the sidecar's
    // warning says there was more.
    let url = format!("http://{}/v1.0/invoke/order-processor/method/big", checkout.addr());
    let r = reqwest::get(&url).await.unwrap();
    let (status, kept) = (r.status().as_u16(), r.headers().get("x-app").cloned());
    let body = r.bytes().await.unwrap();
    assert_eq!(
        (status, kept.as_ref().map(|v| v.to_str().unwrap())),
        (200, Some("kept"))
    );
    assert_eq!(body.len(), LIMIT, "exactly the limit's bytes arrive");
    assert!(body.iter().all(|b| *b == b'z'));
    checkout.stop().await;
    processor.stop().await;
}

/// daprd's gRPC API takes `--max-body-size` as grpc-go's largest message, and refuses a larger one in grpc-go's
/// words (tonic's own default, 4MB, and its OutOfRange would differ).
#[tokio::test]
async fn a_grpc_message_over_the_limit_is_resource_exhausted() {
    use dapr::dapr::proto::{common::v1::StateItem, runtime::v1 as pb};
    let sidecar = sidecar(None).await;
    let url = format!("http://{}", sidecar.grpc_addr().unwrap());
    let mut client = pb::dapr_client::DaprClient::connect(url).await.unwrap();
    let item = |size| StateItem {
        key: "k".into(),
        value: vec![b'1'; size],
        ..Default::default()
    };
    let request = |size| pb::SaveStateRequest {
        store_name: "statestore".into(),
        states: vec![item(size)],
    };
    let over = request(LIMIT);
    let len = prost::Message::encoded_len(&over);
    let status = client.save_state(over).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        status.message(),
        format!("grpc: received message larger than max ({len} vs. {LIMIT})")
    );
    client.save_state(request(LIMIT - 100)).await.unwrap();
    sidecar.stop().await;
}

#[tokio::test]
async fn wrong_methods_get_405_naming_the_right_ones() {
    let sidecar = sidecar(None).await;
    let client = reqwest::Client::new();
    for (method, path, allowed) in [
        (reqwest::Method::PATCH, "/v1.0/state/statestore", "POST, PUT"),
        (reqwest::Method::GET, "/v1.0/state/statestore/transaction", "POST"),
        (reqwest::Method::PUT, "/v1.0/state/statestore/key", "GET, DELETE"),
        (reqwest::Method::DELETE, "/v1.0/metadata", "GET"),
        (reqwest::Method::POST, "/v1.0/healthz", "GET"),
    ] {
        let r = client
            .request(method.clone(), format!("http://{}{path}", sidecar.addr()))
            .send()
            .await
            .unwrap();
        let (status, allow) = (r.status().as_u16(), r.headers().get("allow").cloned());
        let text = r.text().await.unwrap();
        assert_eq!(status, 405, "{method} {path}: {text}");
        assert_eq!(
            allow.as_ref().and_then(|v| v.to_str().ok()),
            Some(allowed),
            "{method} {path}"
        );
        let (code, message) = dapr_error(&text);
        assert_eq!(code, "ERR_MALFORMED_REQUEST");
        assert!(message.contains(&format!("use {allowed}")), "{message}");
    }
    sidecar.stop().await;
}

#[tokio::test]
async fn bytes_that_are_not_utf8_in_headers_and_paths() {
    let sidecar = sidecar(Some(echo_app().await)).await;
    let addr = sidecar.addr();
    // A header value that is not UTF-8 is carried, not choked on: the read still answers.
    let (status, text) = raw(
        addr,
        b"GET /v1.0/state/statestore/missing HTTP/1.1\r\nHost: x\r\nX-Junk: \xff\xfe\r\nConnection: close\r\n\r\n"
            .to_vec(),
    )
    .await;
    assert_eq!(status, 204, "{text}");
    // An app id that is not UTF-8 names no app: Dapr's invoke error.
    let (status, text) = raw(
        addr,
        b"POST /orders HTTP/1.1\r\nHost: x\r\ndapr-app-id: \xffecho\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            .to_vec(),
    )
    .await;
    assert_eq!(status, 500, "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(dapr_error(body).0, "ERR_DIRECT_INVOKE", "{text}");
    // Raw non-ASCII bytes in the request line are not HTTP at all; the server refuses them before routing.
    let (status, _) = raw(
        addr,
        b"GET /v1.0/state/st\xffore/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    // The sidecar still serves after all of it.
    let r = reqwest::get(format!("http://{addr}/v1.0/healthz")).await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    sidecar.stop().await;
}
