//! What `bench sidecar` found, as JSON for machines and a table for people (`text.rs`).

mod text;

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::BenchOptions;
use super::load::Sample;
use super::serve::PolicyChoice;

/// Latency percentiles of one path, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub requests: u64,
    pub errors: u64,
    pub achieved_rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(sample: &Sample) -> Self {
        let at = |q: f64| ms(&sample.latency, q);
        Latency {
            requests: sample.requests(),
            errors: sample.errors,
            achieved_rps: round3(sample.requests() as f64 / sample.elapsed.as_secs_f64().max(1e-9)),
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: round3(sample.latency.max() as f64 / 1e6),
        }
    }
}

fn ms(h: &Histogram<u64>, quantile: f64) -> f64 {
    round3(h.value_at_quantile(quantile) as f64 / 1e6)
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Requests a second each path sustained with every connection sending back to back.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub direct_rps: f64,
    pub sidecar_rps: f64,
    /// Through the sidecar's gRPC API (`InvokeService`).
    pub grpc_rps: f64,
    pub bare_hop_rps: f64,
    pub direct_errors: u64,
    pub sidecar_errors: u64,
    pub grpc_errors: u64,
    pub bare_hop_errors: u64,
}

/// The sidecar's cost as a multiple of the bare hop's: 1.0 costs what a proxy hop with no Dapr semantics costs.
/// `None` when the hop's figure is missing or not above zero (its added latency can measure ≤ 0 in the noise).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratios {
    /// Added p50 (sidecar − direct) over the hop's added p50 (hop − direct).
    pub added_p50: Option<f64>,
    pub added_p90: Option<f64>,
    /// Process CPU per 1000 req/s (the sidecar's includes its event consumer, part of what it does).
    pub cpu: Option<f64>,
    /// Peak resident set under the fixed-rate load.
    pub rss: Option<f64>,
}

impl Ratios {
    /// Each pair is (sidecar, bare hop).
    pub fn of(
        added_p50: (f64, f64),
        added_p90: (f64, f64),
        cpu: (Option<f64>, Option<f64>),
        rss: (Option<f64>, Option<f64>),
    ) -> Self {
        let both = |(ours, hop): (Option<f64>, Option<f64>)| ratio(ours?, hop?);
        Ratios {
            added_p50: ratio(added_p50.0, added_p50.1),
            added_p90: ratio(added_p90.0, added_p90.1),
            cpu: both(cpu),
            rss: both(rss),
        }
    }
}

/// `ours / reference` to two decimals, when the reference is above zero.
fn ratio(ours: f64, reference: f64) -> Option<f64> {
    (reference > 0.0).then(|| (ours / reference * 100.0).round() / 100.0)
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rps: u32,
    pub duration_s: f64,
    pub body_bytes: usize,
    pub connections: usize,
    pub policy: PolicyChoice,
    pub direct: Latency,
    /// Through the sidecar's HTTP API (`/v1.0/invoke/order-processor/method/orders`).
    pub sidecar: Latency,
    /// Through the same sidecar's gRPC API (`InvokeService` of `orders` on order-processor).
    pub grpc: Latency,
    pub bare_hop: Latency,
    /// Sidecar percentile − direct percentile.
    pub added_p50_ms: f64,
    pub added_p90_ms: f64,
    pub added_p99_ms: f64,
    pub added_p999_ms: f64,
    /// gRPC percentile − direct percentile.
    pub grpc_added_p50_ms: f64,
    pub grpc_added_p90_ms: f64,
    pub grpc_added_p99_ms: f64,
    pub grpc_added_p999_ms: f64,
    /// Bare hop percentile − direct percentile.
    pub bare_hop_added_p50_ms: f64,
    pub bare_hop_added_p90_ms: f64,
    pub bare_hop_added_p99_ms: f64,
    pub bare_hop_added_p999_ms: f64,
    /// CPU of the sidecar's thread while it carried the fixed-rate load, per 1000 requests a second.
    pub sidecar_vcpu_per_1000_rps: Option<f64>,
    /// The same for the whole sidecar process: the sidecar plus the consumer of its events.
    pub sidecar_process_vcpu_per_1000_rps: Option<f64>,
    /// The sidecar's thread and process while they carried the fixed-rate load over gRPC.
    pub grpc_vcpu_per_1000_rps: Option<f64>,
    pub grpc_process_vcpu_per_1000_rps: Option<f64>,
    /// The whole bare-hop process while it carried the fixed-rate load.
    pub bare_hop_vcpu_per_1000_rps: Option<f64>,
    /// The sidecar process's peak resident set after the fixed-rate load (VmHWM).
    pub sidecar_peak_rss_mb: Option<f64>,
    /// Resident set after the warm-up and after the fixed-rate load: flat memory means these two match.
    pub sidecar_rss_mb_after_warmup: Option<f64>,
    pub sidecar_rss_mb_after_load: Option<f64>,
    /// The peak after the saturation runs.
    pub sidecar_peak_rss_mb_saturated: Option<f64>,
    pub bare_hop_peak_rss_mb: Option<f64>,
    pub bare_hop_peak_rss_mb_saturated: Option<f64>,
    /// Sidecar (HTTP) over bare hop: added p50 and p90, CPU, RSS.
    pub ratios: Ratios,
    /// Sidecar over gRPC over the same bare hop: added p50 and p90, CPU (no RSS: the same process as HTTP's).
    pub grpc_ratios: Ratios,
    pub saturated: Option<Throughput>,
    /// The state API against Redis directly (`None`: redis-server is not installed).
    pub state: Option<StateReport>,
    /// From spawning the sidecar process to its first `listening` line.
    pub sidecar_start_ms: f64,
    pub binary_bytes: Option<u64>,
}

