#!/usr/bin/env bash
# Soak: runs a scenario headless for a long time (default 1 h) with a fault injected and cleared every
# 10 minutes, sampling the process's resident memory every 30 s. Not part of CI; run once and report.
#   scripts/soak.sh [scenario] [minutes] [out.csv]
set -euo pipefail
scenario="${1:-service-invoke}"; minutes="${2:-60}"; out="${3:-soak-$scenario.csv}"
bin="$(dirname "$0")/../target/release/resilience-tui"
[ -x "$bin" ] || cargo build --release --manifest-path "$(dirname "$0")/../Cargo.toml"
args=(scenario "$scenario" --headless --output jsonl --duration "${minutes}m")
for ((m = 5; m + 2 < minutes; m += 10)); do args+=(--fault-at "${m}m" --clear-at "$((m + 2))m"); done
"$bin" "${args[@]}" > "$out.jsonl" 2>"$out.stderr" &
pid=$!
echo "seconds,rss_kib" > "$out"
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$(( $(date +%s) - start )),$rss" >> "$out"
  sleep 30
done
wait "$pid"; status=$?
echo "exit $status; samples in $out; summary:"
tail -1 "$out.jsonl"
awk -F, 'NR==2 {first=$2} NR>1 {last=$2; if ($2>max) max=$2} END {printf "rss first %d KiB, last %d KiB, max %d KiB, growth %d KiB\n", first, last, max, last-first}' "$out"
