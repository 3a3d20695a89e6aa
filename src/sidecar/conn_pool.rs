//! The sidecar's kept-alive HTTP/1.1 connections to apps and to other sidecars: hyper's own
//! `client::conn::http1`, a few idle ones kept per address, each taken for one request and given back once
//! its answer was read to the end.
//!
//! It replaces hyper-util's pooled client, whose checkout (pool key hashing, waiter lists, the `Pooled`
//! wrapper) cost about 8,700 instructions a request on the sidecar's hot path (BENCHMARKS.md). What that
//! client did that matters here is kept: TCP_NODELAY, origin-form request lines, and a request that a
//! connection closing under it never sent goes again on a new connection (hyper-util's
//! `retry_canceled_requests`), so an app that closes idle connections is not seen failing.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

/// Idle connections kept per address: more are closed as they come back (memory stays bounded whatever
/// the load did); nginx's `keepalive 32` in the bench is the same order.
const MAX_IDLE_PER_ADDR: usize = 32;
/// An idle connection older than this is closed rather than reused (hyper-util's default pool timeout).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Addresses remembered with idle connections; a sidecar calls one app, or a few sidecars.
const MAX_ADDRS: usize = 64;

/// The connections a sidecar reaches apps and other sidecars with. Cheap to clone: one pool shared.
#[derive(Clone, Default)]
pub(crate) struct AppClient {
    idle: Arc<Mutex<IdleByAddr>>,
}

/// A short list, not a map: a sidecar calls one app or a few sidecars, and a scan hashes nothing.
type IdleByAddr = Vec<(SocketAddr, Vec<Idle>)>;

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// Why a request got no answer, in hyper-util's words (`client error (Connect)`, `client error
/// (SendRequest)`), so daprd-shaped messages built from it read as before; the cause is its `source`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("client error (Connect)")]
    Connect(#[source] std::io::Error),
    #[error("client error (SendRequest)")]
    Send(#[source] hyper::Error),
}

impl ClientError {
    /// The connection could not be opened (nothing was sent).
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, ClientError::Connect(_))
    }
}

impl AppClient {
    /// Sends `request` to `addr` on an idle connection, or a new one. Its URI must be origin-form
    /// (`/path?query`) and its `Host` set: the request line is written as it is.
    pub(crate) async fn request(
        &self,
        addr: SocketAddr,
        request: axum::http::Request<Body>,
    ) -> Result<axum::http::Response<PooledBody>, ClientError> {
        let mut request = request;
        loop {
            let (mut sender, reused) = match self.take_idle(addr) {
                Some(sender) => (sender, true),
                None => (connect(addr).await?, false),
            };
            if let Err(e) = sender.ready().await {
                if reused {
                    // It closed while idle: nothing was sent, so try the next one.
                    continue;
                }
                return Err(ClientError::Send(e));
            }
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let back = Some(GiveBack {
                        client: self.clone(),
                        addr,
                        sender,
                    });
                    return Ok(response.map(|inner| PooledBody { inner, back }));
                }
                Err(mut failed) => match failed.take_message() {
                    // A kept-alive connection closed as the request went: it was never sent, send it again.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(ClientError::Send(failed.into_error())),
                },
            }
        }
    }

    fn take_idle(&self, addr: SocketAddr) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let (_, conns) = idle.iter_mut().find(|(a, _)| *a == addr)?;
        while let Some(conn) = conns.pop() {
            if !conn.sender.is_closed() && conn.since.elapsed() < IDLE_TIMEOUT {
                return Some(conn.sender);
            }
        }
        None
    }

    fn give_back(&self, addr: SocketAddr, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let at = match idle.iter().position(|(a, _)| *a == addr) {
            Some(at) => at,
            None => {
                if idle.len() >= MAX_ADDRS {
                    idle.retain(|(_, conns)| !conns.is_empty());
                    if idle.len() >= MAX_ADDRS {
                        return;
                    }
                }
                idle.push((addr, Vec::new()));
                idle.len() - 1
            }
        };
        let conns = &mut idle[at].1;
        if conns.len() < MAX_IDLE_PER_ADDR {
            let since = Instant::now();
            conns.push(Idle { sender, since });
        }
    }
}

/// A new connection to `addr`, served by a task on the current runtime until either side closes it.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Body>, ClientError> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(ClientError::Connect)?;
    // A proxy's small writes must not wait for an acknowledgement.
    stream.set_nodelay(true).map_err(ClientError::Connect)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ClientError::Send)?;
    tokio::spawn(async move {
        // Its error, if any, is the request's to report (the sender sees it).
        let _ = conn.await;
    });
    Ok(sender)
}

/// Who gives the connection back, and where.
struct GiveBack {
    client: AppClient,
    addr: SocketAddr,
    sender: SendRequest<Body>,
}

/// An answer's body; read to its end, its connection goes back to the pool (dropped before, it is closed).
pub(crate) struct PooledBody {
    inner: Incoming,
    back: Option<GiveBack>,
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled
            && let Some(back) = self.back.take()
        {
            back.client.give_back(back.addr, back.sender);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
