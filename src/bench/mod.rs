//! `resilience-tui bench sidecar`: what our sidecar costs, measured the way Dapr measures daprd.
//!
//! Dapr's perf tests drive the same fixed-rate load at the app directly and then through the sidecar, and
//! report the difference per percentile ("added latency"), with the sidecar's CPU and memory. We do the same
//! in one run on one machine: an app process, a sidecar process and a bare proxy hop (`serve.rs`, `hop.rs`),
//! and a load generator here (`load.rs`) that alternates between four paths in short slices so all see the
//! same machine weather: direct, the sidecar's HTTP API, its gRPC API (`InvokeService`, as the SDKs call it)
//! and the hop. The bare hop is the yardstick for both of the sidecar's APIs: their cost over it is what
//! Dapr's semantics (and, for gRPC, HTTP/2 and protobuf in front of the same invocation core) cost. Then each
//! path is saturated to find its throughput. Timings are never asserted in tests: see BENCHMARKS.md.

pub mod hop;
pub mod load;
pub mod procstat;
mod progress;
pub mod report;
pub mod serve;
pub mod state;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use load::{Connection, RequestTemplate, Sample};
use progress::Progress;
use report::{ProcessCost, Report, Throughput};
use serve::PolicyChoice;

/// What `bench sidecar` runs.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub rps: u32,
    /// Fixed-rate time per path (split into alternating slices).
    pub duration: Duration,
    pub body_bytes: usize,
    pub connections: usize,
    pub slice: Duration,
    pub warmup: Duration,
    /// Closed-loop time per path for the throughput figure; zero skips it.
    pub saturate: Duration,
    pub policy: PolicyChoice,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// A child process of the bench; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The sidecar's gRPC API.
    grpc_addr: Option<SocketAddr>,
    started_in: Duration,
}

impl Server {
    async fn spawn(args: &[&str]) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("cannot find the resilience-tui executable to start the bench")?;
        let spawned = Instant::now();
        let mut child = Command::new(exe)
            .arg("bench-serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the bench's server process")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), BufReader::new(stdout).read_line(&mut line))
            .await
            .context("the bench's server process did not start serving within 10 s")??;
        let (addr, grpc_addr) = parse_listening(&line).with_context(|| {
            format!(
                "the bench's server process said `{}`, not `listening <addr>` or `listening <addr> grpc <addr>`",
                line.trim()
            )
        })?;
        Ok(Server {
            child,
            addr,
            grpc_addr,
            started_in: spawned.elapsed(),
        })
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("a bench server process ended at once")
    }
}

/// `listening <addr>`, or the sidecar's `listening <addr> grpc <addr>`.
fn parse_listening(line: &str) -> Option<(SocketAddr, Option<SocketAddr>)> {
    let mut words = line.split_whitespace();
    (words.next() == Some("listening")).then_some(())?;
    let addr = words.next()?.parse().ok()?;
    match (words.next(), words.next(), words.next()) {
        (None, _, _) => Some((addr, None)),
        (Some("grpc"), Some(grpc), None) => Some((addr, Some(grpc.parse().ok()?))),
        _ => None,
    }
}

/// How many ways to the app are measured: direct, the sidecar's HTTP and gRPC APIs, the bare hop.
const PATHS: usize = 4;

/// One of the ways to the app, with what was measured on it.
struct Path {
    name: &'static str,
    conns: Vec<Connection>,
    template: RequestTemplate,
    sample: Sample,
    /// The process in the way (none for direct) and the name prefix of its serving thread.
    process: Option<(u32, &'static str)>,
    cpu: Duration,
    thread_cpu: Duration,
    /// Load time over which `cpu` was counted.
    cpu_wall: Duration,
}

impl Path {
    async fn new(
        name: &'static str,
        (server, addr): (&Server, SocketAddr),
        template: RequestTemplate,
        opts: &BenchOptions,
        thread: &'static str,
    ) -> anyhow::Result<Path> {
        let process = if thread.is_empty() {
            None
        } else {
            Some((server.pid()?, thread))
        };
        Ok(Path {
            name,
            conns: load::connect(addr, opts.connections, &template)
                .await
                .with_context(|| format!("cannot connect to {name} at {addr}"))?,
            template,
            sample: Sample::empty(),
            process,
            cpu: Duration::ZERO,
            thread_cpu: Duration::ZERO,
            cpu_wall: Duration::ZERO,
        })
    }

