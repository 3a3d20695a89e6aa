//! `bench-serve bare-hop`: the reference `bench sidecar` holds the sidecar against — a reverse proxy with no
//! Dapr semantics at all. Same transport as the sidecar's (its own thread with a single-threaded tokio runtime,
//! hyper's HTTP/1.1 server, a pooled hyper-util client built as the sidecar's `invoke::app_client`), so the
//! sidecar's cost over this hop is what its routing, policy, body handling and events cost.
//!
//! Deliberately minimal but correct: every request goes to the app with its method, path, headers and body
//! (streamed both ways, nothing buffered or copied), hop-by-hop headers dropped; an unreachable app is a 502.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;

type HopClient = Client<HttpConnector, Incoming>;
type HopBody = Either<Incoming, Full<Bytes>>;

/// Starts the hop on its own thread; returns where it listens.
pub fn start(listen: SocketAddr, app_addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let addr = crate::net::connectable(listener.local_addr()?);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("bare-hop".into()).spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            // Shared, not cloned per request (a client clone is several reference counts), as the sidecar's state.
            let client = Arc::new(app_client());
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of descriptors, say: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // As the load generator and the sidecar's client do: a proxy's small writes must not wait.
                let _ = stream.set_nodelay(true);
                let client = client.clone();
                let service = hyper::service::service_fn(move |request| forward(client.clone(), app_addr, request));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
    })?;
    Ok(addr)
}

async fn forward(
    client: Arc<HopClient>,
    app: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<HopBody>, Infallible> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("http://{app}{path}").parse() {
        Ok(uri) => uri,
        Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
    };
    drop_hop_by_hop(&mut parts.headers);
    match client.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            drop_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, Either::Left(body)))
        }
        Err(_) => Ok(status(StatusCode::BAD_GATEWAY)),
    }
}

/// Built exactly as the sidecar's `invoke::app_client` (private to the sidecar): kept-alive pool, TCP_NODELAY.
fn app_client() -> HopClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
}

fn status(code: StatusCode) -> Response<HopBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = code;
    response
}

/// The connection's own headers (RFC 9110 §7.6.1); the body's framing is re-derived by hyper on each side.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}
