#!/usr/bin/env bash
# Instructions per request (callgrind's Ir, user space) of one proxy under a fixed-rate load: a count that does
# not depend on how busy the machine is (BENCHMARKS.md). Usage: scripts/ir-per-request.sh BIN sidecar|nginx|bare-hop [N] [RATE] [OUTDIR]
set -u
BIN=$(readlink -f "$1"); WHAT=$2; N=${3:-20000}; RATE=${4:-500}; OUT=${5:-/tmp/perfwork/out}
mkdir -p "$OUT"; T=$(mktemp -d); head -c 1024 /dev/zero | tr '\0' a > "$T/body"
mkfifo "$T/in"; "$BIN" bench-serve app --listen 127.0.0.1:18061 < "$T/in" > "$T/app.out" 2>&1 & APP=$!
sleep 100000 > "$T/in" & SLP=$!
sleep 1
CG="valgrind --tool=callgrind --callgrind-out-file=$OUT/cg.$WHAT.out"
case $WHAT in
  sidecar) $CG "$BIN" bench-serve sidecar --listen 127.0.0.1:13561 --app-addr 127.0.0.1:18061 < "$T/in" > "$T/p.out" 2>&1 & PID=$!
           URL=http://127.0.0.1:13561/orders; HDR=(-H 'dapr-app-id: order-processor');;
  bare-hop) $CG "$BIN" bench-serve bare-hop --listen 127.0.0.1:13561 --app-addr 127.0.0.1:18061 < "$T/in" > "$T/p.out" 2>&1 & PID=$!
           URL=http://127.0.0.1:13561/orders; HDR=();;
  nginx) cat > "$T/nginx.conf" <<EOC
worker_processes 1; daemon off; master_process off; pid $T/nginx.pid; error_log $T/nginx.err;
events { worker_connections 1024; }
http { access_log off; upstream app { server 127.0.0.1:18061; keepalive 32; }
  server { listen 127.0.0.1:13561; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
EOC
         $CG nginx -c "$T/nginx.conf" > "$T/p.out" 2>&1 & PID=$!; URL=http://127.0.0.1:13561/orders; HDR=();;
esac
for i in $(seq 60); do curl -s -o /dev/null -X POST "${HDR[@]}" "$URL" -d x && break; sleep 1; done
o() { oha "$@" -c 16 --no-tui -m POST -D "$T/body" "${HDR[@]}" "$URL" > /dev/null 2>&1; }
o -n 2000 -q "$RATE"
callgrind_control -z "$PID" > /dev/null
o -n "$N" -q "$RATE"
callgrind_control -d "$PID" > /dev/null
sleep 1
F=$(ls -t "$OUT"/cg.$WHAT.out.* 2>/dev/null | head -1)
IR=$(grep -E '^(summary|totals):' "$F" | head -1 | awk '{print $2}')
echo "$WHAT: $IR Ir over $N requests at $RATE/s = $((IR / N)) Ir/request ($F)"
kill "$PID" "$APP" "$SLP" 2>/dev/null; sleep 1
rm -rf "$T"