    /// The process's and its serving thread's CPU time so far.
    fn cpu_now(&self) -> Option<(Duration, Duration)> {
        let (pid, thread) = self.process?;
        Some((procstat::cpu_time(pid)?, procstat::thread_cpu_time(pid, thread)?))
    }

    /// One fixed-rate slice; the process's CPU counts only while its own path carries the load.
    async fn slice(&mut self, rps: u32, length: Duration) {
        let before = self.cpu_now();
        let (back, part) = load::open_loop(std::mem::take(&mut self.conns), &self.template, rps, length).await;
        if let (Some((p0, t0)), Some((p1, t1))) = (before, self.cpu_now()) {
            self.cpu += p1.saturating_sub(p0);
            self.thread_cpu += t1.saturating_sub(t0);
            self.cpu_wall += part.elapsed;
        }
        self.conns = back;
        self.sample.add(&part);
    }

    fn rss(&self, field: &str) -> Option<f64> {
        procstat::vm_kib(self.process?.0, field).map(kib_to_mb)
    }
}

/// Runs the whole bench and reports.
pub async fn run(opts: &BenchOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(opts.rps > 0, "--rps must be at least 1");
    anyhow::ensure!(opts.connections > 0, "--connections must be at least 1");
    let loopback = "127.0.0.1:0";
    let app = Server::spawn(&["app", "--listen", loopback]).await?;
    let app_addr = app.addr.to_string();
    let policy = match opts.policy {
        PolicyChoice::Quickstart => "quickstart",
        PolicyChoice::None => "none",
    };
    let proxy_args = |role| {
        [
            role,
            "--listen",
            loopback,
            "--app-addr",
            app_addr.as_str(),
            "--policy",
            policy,
        ]
    };
    let sidecar = Server::spawn(&proxy_args("sidecar")).await?;
    let hop = Server::spawn(&proxy_args("bare-hop")).await?;
    let body = order_body(opts.body_bytes);
    let http = |path: &str| RequestTemplate::Http {
        path: path.into(),
        body: body.clone(),
    };
    let grpc_addr = sidecar
        .grpc_addr
        .context("the benched sidecar did not say its gRPC address")?;
    let mut paths = [
        Path::new("direct", (&app, app.addr), http("/orders"), opts, "").await?,
        Path::new(
            "the sidecar",
            (&sidecar, sidecar.addr),
            http("/v1.0/invoke/order-processor/method/orders"),
            opts,
            "sidecar-",
        )
        .await?,
        // The same sidecar process and thread (its gRPC server shares the HTTP API's runtime).
        Path::new(
            "the sidecar's gRPC API",
            (&sidecar, grpc_addr),
            RequestTemplate::invoke_service("order-processor", "orders", &body),
            opts,
            "sidecar-",
        )
        .await?,
        Path::new("the bare hop", (&hop, hop.addr), http("/orders"), opts, "bare-hop").await?,
    ];
    let progress = Progress::new(opts);

    let rss_after_warmup = fixed_rate(&mut paths, opts, &progress).await;
    let peak_rss = rss_of(&paths, "VmHWM");
    let rss_after_load = rss_of(&paths, "VmRSS");

    let saturated = saturate(&mut paths, opts, &progress).await;
    let state = state::run(opts, &body, &progress).await?;
    progress.finish();

    let cost = |i: usize| {
        let p: &Path = &paths[i];
        ProcessCost {
            vcpu_per_1000_rps: report::vcpu_per_1000_rps(p.cpu, p.cpu_wall, opts.rps),
            thread_vcpu_per_1000_rps: report::vcpu_per_1000_rps(p.thread_cpu, p.cpu_wall, opts.rps),
            peak_rss_mb: peak_rss[i],
            rss_mb_after_warmup: rss_after_warmup[i],
            rss_mb_after_load: rss_after_load[i],
            peak_rss_mb_saturated: p.rss("VmHWM"),
        }
    };
    let samples = std::array::from_fn(|i| &paths[i].sample);
    Ok(Report {
        saturated,
        state,
        sidecar_start_ms: (sidecar.started_in.as_secs_f64() * 1e4).round() / 10.0,
        binary_bytes: std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len()),
        ..Report::build(opts, samples, [&cost(1), &cost(2), &cost(3)])
    })
}

