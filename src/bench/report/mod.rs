//! What `bench sidecar` found, as JSON for machines and a table for people.

use std::fmt::Write as _;
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
    pub bare_hop_rps: f64,
    pub direct_errors: u64,
    pub sidecar_errors: u64,
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
    pub sidecar: Latency,
    pub bare_hop: Latency,
    /// Sidecar percentile − direct percentile.
    pub added_p50_ms: f64,
    pub added_p90_ms: f64,
    pub added_p99_ms: f64,
    pub added_p999_ms: f64,
    /// Bare hop percentile − direct percentile.
    pub bare_hop_added_p50_ms: f64,
    pub bare_hop_added_p90_ms: f64,
    pub bare_hop_added_p99_ms: f64,
    pub bare_hop_added_p999_ms: f64,
    /// CPU of the sidecar's thread while it carried the fixed-rate load, per 1000 requests a second.
    pub sidecar_vcpu_per_1000_rps: Option<f64>,
    /// The same for the whole sidecar process: the sidecar plus the consumer of its events.
    pub sidecar_process_vcpu_per_1000_rps: Option<f64>,
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
    /// Sidecar over bare hop: added p50 and p90, CPU, RSS.
    pub ratios: Ratios,
    pub saturated: Option<Throughput>,
    /// From spawning the sidecar process to its first `listening` line.
    pub sidecar_start_ms: f64,
    pub binary_bytes: Option<u64>,
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
    /// The report of one run: `samples` are direct, sidecar and bare hop. Saturation, start time and binary
    /// size are the caller's to fill in.
    pub fn build(opts: &BenchOptions, samples: [&Sample; 3], sidecar: &ProcessCost, hop: &ProcessCost) -> Report {
        let (direct, via, added) = Report::compare(samples[0], samples[1]);
        let (_, bare_hop, hop_added) = Report::compare(samples[0], samples[2]);
        Report {
            rps: opts.rps,
            duration_s: opts.duration.as_secs_f64(),
            body_bytes: opts.body_bytes,
            connections: opts.connections,
            policy: opts.policy,
            direct,
            sidecar: via,
            bare_hop,
            added_p50_ms: added[0],
            added_p90_ms: added[1],
            added_p99_ms: added[2],
            added_p999_ms: added[3],
            bare_hop_added_p50_ms: hop_added[0],
            bare_hop_added_p90_ms: hop_added[1],
            bare_hop_added_p99_ms: hop_added[2],
            bare_hop_added_p999_ms: hop_added[3],
            sidecar_vcpu_per_1000_rps: sidecar.thread_vcpu_per_1000_rps,
            sidecar_process_vcpu_per_1000_rps: sidecar.vcpu_per_1000_rps,
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
            saturated: None,
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

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let policy = match self.policy {
            PolicyChoice::Quickstart => "the service-invoke quickstart's (retryForever + simpleCB)",
            PolicyChoice::None => "none",
        };
        let _ = writeln!(
            out,
            "Direct vs sidecar vs bare proxy hop: {} req/s, {} B bodies, {} connections, {:.0} s per path, sidecar policy {policy}",
            self.rps, self.body_bytes, self.connections, self.duration_s
        );
        let _ = writeln!(out);
        self.latency_table(&mut out);
        let _ = writeln!(out);
        self.cost_table(&mut out);
        let _ = writeln!(out);
        self.other_lines(&mut out);
        out
    }

    fn latency_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<15}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>8}",
            "", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "req/s", "errors"
        );
        for (name, l) in [
            ("direct", &self.direct),
            ("sidecar", &self.sidecar),
            ("bare hop", &self.bare_hop),
        ] {
            let _ = writeln!(
                out,
                "{name:<15}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.0}{:>8}",
                l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.achieved_rps, l.errors
            );
        }
        for (name, a) in [
            (
                "sidecar added",
                [
                    self.added_p50_ms,
                    self.added_p90_ms,
                    self.added_p99_ms,
                    self.added_p999_ms,
                ],
            ),
            (
                "hop added",
                [
                    self.bare_hop_added_p50_ms,
                    self.bare_hop_added_p90_ms,
                    self.bare_hop_added_p99_ms,
                    self.bare_hop_added_p999_ms,
                ],
            ),
        ] {
            let _ = writeln!(
                out,
                "{name:<15}{:>10.3}{:>10.3}{:>10.3}{:>10.3}",
                a[0], a[1], a[2], a[3]
            );
        }
    }

    /// Sidecar and bare hop side by side, with the ratio the target is set on.
    fn cost_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<24}{:>14}{:>14}{:>16}",
            "", "sidecar", "bare hop", "sidecar/hop"
        );
        let rows = [
            (
                "added p50",
                Some(self.added_p50_ms),
                Some(self.bare_hop_added_p50_ms),
                "ms",
                self.ratios.added_p50,
            ),
            (
                "added p90",
                Some(self.added_p90_ms),
                Some(self.bare_hop_added_p90_ms),
                "ms",
                self.ratios.added_p90,
            ),
            (
                "CPU per 1000 req/s",
                self.sidecar_process_vcpu_per_1000_rps,
                self.bare_hop_vcpu_per_1000_rps,
                "vCPU",
                self.ratios.cpu,
            ),
            (
                "peak RSS",
                self.sidecar_peak_rss_mb,
                self.bare_hop_peak_rss_mb,
                "MB",
                self.ratios.rss,
            ),
        ];
        for (name, ours, hop, unit, ratio) in rows {
            let _ = writeln!(
                out,
                "{name:<24}{:>14}{:>14}{:>16}",
                opt(ours, unit),
                opt(hop, unit),
                ratio.map_or("n/a".to_string(), |r| format!("{r:.2}x"))
            );
        }
    }

    fn other_lines(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "sidecar CPU        {} per 1000 req/s for its own thread ({} with its event consumer)",
            opt(self.sidecar_vcpu_per_1000_rps, "vCPU"),
            opt(self.sidecar_process_vcpu_per_1000_rps, "vCPU")
        );
        let _ = writeln!(
            out,
            "peak RSS           sidecar {}, bare hop {} after saturation",
            opt(self.sidecar_peak_rss_mb_saturated, "MB"),
            opt(self.bare_hop_peak_rss_mb_saturated, "MB")
        );
        let _ = writeln!(
            out,
            "sidecar RSS        {} after warm-up, {} after the fixed-rate load",
            opt(self.sidecar_rss_mb_after_warmup, "MB"),
            opt(self.sidecar_rss_mb_after_load, "MB")
        );
        if let Some(t) = &self.saturated {
            let _ = writeln!(
                out,
                "saturated          direct {:.0} req/s, sidecar {:.0} req/s, bare hop {:.0} req/s (errors {} / {} / {})",
                t.direct_rps, t.sidecar_rps, t.bare_hop_rps, t.direct_errors, t.sidecar_errors, t.bare_hop_errors
            );
        }
        let _ = writeln!(
            out,
            "sidecar start      {:.1} ms from spawn to serving",
            self.sidecar_start_ms
        );
        if let Some(bytes) = self.binary_bytes {
            let _ = writeln!(out, "binary             {:.1} MB", bytes as f64 / 1e6);
        }
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    let digits = if unit == "MB" { 1 } else { 3 };
    v.map_or("n/a".to_string(), |v| format!("{v:.digits$} {unit}"))
}

#[cfg(test)]
mod tests;
