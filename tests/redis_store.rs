//! The Redis state store against a real redis-server: Dapr's layout (a hash with `data` and `version`),
//! ETags, and a stopped server failing fast instead of hanging, then working again once it is back.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use common::RedisServer;
use resilience_tui::state::redis::RedisStore;
use resilience_tui::state::{StateStore, StoreError};

#[tokio::test]
async fn layout_and_etags_as_dapr_writes_them() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.host(), None).unwrap();
    let key = "order-processor||1";
    assert_eq!(store.get(key).await, Ok(None));
    store
        .set(key, Bytes::from_static(br#"{"orderId":"1"}"#), None, false)
        .await
        .unwrap();
    let item = store.get(key).await.unwrap().unwrap();
    assert_eq!(
        (item.data.as_ref(), item.etag.as_str()),
        (&br#"{"orderId":"1"}"#[..], "1")
    );

    // What `redis-cli HGETALL "order-processor||1"` shows.
    let client = redis::Client::open(format!("redis://{}/", server.host())).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let hash: HashMap<String, String> = redis::cmd("HGETALL").arg(key).query_async(&mut c).await.unwrap();
    assert_eq!(hash.get("data").map(String::as_str), Some(r#"{"orderId":"1"}"#));
    assert_eq!(hash.get("version").map(String::as_str), Some("1"));

    store
        .set(key, Bytes::from_static(b"2"), Some("1"), false)
        .await
        .unwrap();
    assert_eq!(store.get(key).await.unwrap().unwrap().etag, "2");
    assert!(matches!(
        store.set(key, Bytes::new(), Some("1"), false).await,
        Err(StoreError::EtagMismatch(_))
    ));
    assert!(matches!(
        store.set(key, Bytes::new(), Some("abc"), false).await,
        Err(StoreError::EtagInvalid(_))
    ));
    assert!(matches!(
        store.delete(key, Some("1")).await,
        Err(StoreError::EtagMismatch(_))
    ));
    store.delete(key, Some("2")).await.unwrap();
    assert_eq!(store.get(key).await, Ok(None));
    store.delete(key, None).await.unwrap();
}

#[tokio::test]
async fn a_stopped_server_fails_fast_and_recovers() {
    let server = RedisServer::start();
    let port = server.port;
    let store = RedisStore::new(&server.host(), None).unwrap();
    store.set("k", Bytes::from_static(b"1"), None, false).await.unwrap();
    drop(server);
    for _ in 0..3 {
        let start = Instant::now();
        assert!(matches!(store.get("k").await, Err(StoreError::Unavailable(_))));
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "a call while Redis is down is bounded"
        );
    }
    let _server = RedisServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.set("k", Bytes::from_static(b"2"), None, false).await {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "the store did not reconnect: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.get("k").await.unwrap().unwrap().data.as_ref(), b"2");
}

/// A sidecar serving `statestore`, a `state.redis` component on `server`, with no resiliency policy.
async fn redis_sidecar(server: &RedisServer) -> (resilience_tui::sidecar::Sidecar, String) {
    use resilience_tui::resiliency::Resiliency;
    use resilience_tui::resiliency::events::Discard;
    use resilience_tui::resources::load_files;
    use resilience_tui::sidecar::{NameResolver, Sidecar};
    use std::sync::Arc;

    let component = format!(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {{name: statestore}}\nspec:\n  type: state.redis\n  version: v1\n  metadata:\n  - name: redisHost\n    value: {}\n  - name: redisPassword\n    value: \"\"\n",
        server.host()
    );
    let loaded = load_files(vec![("statestore.yaml".into(), component.into_bytes())], None);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    let options = common::sidecar_options("order-processor", None);
    let resiliency = Resiliency::new("order-processor", Vec::new(), Arc::new(Discard));
    let sidecar = Sidecar::start(
        options,
        resiliency,
        Arc::new(NameResolver::default()),
        loaded.components.clone(),
    )
    .await
    .unwrap();
    let base = format!("http://{}/v1.0/state/statestore", sidecar.addr());
    (sidecar, base)
}

/// Through the sidecar's state API into real Redis: the hash daprd would have written, and the value back.
#[tokio::test]
async fn state_api_into_redis() {
    let server = RedisServer::start();
    let (_sidecar, base) = redis_sidecar(&server).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let saved = http
        .post(&base)
        .body(r#"[{"key":"1","value":{"orderId":"1"}}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 204);
    let client = redis::Client::open(format!("redis://{}/", server.host())).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let hash: HashMap<String, String> = redis::cmd("HGETALL")
        .arg("order-processor||1")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(hash.get("data").map(String::as_str), Some(r#"{"orderId":"1"}"#));
    assert_eq!(hash.get("version").map(String::as_str), Some("1"));
    let got = http.get(format!("{base}/1")).send().await.unwrap();
    assert_eq!(got.headers()["etag"], "1");
    assert_eq!(got.text().await.unwrap(), r#"{"orderId":"1"}"#);
    // Written as components-contrib's Redis store writes it (jsoniter ConfigFastest): 1.0 is 1, 6 decimals,
    // no HTML escaping.
    let body = r#"[{"key":"2","value":{"n":1.0,"pi":3.14159265,"t":"<b>"}}]"#;
    assert_eq!(http.post(&base).body(body).send().await.unwrap().status().as_u16(), 204);
    let data: String = redis::cmd("HGET")
        .arg("order-processor||2")
        .arg("data")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(data, r#"{"n":1,"pi":3.141593,"t":"<b>"}"#);
}

#[tokio::test]
async fn a_wrong_password_says_which_setting_to_fix() {
    // A password with the characters a URL would misread.
    let server = RedisServer::start_with(common::free_port(), &["--requirepass", "s/e#c@ret"]);
    let store = RedisStore::new(&server.host(), Some("wrong")).unwrap();
    let saved = store.set("k", Bytes::from_static(b"1"), None, false).await;
    let Err(StoreError::Unavailable(message)) = saved else {
        panic!("a refused login is not an ETag conflict: {saved:?}")
    };
    assert!(message.contains("check redisPassword"), "{message}");
    let read = store.get("k").await;
    assert!(
        matches!(&read, Err(StoreError::Unavailable(m)) if m.contains("redisPassword")),
        "{read:?}"
    );
    // The right password works.
    let store = RedisStore::new(&server.host(), Some("s/e#c@ret")).unwrap();
    store.set("k", Bytes::from_static(b"1"), None, false).await.unwrap();
}

/// components-contrib's Redis store: `Delete` maps every error, Redis down included, to an ETag mismatch and
/// does not parse the ETag; `Set` with an ETag does the same; the mismatch text is the script's own reply.
#[tokio::test]
async fn errors_map_as_components_contrib_maps_them() {
    let down = RedisStore::new(&format!("127.0.0.1:{}", common::free_port()), None).unwrap();
    let deleted = down.delete("k", None).await;
    assert!(matches!(deleted, Err(StoreError::EtagMismatch(_))), "{deleted:?}");
    let saved = down.set("k", Bytes::from_static(b"1"), Some("1"), false).await;
    assert!(matches!(saved, Err(StoreError::EtagMismatch(_))), "{saved:?}");
    let saved = down.set("k", Bytes::from_static(b"1"), None, false).await;
    assert!(
        matches!(saved, Err(StoreError::Unavailable(_))),
        "without an ETag Redis down is not a conflict"
    );

    let server = RedisServer::start();
    let store = RedisStore::new(&server.host(), None).unwrap();
    store.set("k", Bytes::from_static(b"1"), None, false).await.unwrap();
    let deleted = store.delete("k", Some("abc")).await;
    let Err(StoreError::EtagMismatch(text)) = deleted else {
        panic!("a non-numeric ETag on delete is not parsed, it just never matches: {deleted:?}")
    };
    assert_eq!(text, "failed to delete k", "the script's reply, as go-redis prints it");
}

/// daprd's Redis client on a Redis frozen by SIGSTOP (go-redis v9 as components-contrib configures it): the
/// call in flight times out after 3s and is retried 512ms later on a new connection, whose handshake times
/// out too (retried once inside it after 512ms, then given up); the next call, with no connection left,
/// fails after 3s + 512ms. An explicit `readTimeout` bounds the whole call. Timed on tokio's paused clock;
/// Redis answers again once thawed.
#[tokio::test]
async fn a_paused_redis_fails_on_daprd_clients_timeline() {
    use resilience_tui::state::go_redis::RedisTimings;
    let server = RedisServer::start();
    let store = RedisStore::new(&server.host(), None).unwrap();
    let metadata = |k: &str| (k == "readTimeout").then_some("1000");
    let timings = RedisTimings::from_metadata(metadata).unwrap();
    let bounded = RedisStore::with_timings(&server.host(), None, timings).unwrap();
    // Each has a connection in use, as daprd's init ping leaves one.
    store.set("k", Bytes::from_static(b"1"), None, false).await.unwrap();
    assert_eq!(bounded.get("k").await.unwrap().unwrap().data.as_ref(), b"1");

    server.set_paused(true);
    tokio::time::pause();
    let timed = |what: Result<Option<resilience_tui::state::Item>, StoreError>, since: tokio::time::Instant| {
        let Err(StoreError::Unavailable(text)) = what else {
            panic!("a paused Redis is unavailable: {what:?}")
        };
        (since.elapsed().as_millis(), text)
    };
    // tokio's timer wheel ends each wait on its next whole millisecond: up to 1ms later per wait.
    let on = |ms: u128, waits: &[u128]| (waits.iter().sum::<u128>()..=waits.iter().sum::<u128>() + 4).contains(&ms);
    let t = tokio::time::Instant::now();
    let (ms, text) = timed(store.get("k").await, t);
    assert!(on(ms, &[3000, 512, 3000, 512]), "{ms}ms: {text}");
    assert!(text.contains("i/o timeout"), "{text}");
    let t = tokio::time::Instant::now();
    let ms = timed(store.get("k").await, t).0;
    assert!(on(ms, &[3000, 512]), "{ms}ms");
    let t = tokio::time::Instant::now();
    let (ms, text) = timed(bounded.get("k").await, t);
    assert!(on(ms, &[1000]), "{ms}ms");
    assert!(text.contains("context deadline exceeded"), "{text}");

    tokio::time::resume();
    server.set_paused(false);
    assert_eq!(store.get("k").await.unwrap().unwrap().data.as_ref(), b"1");
}

/// components-contrib's Redis `Multi` is MULTI/EXEC: a write whose script fails does not stop the ones queued
/// after it, and the first failure is the transaction's 500. An empty ETag is no ETag; `last-write` ignores
/// the ETag; an invalid one carries Go's `strconv.Atoi` text.
#[tokio::test]
async fn a_transaction_runs_every_write_and_etags_read_as_contrib_reads_them() {
    let server = RedisServer::start();
    let (_sidecar, base) = redis_sidecar(&server).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |url: String, body: &'static str| {
        let r = http.post(url).body(body).send();
        async move {
            let r = r.await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    assert_eq!(post(base.clone(), r#"[{"key":"b","value":1}]"#).await.0, 204);
    let ops = r#"{"operations":[
        {"operation":"upsert","request":{"key":"a","value":"A"}},
        {"operation":"upsert","request":{"key":"b","value":"B","etag":"7"}},
        {"operation":"upsert","request":{"key":"c","value":"C"}}]}"#;
    let (status, body) = post(format!("{base}/transaction"), ops).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("ERR_STATE_TRANSACTION") && body.contains("failed to set key"),
        "{body}"
    );
    let client = redis::Client::open(format!("redis://{}/", server.host())).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    for (key, data) in [("a", r#""A""#), ("b", "1"), ("c", r#""C""#)] {
        let stored: Option<String> = redis::cmd("HGET")
            .arg(format!("order-processor||{key}"))
            .arg("data")
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(
            stored.as_deref(),
            Some(data),
            "{key}: the write after the failed one was applied too"
        );
    }

    let (status, body) = post(base.clone(), r#"[{"key":"b","value":2,"etag":""}]"#).await;
    assert_eq!((status, body.as_str()), (204, ""), "an empty ETag is none");
    let last_write = r#"[{"key":"b","value":3,"etag":"99","options":{"concurrency":"last-write"}}]"#;
    assert_eq!(
        post(base.clone(), last_write).await.0,
        204,
        "last-write ignores the ETag"
    );
    let (status, body) = post(base.clone(), r#"[{"key":"b","value":4,"etag":"x1"}]"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(r#"invalid etag value: strconv.Atoi: parsing \"x1\": invalid syntax"#),
        "{body}"
    );
    let store = RedisStore::new(&server.host(), None).unwrap();
    assert_eq!(store.get("order-processor||b").await.unwrap().unwrap().etag, "3");
}
