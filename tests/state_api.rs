//! Dapr's state API on the sidecar, on a real port, with an in-memory store component: values and ETags,
//! 204 for a missing key, Dapr's error shapes, and the component's outbound resiliency (an ETag conflict on
//! save is counted by the breaker but not retried; an outage opens `simpleCB-statestore`).

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;

use resilience_tui::resiliency::events::Discard;
use resilience_tui::resiliency::{BreakerState, Resiliency};
use resilience_tui::resources::load_files;
use resilience_tui::sidecar::{NameResolver, Sidecar};
use serde_json::Value;

/// Two files, as daprd reads only the first document of a file as a Resiliency.
const COMPONENT: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec: {type: state.in-memory, version: v1, metadata: []}
"#;

const RESOURCES: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: stateresiliency}
spec:
  policies:
    retries: {fast: {duration: 10ms, maxRetries: 2}}
    circuitBreakers: {simpleCB: {maxRequests: 1, timeout: 5s, trip: consecutiveFailures >= 5}}
  targets:
    components:
      statestore:
        outbound: {retry: fast, circuitBreaker: simpleCB}
"#;

struct Harness {
    base: String,
    save: String,
    client: reqwest::Client,
    sidecar: Sidecar,
}

async fn harness() -> Harness {
    harness_of(vec![
        (PathBuf::from("c.yaml"), COMPONENT.as_bytes().to_vec()),
        (PathBuf::from("r.yaml"), RESOURCES.as_bytes().to_vec()),
    ])
    .await
}

