//! `resilience-tui bench sidecar`: what our sidecar costs, measured the way Dapr measures daprd.
//!
//! Dapr's perf tests drive the same fixed-rate load at the app directly and then through the sidecar, and
//! report the difference per percentile ("added latency"), with the sidecar's CPU and memory. We do the same
//! in one run on one machine: an app process and a sidecar process (`serve.rs`), and a load generator here
//! (`load.rs`) that alternates between the two paths in short slices so both see the same machine weather.
//! Then each path is saturated to find its throughput. Timings are never asserted in tests: see BENCHMARKS.md.

pub mod load;
pub mod procstat;
pub mod report;
pub mod serve;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use load::{RequestTemplate, Sample};
use report::{Report, Throughput};
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
    started_in: Duration,
}

impl Server {
    async fn spawn(args: &[String]) -> anyhow::Result<Server> {
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
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .with_context(|| {
                format!(
                    "the bench's server process said `{}`, not `listening <addr>`",
                    line.trim()
                )
            })?;
        Ok(Server {
            child,
            addr,
            started_in: spawned.elapsed(),
        })
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Runs the whole bench and reports.
pub async fn run(opts: &BenchOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(opts.rps > 0, "--rps must be at least 1");
    anyhow::ensure!(opts.connections > 0, "--connections must be at least 1");
    let loopback = "127.0.0.1:0".to_string();
    let app = Server::spawn(&["app".into(), "--listen".into(), loopback.clone()]).await?;
    let policy = match opts.policy {
        PolicyChoice::Quickstart => "quickstart",
        PolicyChoice::None => "none",
    };
    let sidecar = Server::spawn(&[
        "sidecar".into(),
        "--listen".into(),
        loopback,
        "--app-addr".into(),
        app.addr.to_string(),
        "--policy".into(),
        policy.into(),
    ])
    .await?;
    let sidecar_pid = sidecar.pid().context("the sidecar process ended at once")?;

    let body = order_body(opts.body_bytes);
    let direct = RequestTemplate {
        path: "/orders".into(),
        body: body.clone(),
    };
    let via_sidecar = RequestTemplate {
        path: "/v1.0/invoke/order-processor/method/orders".into(),
        body,
    };
    let mut paths = [
        (
            load::connect(app.addr, opts.connections).await?,
            direct,
            Sample::empty(),
        ),
        (
            load::connect(sidecar.addr, opts.connections).await?,
            via_sidecar,
            Sample::empty(),
        ),
    ];
    let progress = Progress::new(opts);

    // Warm-up: connections, allocator and caches on both paths; not recorded.
    for (conns, template, _) in paths.iter_mut() {
        progress.phase("warming up");
        let (back, _) = load::open_loop(std::mem::take(conns), template, opts.rps, opts.warmup).await;
        *conns = back;
        progress.advance(opts.warmup);
    }

    let rss_after_warmup = procstat::vm_kib(sidecar_pid, "VmRSS").map(kib_to_mb);
    // Alternating fixed-rate slices; the sidecar's CPU is counted only while its path carries the load.
    let slices = (opts.duration.as_secs_f64() / opts.slice.as_secs_f64()).ceil().max(1.0) as u32;
    let slice = opts.duration / slices;
    // The sidecar's own thread, and the whole process (which also carries its events to a consumer, as the
    // scenario's displays do).
    let (mut sidecar_cpu, mut process_cpu, mut sidecar_wall) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..slices {
        for (i, (conns, template, sample)) in paths.iter_mut().enumerate() {
            progress.phase(if i == 0 { "direct" } else { "via the sidecar" });
            let before = (
                procstat::thread_cpu_time(sidecar_pid, "sidecar-"),
                procstat::cpu_time(sidecar_pid),
            );
            let (back, part) = load::open_loop(std::mem::take(conns), template, opts.rps, slice).await;
            let after = (
                procstat::thread_cpu_time(sidecar_pid, "sidecar-"),
                procstat::cpu_time(sidecar_pid),
            );
            if i == 1
                && let ((Some(t0), Some(p0)), (Some(t1), Some(p1))) = (before, after)
            {
                sidecar_cpu += t1.saturating_sub(t0);
                process_cpu += p1.saturating_sub(p0);
                sidecar_wall += part.elapsed;
            }
            *conns = back;
            sample.add(&part);
            progress.advance(slice);
        }
    }
    let peak_rss = procstat::vm_kib(sidecar_pid, "VmHWM").map(kib_to_mb);
    let rss_after_load = procstat::vm_kib(sidecar_pid, "VmRSS").map(kib_to_mb);

    let saturated = if opts.saturate.is_zero() {
        None
    } else {
        let mut rates = [(0.0, 0u64); 2];
        for (i, (conns, template, _)) in paths.iter_mut().enumerate() {
            progress.phase(if i == 0 {
                "saturating direct"
            } else {
                "saturating the sidecar"
            });
            let (back, part) = load::closed_loop(std::mem::take(conns), template, opts.saturate).await;
            *conns = back;
            rates[i] = (part.latency.len() as f64 / part.elapsed.as_secs_f64(), part.errors);
            progress.advance(opts.saturate);
        }
        Some(Throughput {
            direct_rps: rates[0].0.round(),
            sidecar_rps: rates[1].0.round(),
            direct_errors: rates[0].1,
            sidecar_errors: rates[1].1,
        })
    };
    progress.finish();

    let (direct, via, added) = Report::compare(&paths[0].2, &paths[1].2);
    let per_1000 = |cpu: Duration| {
        (!sidecar_wall.is_zero()).then(|| {
            let v = cpu.as_secs_f64() / sidecar_wall.as_secs_f64() / (f64::from(opts.rps) / 1000.0);
            (v * 1000.0).round() / 1000.0
        })
    };
    Ok(Report {
        rps: opts.rps,
        duration_s: opts.duration.as_secs_f64(),
        body_bytes: opts.body_bytes,
        connections: opts.connections,
        policy: opts.policy,
        direct,
        sidecar: via,
        added_p50_ms: added[0],
        added_p90_ms: added[1],
        added_p99_ms: added[2],
        added_p999_ms: added[3],
        sidecar_vcpu_per_1000_rps: per_1000(sidecar_cpu),
        sidecar_process_vcpu_per_1000_rps: per_1000(process_cpu),
        sidecar_peak_rss_mb: peak_rss,
        sidecar_rss_mb_after_warmup: rss_after_warmup,
        sidecar_rss_mb_after_load: rss_after_load,
        sidecar_peak_rss_mb_saturated: procstat::vm_kib(sidecar_pid, "VmHWM").map(kib_to_mb),
        saturated,
        sidecar_start_ms: (sidecar.started_in.as_secs_f64() * 1e4).round() / 10.0,
        binary_bytes: std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len()),
    })
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

/// The progress bar: total planned time, the phase as its message.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(opts: &BenchOptions) -> Self {
        if !opts.progress {
            return Progress(None);
        }
        let total = opts.warmup * 2 + opts.duration * 2 + opts.saturate * 2;
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total.as_millis() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        let style = indicatif::ProgressStyle::with_template("{bar:40} {elapsed_precise}/{duration_precise} {msg}")
            .expect("a valid progress template");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(bar))
    }

    fn phase(&self, what: &'static str) {
        if let Some(bar) = &self.0 {
            bar.set_message(what);
        }
    }

    fn advance(&self, by: Duration) {
        if let Some(bar) = &self.0 {
            bar.inc(by.as_millis() as u64);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
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
