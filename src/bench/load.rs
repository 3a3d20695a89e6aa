//! The load generator: fixed-rate (open-loop) and as-fast-as-possible (closed-loop) requests over a fixed set
//! of kept-alive connections: HTTP/1.1 POSTs, or Dapr's gRPC `InvokeService` (one HTTP/2 connection each, as
//! an SDK's `DaprClient` holds one channel to its sidecar).
//!
//! Open loop, as wrk2 and Dapr's Fortio runs do it: request `i` is due at `start + i / rate` whether or not
//! earlier ones have answered, and its latency is measured from that due time. A slow answer therefore
//! also delays (and is charged to) the requests queued behind it, instead of silently lowering the rate —
//! the "coordinated omission" a closed-loop tool suffers. Due times are kept by a plain thread that sleeps
//! with the OS's precision; tokio's timer wheel rounds to whole milliseconds, which would swamp what we
//! measure (tenths of a millisecond).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dapr::dapr::proto::common::v1::{HttpExtension, InvokeRequest, http_extension::Verb};
use dapr::dapr::proto::runtime::v1::{InvokeServiceRequest, dapr_client::DaprClient};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use tokio::sync::{Mutex, mpsc};

/// One connection to the server under test, of its template's transport.
pub enum Connection {
    Http(SendRequest<Full<Bytes>>),
    /// A tonic channel: one HTTP/2 connection.
    Grpc(DaprClient<tonic::transport::Channel>),
    /// One connection to Redis.
    Redis(redis::aio::MultiplexedConnection),
}

/// What to send: the same request every time.
#[derive(Clone)]
pub enum RequestTemplate {
    /// `POST path` with `body`, JSON.
    Http { path: String, body: Bytes },
    /// Dapr's gRPC `InvokeService`: the same order as the HTTP path's body, POSTed by the sidecar to the app.
    Grpc(InvokeServiceRequest),
    /// The write the sidecar's Redis store makes for one save of `data` at `key` (`state/redis.rs`).
    RedisSet { key: String, data: Bytes },
}

impl RequestTemplate {
    /// `InvokeService` of `method` on `app_id` with `body`, as an SDK's `invoke_method(..., http_verb="POST")`.
    pub fn invoke_service(app_id: &str, method: &str, body: &Bytes) -> Self {
        RequestTemplate::Grpc(InvokeServiceRequest {
            id: app_id.into(),
            message: Some(InvokeRequest {
                method: method.into(),
                data: Some(prost_types::Any {
                    type_url: String::new(),
                    value: body.to_vec(),
                }),
                content_type: "application/json".into(),
                http_extension: Some(HttpExtension {
                    verb: Verb::Post.into(),
                    querystring: String::new(),
                }),
            }),
        })
    }

    fn http(path: &str, body: &Bytes) -> Request<Full<Bytes>> {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))
            .expect("a request from a valid path always builds")
    }
}

/// Latencies (nanoseconds) and errors of one run.
pub struct Sample {
    pub latency: Histogram<u64>,
    pub errors: u64,
    pub elapsed: Duration,
}

impl Sample {
    pub fn empty() -> Self {
        Sample {
            latency: new_histogram(),
            errors: 0,
            elapsed: Duration::ZERO,
        }
    }

    pub fn add(&mut self, other: &Sample) {
        self.latency
            .add(&other.latency)
            .expect("histograms of the same bounds add");
        self.errors += other.errors;
        self.elapsed += other.elapsed;
    }

    pub fn requests(&self) -> u64 {
        self.latency.len() + self.errors
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns .. 60 s at 3 significant digits: 0.1% resolution at every scale.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Opens `n` kept-alive connections to `addr` for `template`'s transport.
pub async fn connect(addr: SocketAddr, n: usize, template: &RequestTemplate) -> std::io::Result<Vec<Connection>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(match template {
            RequestTemplate::Http { .. } => Connection::Http(connect_http(addr).await?),
            RequestTemplate::Grpc(_) => Connection::Grpc(connect_grpc(addr).await?),
            RequestTemplate::RedisSet { .. } => Connection::Redis(connect_redis(addr).await?),
        });
    }
    Ok(conns)
}

async fn connect_http(addr: SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Each `connect()` of an endpoint is its own HTTP/2 connection (clones of a channel would share one).
async fn connect_grpc(addr: SocketAddr) -> std::io::Result<DaprClient<tonic::transport::Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(std::io::Error::other)?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(std::io::Error::other)?;
    Ok(DaprClient::new(channel))
}

