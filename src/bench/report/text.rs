//! The report as a table for people: the four paths' percentiles, each proxy's added latency, and the
//! sidecar's two APIs next to the bare hop with the ratios the target is set on.

use std::fmt::Write as _;

use super::{Ratios, Report};
use crate::bench::serve::PolicyChoice;

impl Report {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let policy = match self.policy {
            PolicyChoice::Quickstart => "the service-invoke quickstart's (retryForever + simpleCB)",
            PolicyChoice::None => "none",
        };
        let _ = writeln!(
            out,
            "Direct vs sidecar (HTTP, gRPC InvokeService) vs bare proxy hop: {} req/s, {} B bodies, {} connections, {:.0} s per path, sidecar policy {policy}",
            self.rps, self.body_bytes, self.connections, self.duration_s
        );
        let _ = writeln!(out);
        self.latency_table(&mut out);
        let _ = writeln!(out);
        self.cost_table(&mut out);
        let _ = writeln!(out);
        self.other_lines(&mut out);
        self.state_lines(&mut out);
        out
    }

    /// The state API's comparison, when it ran.
    fn state_lines(&self, out: &mut String) {
        let Some(s) = &self.state else {
            let _ = writeln!(out, "state API          not measured: redis-server is not installed");
            return;
        };
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "State API: POST /v1.0/state/statestore through a sidecar (the state-management quickstart's policy) vs the same write to Redis directly"
        );
        let _ = writeln!(
            out,
            "{:<15}{:>10}{:>10}{:>10}{:>10}{:>8}",
            "", "p50 ms", "p90 ms", "p99 ms", "req/s", "errors"
        );
        for (name, l) in [("Redis direct", &s.redis), ("state API", &s.sidecar)] {
            let _ = writeln!(
                out,
                "{name:<15}{:>10.3}{:>10.3}{:>10.3}{:>10.0}{:>8}",
                l.p50_ms, l.p90_ms, l.p99_ms, l.achieved_rps, l.errors
            );
        }
        let _ = writeln!(
            out,
            "{:<15}{:>10.3}{:>10.3}{:>10.3}",
            "state added", s.added_p50_ms, s.added_p90_ms, s.added_p99_ms
        );
        let _ = writeln!(
            out,
            "state sidecar      {} per 1000 req/s ({} for its thread), peak RSS {}",
            opt(s.sidecar_process_vcpu_per_1000_rps, "vCPU"),
            opt(s.sidecar_vcpu_per_1000_rps, "vCPU"),
            opt(s.sidecar_peak_rss_mb, "MB")
        );
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
            ("sidecar gRPC", &self.grpc),
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
                "gRPC added",
                [
                    self.grpc_added_p50_ms,
                    self.grpc_added_p90_ms,
                    self.grpc_added_p99_ms,
                    self.grpc_added_p999_ms,
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

    /// The sidecar's HTTP and gRPC APIs and the bare hop side by side, with the ratios the target is set on.
    fn cost_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<20}{:>13}{:>13}{:>13}{:>13}{:>11}",
            "", "sidecar", "gRPC", "bare hop", "sidecar/hop", "gRPC/hop"
        );
        let pick = |r: &Ratios, i: usize| [r.added_p50, r.added_p90, r.cpu, r.rss][i];
        let rows = [
            (
                "added p50",
                Some(self.added_p50_ms),
                Some(self.grpc_added_p50_ms),
                Some(self.bare_hop_added_p50_ms),
                "ms",
            ),
            (
                "added p90",
                Some(self.added_p90_ms),
                Some(self.grpc_added_p90_ms),
                Some(self.bare_hop_added_p90_ms),
                "ms",
            ),
            (
                "CPU per 1000 req/s",
                self.sidecar_process_vcpu_per_1000_rps,
                self.grpc_process_vcpu_per_1000_rps,
                self.bare_hop_vcpu_per_1000_rps,
                "vCPU",
            ),
            (
                "peak RSS",
                self.sidecar_peak_rss_mb,
                None,
                self.bare_hop_peak_rss_mb,
                "MB",
            ),
        ];
        for (i, (name, ours, grpc, hop, unit)) in rows.into_iter().enumerate() {
            // The gRPC API is served by the same process: its peak is the sidecar's.
            let grpc = if unit == "MB" {
                "(same)".to_string()
            } else {
                opt(grpc, unit)
            };
            let _ = writeln!(
                out,
                "{name:<20}{:>13}{:>13}{:>13}{:>13}{:>11}",
                opt(ours, unit),
                grpc,
                opt(hop, unit),
                times(pick(&self.ratios, i)),
                times(pick(&self.grpc_ratios, i)),
            );
        }
    }

    fn other_lines(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "sidecar CPU        {} per 1000 req/s for its own thread ({} with its event consumer); over gRPC {} ({})",
            opt(self.sidecar_vcpu_per_1000_rps, "vCPU"),
            opt(self.sidecar_process_vcpu_per_1000_rps, "vCPU"),
            opt(self.grpc_vcpu_per_1000_rps, "vCPU"),
            opt(self.grpc_process_vcpu_per_1000_rps, "vCPU")
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
                "saturated          direct {:.0} req/s, sidecar {:.0} req/s, gRPC {:.0} req/s, bare hop {:.0} req/s (errors {} / {} / {} / {})",
                t.direct_rps,
                t.sidecar_rps,
                t.grpc_rps,
                t.bare_hop_rps,
                t.direct_errors,
                t.sidecar_errors,
                t.grpc_errors,
                t.bare_hop_errors
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

fn times(ratio: Option<f64>) -> String {
    ratio.map_or("n/a".to_string(), |r| format!("{r:.2}x"))
}

fn opt(v: Option<f64>, unit: &str) -> String {
    let digits = if unit == "MB" { 1 } else { 3 };
    v.map_or("n/a".to_string(), |v| format!("{v:.digits$} {unit}"))
}
