//! What `bench sidecar` found, as JSON for machines and a table for people.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

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
    pub direct_errors: u64,
    pub sidecar_errors: u64,
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
    pub added_p50_ms: f64,
    pub added_p90_ms: f64,
    pub added_p99_ms: f64,
    pub added_p999_ms: f64,
    /// CPU of the sidecar's thread while it carried the fixed-rate load, per 1000 requests a second.
    pub sidecar_vcpu_per_1000_rps: Option<f64>,
    /// The same for the whole sidecar process: the sidecar plus the consumer of its events.
    pub sidecar_process_vcpu_per_1000_rps: Option<f64>,
    /// The sidecar process's peak resident set after the fixed-rate load (VmHWM).
    pub sidecar_peak_rss_mb: Option<f64>,
    /// Resident set after the warm-up and after the fixed-rate load: flat memory means these two match.
    pub sidecar_rss_mb_after_warmup: Option<f64>,
    pub sidecar_rss_mb_after_load: Option<f64>,
    /// The peak after the saturation runs.
    pub sidecar_peak_rss_mb_saturated: Option<f64>,
    pub saturated: Option<Throughput>,
    /// From spawning the sidecar process to its first `listening` line.
    pub sidecar_start_ms: f64,
    pub binary_bytes: Option<u64>,
}

impl Report {
    /// Both paths' percentiles and the added latency at p50, p90, p99 and p99.9.
    pub fn compare(direct: &Sample, sidecar: &Sample) -> (Latency, Latency, [f64; 4]) {
        let (d, s) = (Latency::of(direct), Latency::of(sidecar));
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
            PolicyChoice::None => "none (bare hop)",
        };
        let _ = writeln!(
            out,
            "Sidecar vs direct: {} req/s, {} B bodies, {} connections, {:.0} s per path, policy {policy}",
            self.rps, self.body_bytes, self.connections, self.duration_s
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>8}",
            "", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "req/s", "errors"
        );
        for (name, l) in [("direct", &self.direct), ("sidecar", &self.sidecar)] {
            let _ = writeln!(
                out,
                "{name:<10}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.0}{:>8}",
                l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.achieved_rps, l.errors
            );
        }
        let _ = writeln!(
            out,
            "{:<10}{:>10.3}{:>10.3}{:>10.3}{:>10.3}",
            "added", self.added_p50_ms, self.added_p90_ms, self.added_p99_ms, self.added_p999_ms
        );
        let _ = writeln!(out);
        let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.3} {unit}"));
        let _ = writeln!(
            out,
            "sidecar CPU        {} per 1000 req/s ({} with its event consumer)",
            opt(self.sidecar_vcpu_per_1000_rps, "vCPU"),
            opt(self.sidecar_process_vcpu_per_1000_rps, "vCPU")
        );
        let _ = writeln!(
            out,
            "sidecar peak RSS   {} under the fixed rate, {} after saturation",
            opt(self.sidecar_peak_rss_mb, "MB"),
            opt(self.sidecar_peak_rss_mb_saturated, "MB")
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
                "saturated          direct {:.0} req/s, sidecar {:.0} req/s (errors {} / {})",
                t.direct_rps, t.sidecar_rps, t.direct_errors, t.sidecar_errors
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
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(values_us: &[u64], errors: u64) -> Sample {
        let mut s = Sample::empty();
        for v in values_us {
            s.latency.record(v * 1000).unwrap();
        }
        s.errors = errors;
        s.elapsed = Duration::from_secs(1);
        s
    }

    #[test]
    fn added_latency_is_sidecar_minus_direct_per_percentile() {
        let direct: Vec<u64> = (1..=1000).map(|i| 100 + i % 100).collect();
        let sidecar: Vec<u64> = direct.iter().map(|v| v + 150).collect();
        let (d, s, added) = Report::compare(&sample(&direct, 0), &sample(&sidecar, 2));
        assert_eq!(d.requests, 1000);
        assert_eq!((s.requests, s.errors), (1002, 2));
        assert_eq!(d.achieved_rps, 1000.0);
        // p90 of 100..199 µs is 189-190 µs; the sidecar's is 150 µs more (within the histogram's 0.1%).
        assert!((d.p90_ms - 0.190).abs() < 0.002, "{}", d.p90_ms);
        for a in added {
            assert!((a - 0.150).abs() < 0.002, "{added:?}");
        }
    }
}
