//! The headers an app receives on a call from another app, as daprd v1.18 sets them:
//! - the caller's sidecar adds `dapr-caller-app-id`, `dapr-callee-app-id`, `dapr-caller-namespace` and its
//!   host as `X-Forwarded-For` / `X-Forwarded-Host` / `Forwarded` (appended to any the app sent;
//!   `pkg/messaging/direct_messaging.go` `addForwardedHeadersToMetadata`, `addCallerAndCalleeAppIDHeaderToMetadata`);
//! - the callee's sidecar turns that metadata into HTTP headers with the first value of each, drops
//!   `dapr-app-id`, and sets `traceparent` from its own span (`pkg/messaging/v1/util.go`
//!   `InternalMetadataToHTTPHeader`, `pkg/channel/http/http_channel.go` `constructRequest`).
//!
//! The trace id follows the caller's `traceparent` when it sent one; each sidecar adds a span. Sampled
//! (`01`), as under `dapr init`'s configuration (`samplingRate: "1"`).

use std::hash::{BuildHasher, Hasher};
use std::net::UdpSocket;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub const CALLER: &str = "dapr-caller-app-id";
const CALLEE: &str = "dapr-callee-app-id";
const CALLER_NAMESPACE: &str = "dapr-caller-namespace";
/// daprd's `DestinationIDHeader`: the target, never passed to the app.
const DESTINATION: &str = "dapr-app-id";
const TRACEPARENT: &str = "traceparent";

/// This host as daprd names it: `utils.GetHostAddress` (the address of the default route) and `os.Hostname`.
struct Host {
    address: Option<String>,
    name: Option<String>,
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        // A UDP "connection" sends nothing; it only picks the source address of the default route.
        let address = UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect("8.8.8.8:80").map(|()| s))
            .and_then(|s| s.local_addr())
            .map(|a| a.ip().to_string())
            .ok();
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|n| n.trim().to_string())
            .ok()
            .filter(|n| !n.is_empty());
        Host { address, name }
    })
}

/// The caller's side: stamps the hop request's headers with the caller and callee and this host.
pub fn stamp_hop(headers: &mut HeaderMap, caller: &str, callee: &str, namespace: &str) {
    for (name, value) in [(CALLER, caller), (CALLEE, callee), (CALLER_NAMESPACE, namespace)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    let host = host();
    let mut forwarded = String::new();
    if let Some(address) = &host.address {
        append(headers, "x-forwarded-for", address);
        forwarded = format!("for={address};by={address};");
    }
    if let Some(name) = &host.name {
        append(headers, "x-forwarded-host", name);
        forwarded.push_str("host=");
        forwarded.push_str(name);
    }
    append(headers, "forwarded", &forwarded);
    let trace = trace_of(headers);
    set_traceparent(headers, trace);
}

fn append(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.append(name, value);
    }
}

/// The callee's side: the headers for its app, one value per name (the first), without `dapr-app-id`, with
/// this sidecar's span in `traceparent`.
pub fn for_app(headers: &HeaderMap) -> HeaderMap {
    let trace = trace_of(headers);
    let mut out = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys() {
        if name == DESTINATION || name == TRACEPARENT || name == "tracestate" {
            continue;
        }
        if let Some(first) = headers.get(name) {
            out.insert(HeaderName::clone(name), first.clone());
        }
    }
    set_traceparent(&mut out, trace);
    out
}

/// The trace id (32 hex) and flags of a valid W3C `traceparent`, else a new trace.
fn trace_of(headers: &HeaderMap) -> (String, String) {
    let parent = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let parts: Vec<&str> = parent.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match parts[..] {
        ["00", trace, span, flags] if hex(trace, 32) && hex(span, 16) && hex(flags, 2) => {
            (trace.to_ascii_lowercase(), flags.to_ascii_lowercase())
        }
        _ => (format!("{:016x}{:016x}", random(), random()), "01".to_string()),
    }
}

fn set_traceparent(headers: &mut HeaderMap, (trace, flags): (String, String)) {
    let value = format!("00-{trace}-{:016x}-{flags}", random());
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(TRACEPARENT, value);
    }
}

/// A random non-zero 64-bit id (W3C forbids all-zero ids).
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_gets_the_first_value_and_a_child_span_of_the_callers_trace() {
        let mut hop = HeaderMap::new();
        hop.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.9"));
        hop.insert(DESTINATION, HeaderValue::from_static("order-processor"));
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        hop.insert(TRACEPARENT, HeaderValue::from_static(parent));
        stamp_hop(&mut hop, "checkout", "order-processor", "");
        let app = for_app(&hop);
        assert_eq!(app["x-forwarded-for"], "10.0.0.9", "the app's own value comes first");
        assert_eq!(app[CALLER], "checkout");
        assert_eq!(app[CALLEE], "order-processor");
        assert_eq!(app[CALLER_NAMESPACE], "");
        assert!(app.get(DESTINATION).is_none());
        let traceparent = app[TRACEPARENT].to_str().unwrap();
        assert!(
            traceparent.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
            "{traceparent}"
        );
        assert_ne!(traceparent, parent, "a span of its own");
    }
}
