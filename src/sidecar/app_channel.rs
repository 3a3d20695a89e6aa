//! The app channel: the pooled HTTP client a sidecar reaches apps with, the app's answer read under
//! `--max-body-size`, daprd's wording for a channel that fails, and the headers that cross a hop.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::http::{self as http, HeaderMap, HeaderName, Method, header};
use bytes::BytesMut;
use http_body_util::BodyExt;

use super::invoke::{AppResponse, InvokeError};

/// dapr/kit's `streams.ErrStreamTooLarge` text: what daprd says when a body passes `--max-body-size`
/// (`streams/limitreadcloser.go`, wrapped around request bodies by `pkg/api/http/middlewares.go`
/// MaxBodySizeMiddleware and around the app's answer by `pkg/channel/http/http_channel.go`).
pub(super) const STREAM_TOO_LARGE: &str = "stream too large";

pub(crate) use super::conn_pool::{AppClient, ClientError};

/// One call to the app at `target`; its answer read up to `limit` bytes.
pub(super) async fn send(
    client: &AppClient,
    target: Option<SocketAddr>,
    (path_and_query, app_id): (&str, &str),
    request: Option<http::Request<Body>>,
    limit: usize,
) -> Result<AppResponse, InvokeError> {
    let Some(addr) = target else {
        return Err(InvokeError::Channel(format!("couldn't find service: {app_id}")));
    };
    let url = || format!("http://{addr}{path_and_query}");
    let Some(mut request) = request else {
        // Unreachable: a streamed body means no retry policy, so there is one attempt.
        return Err(InvokeError::Channel(format!(
            "cannot replay a streamed request body to {}",
            url()
        )));
    };
    let method = request.method().clone();
    *request.uri_mut() = match super::resolver::uri(addr, path_and_query) {
        Ok((uri, host)) => {
            // What the client would otherwise format on every call (the app's `Host`, as daprd sends it).
            request.headers_mut().insert(header::HOST, host);
            uri
        }
        Err(e) => {
            return Err(InvokeError::Channel(format!(
                "invalid method path {path_and_query:?}: {e}"
            )));
        }
    };
    let response = client
        .request(addr, request)
        .await
        .map_err(|e| InvokeError::Channel(channel_error(&method, &url(), &e)))?;
    let (parts, body) = response.into_parts();
    let (body, cut) = read_limited(body, limit).await.map_err(|e| {
        InvokeError::Channel(format!(
            "error invoking app channel: reading the response of {}: {e}",
            url()
        ))
    })?;
    let mut reply = AppResponse::new(parts.status, forwardable(&parts.headers), body);
    reply.cut = cut;
    if reply.is_success() {
        Ok(reply)
    } else {
        Err(InvokeError::App(reply))
    }
}

/// A body read up to `limit` bytes, and whether it had more (then it is dropped unread, as daprd's
/// LimitReadCloser closes it). A body of one frame is kept as it came, without a copy.
pub(super) async fn read_limited<B>(mut body: B, limit: usize) -> Result<(Bytes, bool), B::Error>
where
    B: axum::body::HttpBody<Data = Bytes> + Unpin,
{
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<Bytes> = Vec::new();
    let mut len = 0;
    let mut cut = false;
    while let Some(frame) = body.frame().await {
        let Ok(mut data) = frame?.into_data() else {
            continue; // trailers
        };
        if data.len() > limit - len {
            data.truncate(limit - len);
            cut = true;
        }
        len += data.len();
        match first {
            None => first = Some(data),
            Some(_) => rest.push(data),
        }
        if cut {
            break;
        }
    }
    let whole = match (first, rest.is_empty()) {
        (None, _) => Bytes::new(),
        (Some(only), true) => only,
        (Some(first), false) => {
            let mut buf = BytesMut::with_capacity(len);
            buf.extend_from_slice(&first);
            rest.iter().for_each(|b| buf.extend_from_slice(b));
            buf.freeze()
        }
    };
    Ok((whole, cut))
}

/// daprd's wording for an unreachable app channel (Go's `net/http` error text).
fn channel_error(method: &Method, url: &str, e: &ClientError) -> String {
    let verb = method
        .as_str()
        .chars()
        .next()
        .map(|c| c.to_string() + &method.as_str()[1..].to_lowercase());
    let verb = verb.unwrap_or_default();
    let hostport = url.trim_start_matches("http://").split('/').next().unwrap_or_default();
    let io = io_kind(e);
    if over_the_limit(e) {
        // A streamed request body that passed --max-body-size on its way (no Content-Length said so first).
        STREAM_TOO_LARGE.to_string()
    } else if io == Some(std::io::ErrorKind::ConnectionReset) {
        // Go's net/http for an app that resets the connection (the `reset` fault's blackhole does).
        format!("error invoking app channel: {verb} \"{url}\": read tcp {hostport}: read: connection reset by peer")
    } else if e.is_connect() {
        format!("error invoking app channel: {verb} \"{url}\": dial tcp {hostport}: connect: connection refused")
    } else {
        format!("error invoking app channel: {verb} \"{url}\": {e}")
    }
}

/// The kind of the I/O error behind a client error, if one is.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// Whether a streamed request body's limit (`http_body_util::Limited`) is what ended the call.
pub(super) fn over_the_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Headers that go end to end. The hop-by-hop ones are the connection's own, and daprd strips them both
/// ways (dapr/dapr `tests/integration/suite/daprd/serviceinvocation/http/hopbyhop.go` lists them), as Go's
/// reverse proxy does, with the headers a `Connection` header names (RFC 9110 §7.6.1). Host and
/// Content-Length are the next connection's to set.
pub(super) fn forwardable(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [HeaderName; 8] = [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::HOST,
        header::CONTENT_LENGTH,
    ];
    let mut out = headers.clone();
    for value in headers.get_all(header::CONNECTION) {
        let names = value.to_str().unwrap_or_default().split(',');
        names.map(str::trim).filter(|n| !n.is_empty()).for_each(|n| {
            out.remove(n);
        });
    }
    // Named once, not parsed from text on every call.
    const OTHERS: [HeaderName; 5] = [
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        HeaderName::from_static("proxy-authenticate"),
        HeaderName::from_static("http2-settings"),
        // The caller's token is for this sidecar, never the app's (daprd strips it too).
        HeaderName::from_static("dapr-api-token"),
    ];
    for name in HOP_BY_HOP.iter().chain(&OTHERS) {
        out.remove(name);
    }
    out
}
