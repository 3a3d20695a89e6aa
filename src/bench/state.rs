//! The state API's part of `bench sidecar`: `POST /v1.0/state/statestore` through a sidecar applying the
//! state-management quickstart's policy (retry + breaker on the `statestore` component), against the same
//! write sent to Redis directly, at the same fixed rate, alternating, on one redis-server the bench starts.
//!
//! The direct path sends what the sidecar's Redis store sends for one save (its `SET_SCRIPT` by EVALSHA, the
//! same 1 KB value), so the difference is the sidecar: HTTP, JSON, the policy and its events, its Redis client.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;

use super::load::{self, RequestTemplate};
use super::progress::Progress;
use super::report::{Report, StateReport};
use super::{BenchOptions, Path, Server, kib_to_mb};
use crate::faults::redis_server::RedisServer;

/// The store's name in the quickstart's resources, and the key both paths write.
pub const STORE: &str = "statestore";
const KEY: &str = "order-1";

/// Runs the state paths when `redis-server` is installed; `None` (said in the report) when it is not.
pub(super) async fn run(opts: &BenchOptions, body: &Bytes, progress: &Progress) -> anyhow::Result<Option<StateReport>> {
    if !RedisServer::available().await {
        return Ok(None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let redis = RedisServer::new(SocketAddr::from(([127, 0, 0, 1], port)))?;
    redis
        .start()
        .await
        .context("cannot start redis-server for the state bench")?;
    let measured = measure(opts, body, redis.addr(), progress).await;
    redis.stop().await;
    measured.map(Some)
}

async fn measure(
    opts: &BenchOptions,
    body: &Bytes,
    redis: SocketAddr,
    progress: &Progress,
) -> anyhow::Result<StateReport> {
    let redis_arg = redis.to_string();
    let sidecar = Server::spawn(&["state-sidecar", "--listen", "127.0.0.1:0", "--redis-addr", &redis_arg]).await?;
    let mut save = br#"[{"key":""#.to_vec();
    save.extend_from_slice(KEY.as_bytes());
    save.extend_from_slice(br#"","value":"#);
    save.extend_from_slice(body);
    save.extend_from_slice(b"}]");
    let through = RequestTemplate::Http {
        path: format!("/v1.0/state/{STORE}"),
        body: Bytes::from(save),
    };
    let direct = RequestTemplate::RedisSet {
        key: format!("bench||{KEY}"),
        data: body.clone(),
    };
    let mut paths = [
        Path::new("Redis directly", (&sidecar, redis), direct, opts, "").await?,
        Path::new(
            "the sidecar's state API",
            (&sidecar, sidecar.addr),
            through,
            opts,
            "sidecar-",
        )
        .await?,
    ];
    for path in paths.iter_mut() {
        progress.phase(format!("warming up {}", path.name));
        let (back, _) = load::open_loop(std::mem::take(&mut path.conns), &path.template, opts.rps, opts.warmup).await;
        path.conns = back;
        progress.advance(opts.warmup);
    }
    let slices = (opts.duration.as_secs_f64() / opts.slice.as_secs_f64()).ceil().max(1.0) as u32;
    let slice = opts.duration / slices;
    for round in 0..slices as usize {
        for k in 0..paths.len() {
            let path = &mut paths[(round + k) % 2];
            progress.phase(format!("through {}", path.name));
            path.slice(opts.rps, slice).await;
            progress.advance(slice);
        }
    }
    let [redis_path, sidecar_path] = &paths;
    let (direct, via, added) = Report::compare(&redis_path.sample, &sidecar_path.sample);
    let cpu = |wall: Duration, cpu: Duration| super::report::vcpu_per_1000_rps(cpu, wall, opts.rps);
    Ok(StateReport {
        redis: direct,
        sidecar: via,
        added_p50_ms: added[0],
        added_p90_ms: added[1],
        added_p99_ms: added[2],
        sidecar_process_vcpu_per_1000_rps: cpu(sidecar_path.cpu_wall, sidecar_path.cpu),
        sidecar_vcpu_per_1000_rps: cpu(sidecar_path.cpu_wall, sidecar_path.thread_cpu),
        sidecar_peak_rss_mb: super::procstat::vm_kib(sidecar.pid()?, "VmHWM").map(kib_to_mb),
    })
}
