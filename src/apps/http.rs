//! The apps' HTTP client for calling their sidecar: hyper-util's pooled HTTP/1.1 client (the one the sidecar
//! uses to reach apps), with no timeout of its own, as the quickstart's apps: a call held in the sidecar's
//! retry loop simply waits.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

/// An answer: its status and its whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `errorCode` and `message` of a Dapr error body, or no code and the raw body.
    pub fn dapr_error(&self) -> (Option<String>, String) {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        let field = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        match parsed {
            Some(v) if field(&v, "errorCode").is_some() => {
                (field(&v, "errorCode"), field(&v, "message").unwrap_or_default())
            }
            _ => (None, String::from_utf8_lossy(&self.body).into_owned()),
        }
    }
}

pub struct SidecarClient {
    client: Client<HttpConnector, Full<Bytes>>,
    sidecar: SocketAddr,
}

impl SidecarClient {
    pub fn new(sidecar: SocketAddr) -> Self {
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(HttpConnector::new());
        Self { client, sidecar }
    }

    /// `POST` a JSON body to `path` on the sidecar, with extra headers. The error says why no answer came.
    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: String) -> Result<Answer, String> {
        let mut request = Request::post(self.uri(path)).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Full::new(Bytes::from(body)))).await
    }

    pub async fn get(&self, path: &str) -> Result<Answer, String> {
        self.send(Request::get(self.uri(path)).body(Full::new(Bytes::new())))
            .await
    }

    fn uri(&self, path: &str) -> String {
        format!("http://{}{path}", self.sidecar)
    }

    async fn send(&self, request: Result<Request<Full<Bytes>>, hyper::http::Error>) -> Result<Answer, String> {
        let request = request.map_err(|e| format!("cannot build the request: {e}"))?;
        let unreachable = |e: &dyn std::fmt::Display| format!("could not reach the sidecar at {}: {e}", self.sidecar);
        let response = self.client.request(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        Ok(Answer { status, body })
    }
}
