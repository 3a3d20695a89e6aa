use super::*;

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

#[test]
fn ratios_are_the_sidecar_over_the_bare_hop() {
    // The figures: ours 0.22 ms p50, 0.17 vCPU, 8.8 MB next to nginx's 0.15 ms, 0.10 vCPU, 4.8 MB.
    let r = Ratios::of(
        (0.22, 0.15),
        (0.149, 0.112),
        (Some(0.17), Some(0.10)),
        (Some(8.8), Some(4.8)),
    );
    let expected = Ratios {
        added_p50: Some(1.47),
        added_p90: Some(1.33),
        cpu: Some(1.7),
        rss: Some(1.83),
    };
    assert_eq!(r, expected);
    // At or under the hop: 1.0 and below.
    let r = Ratios::of(
        (0.05, 0.05),
        (0.04, 0.08),
        (Some(0.09), Some(0.1)),
        (Some(4.8), Some(4.8)),
    );
    assert_eq!(
        (r.added_p50, r.added_p90, r.cpu, r.rss),
        (Some(1.0), Some(0.5), Some(0.9), Some(1.0))
    );
}

#[test]
fn no_ratio_over_a_reference_at_or_below_zero_or_missing() {
    // The hop measured no slower than direct (noise): a ratio over it would mean nothing.
    let r = Ratios::of((0.1, 0.0), (0.1, -0.003), (Some(0.1), None), (None, Some(4.0)));
    assert_eq!((r.added_p50, r.added_p90, r.cpu, r.rss), (None, None, None, None));
    // The sidecar measured faster than direct: a negative ratio, reported as measured.
    assert_eq!(
        Ratios::of((-0.01, 0.04), (0.0, 0.1), (None, None), (None, None)).added_p50,
        Some(-0.25)
    );
}

#[test]
fn cpu_is_per_1000_requests_a_second() {
    let per = |cpu_ms, wall_s, rps| vcpu_per_1000_rps(Duration::from_millis(cpu_ms), Duration::from_secs(wall_s), rps);
    // 2.2 s of CPU over 20 s at 1000 req/s: 0.11 of a core.
    assert_eq!(per(2200, 20, 1000), Some(0.11));
    // 6.5 s over 20 s at 5000 req/s: 0.325 cores, 0.065 per 1000 req/s.
    assert_eq!(per(6500, 20, 5000), Some(0.065));
    assert_eq!(per(100, 0, 1000), None);
}

#[test]
fn a_run_reports_four_paths_the_added_latency_of_three_and_their_ratios() {
    let direct: Vec<u64> = (0..1000).map(|i| 200 + i % 100).collect();
    let sidecar: Vec<u64> = direct.iter().map(|v| v + 120).collect();
    let grpc: Vec<u64> = direct.iter().map(|v| v + 160).collect();
    let hop: Vec<u64> = direct.iter().map(|v| v + 80).collect();
    let opts = BenchOptions {
        rps: 1000,
        duration: Duration::from_secs(20),
        body_bytes: 1024,
        connections: 16,
        slice: Duration::from_secs(5),
        warmup: Duration::from_secs(2),
        saturate: Duration::ZERO,
        policy: PolicyChoice::Quickstart,
        progress: false,
    };
    let sidecar_cost = ProcessCost {
        vcpu_per_1000_rps: Some(0.12),
        thread_vcpu_per_1000_rps: Some(0.11),
        peak_rss_mb: Some(8.6),
        ..ProcessCost::default()
    };
    // The same process over gRPC: its own slices' CPU; its peak RSS is the sidecar's (not a gRPC figure).
    let grpc_cost = ProcessCost {
        vcpu_per_1000_rps: Some(0.16),
        thread_vcpu_per_1000_rps: Some(0.15),
        peak_rss_mb: Some(8.6),
        ..ProcessCost::default()
    };
    let hop_cost = ProcessCost {
        vcpu_per_1000_rps: Some(0.08),
        peak_rss_mb: Some(4.3),
        ..ProcessCost::default()
    };
    let (d, s, g, h) = (
        sample(&direct, 0),
        sample(&sidecar, 0),
        sample(&grpc, 2),
        sample(&hop, 1),
    );
    let report = Report::build(&opts, [&d, &s, &g, &h], [&sidecar_cost, &grpc_cost, &hop_cost]);
    // 120 µs, 160 µs and 80 µs added at every percentile, within the histogram's 0.1%.
    for (ours, grpc, hop) in [
        (
            report.added_p50_ms,
            report.grpc_added_p50_ms,
            report.bare_hop_added_p50_ms,
        ),
        (
            report.added_p90_ms,
            report.grpc_added_p90_ms,
            report.bare_hop_added_p90_ms,
        ),
        (
            report.added_p99_ms,
            report.grpc_added_p99_ms,
            report.bare_hop_added_p99_ms,
        ),
    ] {
        assert!(
            (ours - 0.120).abs() < 0.002 && (grpc - 0.160).abs() < 0.002 && (hop - 0.080).abs() < 0.002,
            "{ours} {grpc} {hop}"
        );
    }
    let r = report.ratios;
    assert!(r.added_p50.is_some_and(|x| (x - 1.5).abs() <= 0.05), "{r:?}");
    assert_eq!((r.cpu, r.rss), (Some(1.5), Some(2.0)));
    // gRPC over the same hop: 160 / 80 µs, 0.16 / 0.08 vCPU; no RSS ratio of its own.
    let g = report.grpc_ratios;
    assert!(g.added_p90.is_some_and(|x| (x - 2.0).abs() <= 0.05), "{g:?}");
    assert_eq!((g.cpu, g.rss), (Some(2.0), None));
    assert_eq!((report.grpc.errors, report.bare_hop.errors), (2, 1));

    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    for key in ["direct", "sidecar", "grpc", "bare_hop"] {
        assert!(json[key]["p50_ms"].is_f64(), "{key}");
    }
    assert_eq!(json["ratios"]["cpu"], 1.5);
    assert_eq!(json["grpc_ratios"]["cpu"], 2.0);
    assert_eq!(json["grpc_ratios"]["rss"], serde_json::Value::Null);
    assert_eq!(json["sidecar_vcpu_per_1000_rps"], 0.11);
    assert_eq!(json["grpc_vcpu_per_1000_rps"], 0.15);
    assert_eq!(json["bare_hop_vcpu_per_1000_rps"], 0.08);
    let text = report.to_text();
    for line in [
        "bare hop",
        "sidecar gRPC",
        "gRPC added",
        "hop added",
        "sidecar/hop",
        "gRPC/hop",
        "1.50x",
        "2.00x",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}
