//! Bad HTTP input to the sidecar, on a real port: every mistake a client can make gets Dapr's error shape
//! (`{"errorCode", "message"}`) and status, never a panic, a hang or a plain-text answer of the framework's.
//! Raw TCP is used where a well-behaved client library would refuse to send the request.

use crate::common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = echo_app().await;
    let sidecar = sidecar(Some(app)).await;
    let big = vec![b'x'; LIMIT + 1];
    let save = format!("http://{}/v1.0/state/statestore", sidecar.addr());
    let invoke = format!("http://{}/v1.0/invoke/echo/method/orders", sidecar.addr());
    for url in [&save, &invoke] {
        let (status, text) = post(url, big.clone()).await;
        assert_eq!(status, 413, "{url}: {text}");
        let (code, message) = dapr_error(&text);
        assert_eq!(code, "ERR_MALFORMED_REQUEST");
        assert!(
            message.contains(&LIMIT.to_string()) && message.contains("--max-body-size"),
            "{message}"
        );
    }
    // Exactly at the limit passes through.
    let (status, text) = post(&invoke, vec![b'y'; LIMIT]).await;
    assert_eq!((status, text.len()), (200, LIMIT));

    // Chunked, so no Content-Length to refuse early: the limit still holds while streaming to the app.
    let mut request = format!(
        "POST /v1.0/invoke/echo/method/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        LIMIT + 10
    )
    .into_bytes();
    request.extend(vec![b'z'; LIMIT + 10]);
    request.extend(b"\r\n0\r\n\r\n");
    let (status, text) = raw(sidecar.addr(), request).await;
    assert!(status == 413 || status == 500, "{text}");
    assert!(text.contains("--max-body-size"), "{text}");
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
