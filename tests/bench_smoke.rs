//! `bench sidecar` end to end, very short: the real binary starts its app, sidecar and bare-hop processes and
//! drives all four paths (direct, the sidecar's HTTP and gRPC APIs, the hop). Only that each path carried
//! its requests without an error and that the report names every path with numbers is asserted, never a
//! timing: a debug build on a shared machine says nothing about speed (BENCHMARKS.md). The state paths
//! (through the sidecar and to Redis directly) too, with the redis-server installed here.

use crate::common;

use std::process::Command;

/// `bench sidecar` at 200 req/s for 1 s, 2 connections, no saturation: the report in `output`.
fn short_bench(output: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .args(["bench", "sidecar", "--rps", "200", "--duration", "1s", "--slice", "1s"])
        .args([
            "--warmup",
            "200ms",
            "--saturate",
            "0s",
            "--connections",
            "2",
            "--output",
            output,
        ])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bench sidecar failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn a_short_bench_reports_the_grpc_path_next_to_http_with_numbers() {
    let json: serde_json::Value = serde_json::from_str(&short_bench("json")).expect("the JSON report parses");
    for path in ["direct", "sidecar", "grpc", "bare_hop"] {
        // 200 req/s for 1 s, every one answered 200 (gRPC: OK with the app's 200 in dapr-http-status).
        assert_eq!(json[path]["requests"], 200, "{path}: {}", json[path]);
        assert_eq!(json[path]["errors"], 0, "{path}: {}", json[path]);
        assert!(json[path]["p50_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{path}");
    }
    for key in [
        "grpc_added_p50_ms",
        "grpc_added_p90_ms",
        "added_p50_ms",
        "bare_hop_added_p50_ms",
    ] {
        assert!(json[key].is_f64(), "{key}: {}", json[key]);
    }
    // The sidecar's CPU over its gRPC slices is read from /proc like the HTTP path's.
    assert!(json["grpc_process_vcpu_per_1000_rps"].as_f64().is_some_and(|v| v > 0.0));
    for key in ["added_p50", "added_p90", "cpu"] {
        assert!(json["grpc_ratios"].get(key).is_some(), "{key}: {}", json["grpc_ratios"]);
    }

    let text = short_bench("text");
    for needle in ["sidecar gRPC", "gRPC added", "gRPC/hop", "over gRPC"] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

#[test]
fn the_state_api_is_measured_against_redis_directly() {
    // The bench starts its own redis-server for the state paths (it leaves them out without one).
    common::ensure_installed("redis-server", "redis-server");
    let json: serde_json::Value = serde_json::from_str(&short_bench("json")).expect("the JSON report parses");
    let state = &json["state"];
    for path in ["redis", "sidecar"] {
        // Every save answered: Redis's script reply, the sidecar's 204.
        assert_eq!(state[path]["requests"], 200, "{path}: {state}");
        assert_eq!(state[path]["errors"], 0, "{path}: {state}");
    }
    assert!(state["added_p50_ms"].is_f64(), "{state}");
    assert!(
        state["sidecar_process_vcpu_per_1000_rps"]
            .as_f64()
            .is_some_and(|v| v > 0.0),
        "{state}"
    );
}
