//! The headers an app receives when another app invokes it through two real sidecars (checkout's and
//! order-processor's), as daprd v1.18 sets them: the caller and callee ids, the caller's namespace, this host
//! as `X-Forwarded-For` / `X-Forwarded-Host` / `Forwarded`, and a `traceparent` in the caller's trace.

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::any;
use resilience_tui::resiliency::Resiliency;
use resilience_tui::resiliency::events::Discard;
use resilience_tui::sidecar::{NameResolver, Sidecar, SidecarOptions};

/// order-processor's app: records the headers of every request it gets.
async fn start_app(seen: Arc<Mutex<Vec<HeaderMap>>>) -> SocketAddr {
    let handler = move |headers: HeaderMap| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(headers);
            "order received"
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().fallback(any(handler))).await });
    addr
}

fn options(app_id: &str, app_port: Option<u16>) -> SidecarOptions {
    SidecarOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        app_port,
        ..common::sidecar_options(app_id, None)
    }
}

/// checkout's sidecar and order-processor's (its app at `app`), with no resiliency policy.
async fn checkout_and_order_processor(app: SocketAddr) -> (Sidecar, Sidecar) {
    let resolver = Arc::new(NameResolver::default());
    let none = |id| Resiliency::new(id, Vec::new(), Arc::new(Discard));
    let order_processor = Sidecar::start(
        options("order-processor", Some(app.port())),
        none("order-processor"),
        resolver.clone(),
        Vec::new(),
    )
    .await
    .unwrap();
    resolver.register_sidecar("order-processor", order_processor.addr());
    let checkout = Sidecar::start(options("checkout", None), none("checkout"), resolver, Vec::new())
        .await
        .unwrap();
    (checkout, order_processor)
}

#[tokio::test]
async fn the_app_sees_its_caller_as_daprd_tells_it() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = start_app(seen.clone()).await;
    let (checkout, _order_processor) = checkout_and_order_processor(app).await;

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let url = format!("http://{}/v1.0/invoke/order-processor/method/orders", checkout.addr());
    for traceparent in [None, Some(parent)] {
        let mut request = client.post(&url).body("{}").header("x-forwarded-for", "203.0.113.7");
        if let Some(tp) = traceparent {
            request = request.header("traceparent", tp);
        }
        assert_eq!(request.send().await.unwrap().status().as_u16(), 200);
    }

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for headers in seen.iter() {
        let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(get("dapr-caller-app-id").as_deref(), Some("checkout"));
        assert_eq!(get("dapr-callee-app-id").as_deref(), Some("order-processor"));
        assert_eq!(
            get("dapr-caller-namespace").as_deref(),
            Some(""),
            "self-hosted: no namespace"
        );
        assert_eq!(
            headers.get_all("x-forwarded-for").iter().count(),
            1,
            "the app gets the first value only"
        );
        assert_eq!(get("x-forwarded-for").as_deref(), Some("203.0.113.7"));
        let forwarded = get("forwarded").unwrap_or_default();
        assert!(
            forwarded.starts_with("for=") || forwarded.starts_with("host="),
            "{forwarded}"
        );
        assert!(headers.get("dapr-app-id").is_none());
        let tp = get("traceparent").unwrap_or_default();
        let parts: Vec<&str> = tp.split('-').collect();
        assert!(parts.len() == 4 && parts[1].len() == 32 && parts[2].len() == 16, "{tp}");
    }
    let continued = seen[1]["traceparent"].to_str().unwrap();
    assert!(
        continued.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && continued != parent,
        "the caller's trace, with a span of the callee's sidecar: {continued}"
    );
}

/// Hop-by-hop headers are the connection's own: neither the app nor the caller gets them, in either
/// direction, nor the headers a `Connection` header names (daprd strips the same list,
/// `tests/integration/suite/daprd/serviceinvocation/http/hopbyhop.go`).
#[tokio::test]
async fn hop_by_hop_headers_stay_on_their_hop() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let handler = move |headers: HeaderMap| {
        recorded.lock().unwrap().push(headers);
        let own = [
            ("connection", "x-resp"),
            ("x-resp", "named by connection"),
            ("trailer", "x-sum"),
            ("proxy-authenticate", "Basic realm=t"),
            ("x-custom-response", "kept"),
        ];
        std::future::ready((own, "ok"))
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().fallback(any(handler))).await });
    let (checkout, processor) = checkout_and_order_processor(app).await;

    // Raw, so no client library adds, drops or merges any of them.
    let request = "POST /v1.0/invoke/order-processor/method/orders HTTP/1.1\r\nHost: x\r\n\
        Connection: X-Foo, close\r\nX-Foo: named by connection\r\nTrailer: X-Checksum\r\nKeep-Alive: timeout=5\r\n\
        Proxy-Authorization: Basic dGVzdDp0ZXN0\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Custom: kept\r\n\
        Content-Length: 2\r\n\r\n{}";
    let addr = checkout.addr();
    let reply = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        conn.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        let _ = conn.read_to_string(&mut reply);
        reply.to_ascii_lowercase()
    })
    .await
    .unwrap();

    assert!(reply.starts_with("http/1.1 200"), "{reply}");
    assert!(reply.contains("\r\nx-custom-response: kept\r\n"), "{reply}");
    for gone in ["x-resp", "trailer:", "proxy-authenticate:"] {
        assert!(!reply.contains(gone), "the caller got `{gone}`: {reply}");
    }
    let headers = seen.lock().unwrap()[0].clone();
    assert_eq!(headers.get("x-custom").map(|v| v.to_str().unwrap()), Some("kept"));
    for gone in [
        "connection",
        "x-foo",
        "trailer",
        "keep-alive",
        "proxy-authorization",
        "http2-settings",
    ] {
        assert!(headers.get(gone).is_none(), "the app got `{gone}`: {headers:?}");
    }
    checkout.stop().await;
    processor.stop().await;
}
