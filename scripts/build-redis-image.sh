#!/usr/bin/env bash
# Builds a small Redis image without any image registry (Redis's default snapshots in /data, so like dapr_redis
# an order saved before `docker stop` is still there after `docker start`): a root filesystem holding Debian's redis-server and the
# libraries it links, imported with `docker import`. Used by the tests; also how to get a `dapr_redis` on a
# machine without registry access:
#   scripts/build-redis-image.sh && docker create --name dapr_redis -p 6379:6379 resilience-tui/redis:local
set -euo pipefail
image="${1:-resilience-tui/redis:local}"
if ! command -v redis-server >/dev/null; then
  # Wait for dpkg's lock rather than fail when another install (a parallel test) holds it.
  apt=(apt-get -o DPkg::Lock::Timeout=300)
  "${apt[@]}" install -y -qq redis-server >/dev/null 2>&1 || { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq redis-server; }
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
bin="$(command -v redis-server)"
for f in "$bin" $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$f")"
  cp -L "$f" "$root$f"
done
mkdir -p "$root/tmp" "$root/data" "$root/etc"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
tar -C "$root" -cf "$root.tar" .
docker import \
  --change "CMD [\"$bin\", \"--protected-mode\", \"no\", \"--dir\", \"/data\"]" \
  "$root.tar" "$image" >/dev/null
rm -f "$root.tar"
echo "$image"
