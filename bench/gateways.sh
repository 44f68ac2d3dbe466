#!/usr/bin/env bash
# Many gateways at once: N gateways (default 200), each enrolled with its own token and holding
# M small items (default 20, 4-16 KB of random bytes), all run `fieldgate sync` at the same
# moment against one fieldgate-server on loopback. Checks that every item is receipted and none
# is lost or stored twice (the server's completed uploads equal N × M distinct blobs), and
# reports p50/p99 commit latency (request to verified receipt) and the wall time.
# Usage: bash bench/gateways.sh [gateways] [items] [work-dir]   (results in bench/out/gateways.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
gateways=${1:-200}
items=${2:-20}
work=${3:-/var/tmp/fieldgate-gateways-bench}
swift build -c release --product fieldgate >&2
swift build -c release --product fieldgate-server >&2
bin=$(swift build -c release --show-bin-path)
rm -rf "$work"; mkdir -p "$work"
mkdir -p bench/out; out=bench/out/gateways.jsonl

"$bin/fieldgate-server" serve --data "$work/server" --port 0 > "$work/server.out" 2> "$work/server.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)

echo "preparing $gateways gateways of $items items…" >&2
for g in $(seq -w 1 "$gateways"); do
  serial=$(printf 'G%06d' "$((10#$g))")
  volume="$work/volume-$g/DCIM"; mkdir -p "$volume"
  python3 - "$volume" "$serial" "$items" <<'PY'
import os, sys
folder, serial, items = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(items):
    with open(os.path.join(folder, f"{serial}_100001_20261125{i:06d}_{i:04d}.JPG"), "wb") as f:
        f.write(os.urandom(4096 + (i * 613) % 12288))
PY
  token=$("$bin/fieldgate-server" gateways add "gateway-$g" --data "$work/server" | tail -1)
  FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" enroll --server "$url" --token "$token" > /dev/null
  FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" collect --from "$work/volume-$g" --camera "$serial" --json > /dev/null
done

echo "syncing $gateways gateways at once…" >&2
start=$(date +%s.%N)
pids=()
for g in $(seq -w 1 "$gateways"); do
  FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" sync --json > "$work/sync-$g.json" 2> "$work/sync-$g.err" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed+1)); done
wall=$(echo "$(date +%s.%N) - $start" | bc)
metrics=$(curl -sS "$url/metrics")

python3 - "$work" "$gateways" "$items" "$wall" "$failed" <<PY | tee -a "$out"
import glob, json, sys
work, gateways, items, wall, failed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
metrics = {}
for line in """$metrics""".splitlines():
    if line and not line.startswith("#") and " " in line:
        name, value = line.rsplit(" ", 1)
        metrics[name] = float(value)
latencies, receipted = [], 0
for path in glob.glob(f"{work}/sync-*.json"):
    try:
        summary = json.load(open(path))
    except ValueError:
        continue
    latencies += summary["commitSeconds"]
    receipted += summary["receipted"]
latencies.sort()
def pct(p):
    return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None
print(json.dumps({"case": f"{gateways}-gateways-x-{items}-items", "syncs_failed": failed, "items": gateways * items,
    "receipted": receipted, "server_uploads_completed": metrics.get("fieldgate_uploads_completed_total"),
    "server_receipts_issued": metrics.get("fieldgate_receipts_issued_total"),
    "commit_p50_ms": pct(0.50), "commit_p99_ms": pct(0.99), "wall_s": round(wall, 2)}))
PY