/// The warm-up (connections, allocator and caches on every path; not recorded), then the alternating fixed-rate
/// slices. Returns each process's resident set after the warm-up.
async fn fixed_rate(paths: &mut [Path; PATHS], opts: &BenchOptions, progress: &Progress) -> [Option<f64>; PATHS] {
    for path in paths.iter_mut() {
        progress.phase(format!("warming up {}", path.name));
        let (back, _) = load::open_loop(std::mem::take(&mut path.conns), &path.template, opts.rps, opts.warmup).await;
        path.conns = back;
        progress.advance(opts.warmup);
    }
    let rss_after_warmup = rss_of(paths, "VmRSS");
    // The order rotates each round so no path always follows the same one.
    let slices = (opts.duration.as_secs_f64() / opts.slice.as_secs_f64()).ceil().max(1.0) as u32;
    let slice = opts.duration / slices;
    for round in 0..slices as usize {
        for k in 0..paths.len() {
            let path = &mut paths[(round + k) % PATHS];
            progress.phase(format!("through {}", path.name));
            path.slice(opts.rps, slice).await;
            progress.advance(slice);
        }
    }
    rss_after_warmup
}

/// Every connection of each path sending back to back in turn: the throughput (`None` when skipped).
async fn saturate(paths: &mut [Path; PATHS], opts: &BenchOptions, progress: &Progress) -> Option<Throughput> {
    if opts.saturate.is_zero() {
        return None;
    }
    let mut rates = [(0.0, 0u64); PATHS];
    for (path, rate) in paths.iter_mut().zip(rates.iter_mut()) {
        progress.phase(format!("saturating {}", path.name));
        let (back, part) = load::closed_loop(std::mem::take(&mut path.conns), &path.template, opts.saturate).await;
        path.conns = back;
        *rate = (
            (part.latency.len() as f64 / part.elapsed.as_secs_f64()).round(),
            part.errors,
        );
        progress.advance(opts.saturate);
    }
    Some(Throughput {
        direct_rps: rates[0].0,
        sidecar_rps: rates[1].0,
        grpc_rps: rates[2].0,
        bare_hop_rps: rates[3].0,
        direct_errors: rates[0].1,
        sidecar_errors: rates[1].1,
        grpc_errors: rates[2].1,
        bare_hop_errors: rates[3].1,
    })
}

/// A memory figure of each path's process.
fn rss_of(paths: &[Path; PATHS], field: &str) -> [Option<f64>; PATHS] {
    std::array::from_fn(|i| paths[i].rss(field))
}

fn kib_to_mb(kib: u64) -> f64 {
    (kib as f64 * 1024.0 / 1e6 * 10.0).round() / 10.0
}

/// An order as checkout sends it, padded to `bytes` so the body size is what was asked for.
pub fn order_body(bytes: usize) -> Bytes {
    let mut body = String::from(r#"{"orderId":1,"pad":""#);
    let close = "\"}";
    while body.len() + close.len() < bytes {
        body.push('x');
    }
    body.push_str(close);
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    #[test]
    fn a_server_says_where_it_listens_and_the_sidecar_its_grpc_api_too() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            super::parse_listening("listening 127.0.0.1:4000\n"),
            Some((addr("127.0.0.1:4000"), None))
        );
        assert_eq!(
            super::parse_listening("listening 127.0.0.1:4000 grpc 127.0.0.1:4001"),
            Some((addr("127.0.0.1:4000"), Some(addr("127.0.0.1:4001"))))
        );
        for wrong in [
            "",
            "listening",
            "listening nowhere",
            "listening 127.0.0.1:4000 grpc",
            "serving 127.0.0.1:1",
        ] {
            assert_eq!(super::parse_listening(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn order_bodies_have_the_asked_size_and_parse() {
        for size in [1024, 64, 4096] {
            let body = super::order_body(size);
            assert_eq!(body.len(), size);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["orderId"], 1);
        }
        // Smaller than the smallest order: the order itself, whole.
        assert!(serde_json::from_slice::<serde_json::Value>(&super::order_body(1)).is_ok());
    }
}