async fn harness_of(files: Vec<(PathBuf, Vec<u8>)>) -> Harness {
    let loaded = load_files(files, None);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.render_diagnostics());
    let resiliency = Resiliency::new("order-processor", loaded.resiliency_configs(), Arc::new(Discard));
    let options = common::sidecar_options("order-processor", None);
    let sidecar = Sidecar::start(
        options,
        resiliency,
        Arc::new(NameResolver::default()),
        loaded.components.clone(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{}/v1.0/state", sidecar.addr());
    Harness {
        save: format!("{base}/statestore"),
        base,
        client,
        sidecar,
    }
}

async fn send(r: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn save_get_delete_with_etags() {
    let h = harness().await;
    let (status, _, _) = send(
        h.client
            .post(&h.save)
            .body(r#"[{"key":"1","value":{"orderId":"1"}},{"key":"s","value":"bar"}]"#),
    )
    .await;
    assert_eq!(status, 204);
    let (status, headers, body) = send(h.client.get(format!("{}/statestore/1", h.base))).await;
    assert_eq!((status, body.as_str()), (200, r#"{"orderId":"1"}"#));
    assert_eq!(headers["etag"], "1");
    assert_eq!(headers["content-type"], "application/json");
    let (_, _, body) = send(h.client.get(format!("{}/statestore/s", h.base))).await;
    assert_eq!(
        body, r#""bar""#,
        "a string value keeps its JSON quotes, as Dapr stores it"
    );
    let (status, _, body) = send(h.client.get(format!("{}/statestore/missing", h.base))).await;
    assert_eq!((status, body.as_str()), (204, ""));

    let (status, _, _) = send(h.client.put(&h.save).body(r#"[{"key":"1","value":2,"etag":"1"}]"#)).await;
    assert_eq!(status, 204);
    let (_, headers, _) = send(h.client.get(format!("{}/statestore/1", h.base))).await;
    assert_eq!(headers["etag"], "2");

    let (status, _, body) = send(
        h.client
            .delete(format!("{}/statestore/1", h.base))
            .header("if-match", "1"),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(json(&body)["errorCode"], "ERR_STATE_DELETE");
    let (status, _, _) = send(
        h.client
            .delete(format!("{}/statestore/1", h.base))
            .header("if-match", "2"),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = send(h.client.get(format!("{}/statestore/1", h.base))).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn etag_conflict_is_409_counted_but_not_retried() {
    let h = harness().await;
    send(h.client.post(&h.save).body(r#"[{"key":"k","value":1}]"#)).await;
    let (status, _, body) = send(h.client.post(&h.save).body(r#"[{"key":"k","value":2,"etag":"7"}]"#)).await;
    assert_eq!(status, 409);
    let body = json(&body);
    assert_eq!(body["errorCode"], "ERR_STATE_SAVE");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("failed saving state in state store statestore: possible etag mismatch")
    );
    let breaker = h.sidecar.resiliency().breakers().into_iter().next().unwrap();
    assert_eq!(&**breaker.name(), "simpleCB-statestore");
    let counts = breaker.snapshot().counts;
    assert_eq!(
        (counts.total_failures, counts.requests),
        (1, 2),
        "one failed attempt: counted, not retried"
    );
    let (status, _, body) = send(h.client.post(&h.save).body(r#"[{"key":"k","value":2,"etag":"x"}]"#)).await;
    assert_eq!(
        (status, json(&body)["errorCode"].as_str()),
        (400, Some("ERR_STATE_SAVE")),
        "an invalid etag is 400"
    );
}

#[tokio::test]
async fn dapr_error_shapes() {
    let h = harness().await;
    let (status, _, body) = send(h.client.get(format!("{}/nostore/1", h.base))).await;
    let body = json(&body);
    assert_eq!(status, 400);
    assert_eq!(body["errorCode"], "ERR_STATE_STORE_NOT_FOUND");
    assert_eq!(body["message"], "state store nostore is not found");
    assert_eq!(body["details"][0]["reason"], "DAPR_STATE_NOT_FOUND");
    assert_eq!(body["details"][0]["metadata"]["appID"], "order-processor");

    let (status, _, body) = send(h.client.post(&h.save).body(r#"[{"key":"a||b","value":1}]"#)).await;
    let body = json(&body);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("ERR_MALFORMED_REQUEST"))
    );
    assert_eq!(
        body["details"][2]["reason"], "DAPR_STATE_ILLEGAL_KEY",
        "after BadRequest and ResourceInfo"
    );

    for bad in ["not json", r#"[{"value":1}]"#, r#"[{"key":"k","etag":5}]"#] {
        let (status, _, body) = send(h.client.post(&h.save).body(bad)).await;
        assert_eq!(
            (status, json(&body)["errorCode"].as_str()),
            (400, Some("ERR_MALFORMED_REQUEST")),
            "{bad}"
        );
    }
    let (status, _, _) = send(h.client.post(&h.save).body("[]")).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn an_outage_is_retried_then_opens_the_breaker() {
    let h = harness().await;
    send(h.client.post(&h.save).body(r#"[{"key":"1","value":1}]"#)).await;
    h.sidecar.memory_store("statestore").unwrap().set_down(true);
    let (status, _, body) = send(h.client.get(format!("{}/statestore/1", h.base))).await;
    let body = json(&body);
    assert_eq!((status, body["errorCode"].as_str()), (500, Some("ERR_STATE_GET")));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("fail to get 1 from state store statestore: "),
        "{body}"
    );
    // 3 attempts per request (1 + 2 retries): the 5th consecutive failure opens simpleCB-statestore.
    let (status, _, body) = send(h.client.get(format!("{}/statestore/1", h.base))).await;
    assert_eq!(status, 500);
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap()
            .ends_with("circuit breaker is open"),
        "{body}"
    );
    let breaker = h.sidecar.resiliency().breakers().into_iter().next().unwrap();
    assert_eq!(breaker.state(), BreakerState::Open);
    h.sidecar.memory_store("statestore").unwrap().set_down(false);
}

#[tokio::test]
async fn bulk_get_and_transactions() {
    let h = harness().await;
    let ops = r#"{"operations":[
        {"operation":"upsert","request":{"key":"a","value":{"orderId":"1"}}},
        {"operation":"upsert","request":{"key":"b","value":"two"}},
        {"operation":"delete","request":{"key":"b"}},
        {"operation":"upsert","request":{"key":"c","value":3}}]}"#;
    let (status, _, _) = send(h.client.post(format!("{}/transaction", h.save)).body(ops)).await;
    assert_eq!(status, 204);
    let (status, _, body) = send(
        h.client
            .post(format!("{}/bulk", h.save))
            .body(r#"{"keys":["a","b","c"],"parallelism":2}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        serde_json::json!([
            {"key": "a", "data": {"orderId": "1"}, "etag": "1"},
            {"key": "b"},
            {"key": "c", "data": 3, "etag": "1"}
        ]),
        "values come back as `data`, a missing key as just its key"
    );
    // daprd: any error of `Multi`, an ETag conflict included, is a plain 500 (and retried by the policy).
    let conflict = r#"{"operations":[{"operation":"upsert","request":{"key":"a","value":0,"etag":"9"}}]}"#;
    let (status, _, body) = send(h.client.post(format!("{}/transaction", h.save)).body(conflict)).await;
    assert_eq!(
        (status, json(&body)["errorCode"].as_str()),
        (500, Some("ERR_STATE_TRANSACTION"))
    );
    let message = json(&body)["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("error while executing state transaction: possible etag mismatch"),
        "{message}"
    );
    let bad = r#"{"operations":[{"operation":"merge","request":{"key":"a"}}]}"#;
    let (status, _, _) = send(h.client.post(format!("{}/transaction", h.save)).body(bad)).await;
    assert_eq!(status, 400);
}

/// A trailing bare `?` and `metadata.*` query parameters are accepted, as the SDKs send them.
#[tokio::test]
async fn query_forms_the_sdks_send() {
    let h = harness().await;
    let saved = send(
        h.client
            .post(format!("{}?metadata.ttlInSeconds=60", h.save))
            .body(r#"[{"key":"q","value":1}]"#),
    )
    .await;
    assert_eq!(saved.0, 204);
    let (status, _, body) = send(h.client.get(format!("{}/statestore/q?", h.base))).await;
    assert_eq!((status, body.as_str()), (200, "1"));
    let (status, _, _) = send(h.client.get(format!(
        "{}/statestore/q?metadata.partitionKey=p&consistency=strong",
        h.base
    )))
    .await;
    assert_eq!(status, 200);
}

/// daprd runs one policy call around the whole bulk get, and the default bulk store never fails it: with the
/// store down every item carries its error at once (no retries, the breaker counts a success); a key with
/// `||` fails the whole request.
#[tokio::test]
async fn bulk_get_is_one_call_that_never_fails() {
    let h = harness().await;
    let (status, _, body) = send(
        h.client
            .post(format!("{}/bulk", h.save))
            .body(r#"{"keys":["a","b||c"]}"#),
    )
    .await;
    assert_eq!(
        (status, json(&body)["errorCode"].as_str()),
        (400, Some("ERR_MALFORMED_REQUEST")),
        "{body}"
    );
    h.sidecar.memory_store("statestore").unwrap().set_down(true);
    for _ in 0..6 {
        let (status, _, body) = send(h.client.post(format!("{}/bulk", h.save)).body(r#"{"keys":["a","b"]}"#)).await;
        assert_eq!(status, 200, "{body}");
        let items = json(&body);
        assert!(items[0]["error"].is_string() && items[1]["error"].is_string(), "{body}");
    }
    let breaker = h.sidecar.resiliency().breakers().into_iter().next().unwrap();
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "six bulk gets with the store down are six successes"
    );
    h.sidecar.memory_store("statestore").unwrap().set_down(false);
}

/// daprd's `onPostState` / `onPostStateTransaction` edges (`pkg/api/http/http.go`) and the details of
/// `pkg/api/errors/state.go`, as dapr/kit writes them in JSON.
#[tokio::test]
async fn state_api_edges_as_daprd_answers_them() {
    let h = harness().await;
    let (status, _, body) = send(h.client.post(&h.save).body(r#"[{"key":"e","value":1,"etag":""}]"#)).await;
    assert_eq!((status, body.as_str()), (204, ""), "an empty ETag is none");
    let last_write = r#"[{"key":"e","value":2,"etag":"42","options":{"concurrency":"last-write"}}]"#;
    assert_eq!(send(h.client.post(&h.save).body(last_write)).await.0, 204);
    let (_, headers, body) = send(h.client.get(format!("{}/statestore/e", h.base))).await;
    assert_eq!((body.as_str(), headers["etag"].to_str().unwrap()), ("2", "2"));

    for bad in [r#"[{"key":"","value":1}]"#, r#"[{"value":1}]"#] {
        let (status, _, body) = send(h.client.post(&h.save).body(bad)).await;
        let body = json(&body);
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("ERR_MALFORMED_REQUEST"))
        );
        assert_eq!(body["message"], r#""key" is a required field"#, "{bad}");
    }
    let (status, _, body) = send(h.client.post(&h.save).body(r#"[{"key":"e","value":1,"etag":"x"}]"#)).await;
    assert_eq!(status, 400);
    assert_eq!(
        json(&body)["message"],
        r#"failed saving state in state store statestore: invalid etag value: strconv.Atoi: parsing "x": invalid syntax"#
    );

    let merge = r#"{"operations":[{"operation":"merge","request":{"key":"a"}}]}"#;
    let (status, _, body) = send(h.client.post(format!("{}/transaction", h.save)).body(merge)).await;
    let body = json(&body);
    assert_eq!(status, 400);
    assert_eq!(body["errorCode"], "ERR_NOT_SUPPORTED_STATE_OPERATION");
    assert_eq!(body["message"], "operation type merge not supported");

    let (status, _, body) = send(h.client.get(format!("{}/statestore/a||b", h.base))).await;
    let message = "input key/keyPrefix 'a||b' can't contain '||'";
    assert_eq!(status, 400);
    assert_eq!(
        json(&body)["details"],
        serde_json::json!([
            {"@type": "type.googleapis.com/google.rpc.BadRequest",
             "field_violations": [{"field": "a||b", "description": message}]},
            {"@type": "type.googleapis.com/google.rpc.ResourceInfo",
             "resource_type": "state", "resource_name": "statestore", "owner": "", "description": ""},
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
             "reason": "DAPR_STATE_ILLEGAL_KEY", "domain": "dapr.io", "metadata": null},
        ])
    );

    let bare = harness_of(Vec::new()).await;
    let (status, _, body) = send(bare.client.get(format!("{}/statestore/1", bare.base))).await;
    let body = json(&body);
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (500, Some("ERR_STATE_STORE_NOT_CONFIGURED"))
    );
    assert_eq!(body["message"], "state store statestore is not configured");
    assert_eq!(
        body["details"],
        serde_json::json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "DAPR_STATE_NOT_CONFIGURED", "domain": "dapr.io", "metadata": {"appID": "order-processor"}}])
    );
}