async fn connect_redis(addr: SocketAddr) -> std::io::Result<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://{addr}")).map_err(std::io::Error::other)?;
    client
        .get_multiplexed_async_connection()
        .await
        .map_err(std::io::Error::other)
}

/// Sends one request and reads the whole answer; anything but 2xx (for gRPC: OK, and the app's 200 in
/// `dapr-http-status`) is an error.
async fn exchange(conn: &mut Connection, template: &RequestTemplate) -> bool {
    match (conn, template) {
        (Connection::Http(conn), RequestTemplate::Http { path, body }) => {
            if conn.ready().await.is_err() {
                return false;
            }
            match conn.send_request(RequestTemplate::http(path, body)).await {
                Ok(response) => {
                    // The app's 200, the state API's 204.
                    let ok = response.status().is_success();
                    ok & response.into_body().collect().await.is_ok()
                }
                Err(_) => false,
            }
        }
        (Connection::Grpc(client), RequestTemplate::Grpc(request)) => {
            match client.invoke_service(request.clone()).await {
                Ok(response) => response
                    .metadata()
                    .get("dapr-http-status")
                    .is_none_or(|status| status == "200"),
                Err(_) => false,
            }
        }
        (Connection::Redis(conn), RequestTemplate::RedisSet { key, data }) => {
            let script = crate::state::redis::set_script();
            let mut invocation = script.key(key);
            invocation.arg("0").arg(data.as_ref()).arg("0");
            invocation.invoke_async::<i64>(conn).await.is_ok()
        }
        // `connect` opens connections of the template's transport only.
        _ => false,
    }
}

/// Sends `rate` requests a second for `duration`, spread over `conns`.
pub async fn open_loop(
    conns: Vec<Connection>,
    template: &RequestTemplate,
    rate: u32,
    duration: Duration,
) -> (Vec<Connection>, Sample) {
    let total = (duration.as_secs_f64() * f64::from(rate)).round() as u64;
    let rate = u64::from(rate.max(1));
    let (tx, rx) = mpsc::unbounded_channel::<Instant>();
    let start = Instant::now();
    let pacer = std::thread::spawn(move || {
        for i in 0..total {
            let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if tx.send(due).is_err() {
                break;
            }
        }
    });
    let due_times = Arc::new(Mutex::new(rx));
    let mut workers = Vec::with_capacity(conns.len());
    for mut conn in conns {
        let (template, due_times) = (template.clone(), due_times.clone());
        workers.push(tokio::spawn(async move {
            let mut sample = Sample::empty();
            loop {
                // Whoever is free takes the next due request; while all are busy, due requests wait (and it counts).
                let Some(due) = due_times.lock().await.recv().await else {
                    break;
                };
                if exchange(&mut conn, &template).await {
                    sample.latency.saturating_record(due.elapsed().as_nanos() as u64);
                } else {
                    sample.errors += 1;
                }
            }
            (conn, sample)
        }));
    }
    let (conns, mut sample) = join(workers).await;
    let _ = pacer.join();
    sample.elapsed = start.elapsed();
    (conns, sample)
}

/// Sends back to back on every connection for `duration`: the saturated throughput.
pub async fn closed_loop(
    conns: Vec<Connection>,
    template: &RequestTemplate,
    duration: Duration,
) -> (Vec<Connection>, Sample) {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(conns.len());
    for mut conn in conns {
        let template = template.clone();
        workers.push(tokio::spawn(async move {
            let mut sample = Sample::empty();
            while Instant::now() < deadline {
                let sent = Instant::now();
                if exchange(&mut conn, &template).await {
                    sample.latency.saturating_record(sent.elapsed().as_nanos() as u64);
                } else {
                    sample.errors += 1;
                }
            }
            (conn, sample)
        }));
    }
    let (conns, mut sample) = join(workers).await;
    sample.elapsed = start.elapsed();
    (conns, sample)
}

/// Collects the workers' connections (for the next run) and merges their samples.
async fn join(workers: Vec<tokio::task::JoinHandle<(Connection, Sample)>>) -> (Vec<Connection>, Sample) {
    let (mut conns, mut sample) = (Vec::with_capacity(workers.len()), Sample::empty());
    for worker in workers {
        if let Ok((conn, part)) = worker.await {
            conns.push(conn);
            sample.add(&part);
        }
    }
    (conns, sample)
}