/// `POST /v1.0/state/statestore` through a sidecar (the state-management quickstart's policy) against the same
/// write sent to Redis directly.
#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    pub redis: Latency,
    pub sidecar: Latency,
    /// Sidecar percentile − Redis-direct percentile.
    pub added_p50_ms: f64,
    pub added_p90_ms: f64,
    pub added_p99_ms: f64,
    /// The whole sidecar process (its event consumer included), and its serving thread, per 1000 req/s.
    pub sidecar_process_vcpu_per_1000_rps: Option<f64>,
    pub sidecar_vcpu_per_1000_rps: Option<f64>,
    pub sidecar_peak_rss_mb: Option<f64>,
}

/// What `/proc` said of one process under test (`None` where it could not be read).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCost {
    /// The whole process, per 1000 req/s, over the slices its path carried the load.
    pub vcpu_per_1000_rps: Option<f64>,
    /// Its serving thread alone.
    pub thread_vcpu_per_1000_rps: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub rss_mb_after_warmup: Option<f64>,
    pub rss_mb_after_load: Option<f64>,
    pub peak_rss_mb_saturated: Option<f64>,
}

/// CPU time over wall time, per 1000 req/s of load, to three decimals; `None` for no wall time.
pub fn vcpu_per_1000_rps(cpu: Duration, wall: Duration, rps: u32) -> Option<f64> {
    (!wall.is_zero() && rps > 0).then(|| round3(cpu.as_secs_f64() / wall.as_secs_f64() / (f64::from(rps) / 1000.0)))
}

impl Report {
    /// The report of one run: `samples` are direct, sidecar (HTTP), sidecar (gRPC) and bare hop; `costs` the
    /// sidecar's over HTTP, over gRPC and the hop's. Saturation, start time and binary size are the caller's.
    pub fn build(opts: &BenchOptions, samples: [&Sample; 4], costs: [&ProcessCost; 3]) -> Report {
        let [sidecar, grpc_cost, hop] = costs;
        let (direct, via, added) = Report::compare(samples[0], samples[1]);
        let (_, grpc, grpc_added) = Report::compare(samples[0], samples[2]);
        let (_, bare_hop, hop_added) = Report::compare(samples[0], samples[3]);
        Report {
            rps: opts.rps,
            duration_s: opts.duration.as_secs_f64(),
            body_bytes: opts.body_bytes,
            connections: opts.connections,
            policy: opts.policy,
            direct,
            sidecar: via,
            grpc,
            bare_hop,
            added_p50_ms: added[0],
            added_p90_ms: added[1],
            added_p99_ms: added[2],
            added_p999_ms: added[3],
            grpc_added_p50_ms: grpc_added[0],
            grpc_added_p90_ms: grpc_added[1],
            grpc_added_p99_ms: grpc_added[2],
            grpc_added_p999_ms: grpc_added[3],
            bare_hop_added_p50_ms: hop_added[0],
            bare_hop_added_p90_ms: hop_added[1],
            bare_hop_added_p99_ms: hop_added[2],
            bare_hop_added_p999_ms: hop_added[3],
            sidecar_vcpu_per_1000_rps: sidecar.thread_vcpu_per_1000_rps,
            sidecar_process_vcpu_per_1000_rps: sidecar.vcpu_per_1000_rps,
            grpc_vcpu_per_1000_rps: grpc_cost.thread_vcpu_per_1000_rps,
            grpc_process_vcpu_per_1000_rps: grpc_cost.vcpu_per_1000_rps,
            bare_hop_vcpu_per_1000_rps: hop.vcpu_per_1000_rps,
            sidecar_peak_rss_mb: sidecar.peak_rss_mb,
            sidecar_rss_mb_after_warmup: sidecar.rss_mb_after_warmup,
            sidecar_rss_mb_after_load: sidecar.rss_mb_after_load,
            sidecar_peak_rss_mb_saturated: sidecar.peak_rss_mb_saturated,
            bare_hop_peak_rss_mb: hop.peak_rss_mb,
            bare_hop_peak_rss_mb_saturated: hop.peak_rss_mb_saturated,
            ratios: Ratios::of(
                (added[0], hop_added[0]),
                (added[1], hop_added[1]),
                (sidecar.vcpu_per_1000_rps, hop.vcpu_per_1000_rps),
                (sidecar.peak_rss_mb, hop.peak_rss_mb),
            ),
            grpc_ratios: Ratios::of(
                (grpc_added[0], hop_added[0]),
                (grpc_added[1], hop_added[1]),
                (grpc_cost.vcpu_per_1000_rps, hop.vcpu_per_1000_rps),
                (None, hop.peak_rss_mb),
            ),
            saturated: None,
            state: None,
            sidecar_start_ms: 0.0,
            binary_bytes: None,
        }
    }

    /// The percentiles of `path` and its added latency over `direct` at p50, p90, p99 and p99.9.
    pub fn compare(direct: &Sample, path: &Sample) -> (Latency, Latency, [f64; 4]) {
        let (d, s) = (Latency::of(direct), Latency::of(path));
        let added = [
            round3(s.p50_ms - d.p50_ms),
            round3(s.p90_ms - d.p90_ms),
            round3(s.p99_ms - d.p99_ms),
            round3(s.p999_ms - d.p999_ms),
        ];
        (d, s, added)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}

#[cfg(test)]
mod tests;
