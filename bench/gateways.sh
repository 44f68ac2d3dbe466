#!/usr/bin/env bash
# Many gateways at once: N gateways (default 200), each enrolled with its own token and holding
# M small items (default 20, 4-16 KB of random bytes), all run `fieldgate sync` at the same
# moment. Checks that every item is receipted and none is lost or stored twice (the servers'
# completed uploads equal N × M distinct blobs), and reports p50/p99 commit latency (request
# to verified receipt) and the wall time.
#
#   single:    one fieldgate-server on SQLite and its data folder (the embedded default).
#   scale-out: two fieldgate-server instances on one PostgreSQL database and one SeaweedFS
#              bucket, behind nginx (round-robin), each with a data folder of its own; also
#              counts the blobs in the database and the objects in the bucket.
#
# Usage: bash bench/gateways.sh [gateways] [items] [work-dir] [single|scale-out]
# (results in bench/out/gateways.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
gateways=${1:-200}
items=${2:-20}
work=${3:-/var/tmp/fieldgate-gateways-bench}
mode=${4:-single}
source bench/lib/release.sh
release_build fieldgate fieldgate-server
rm -rf "$work"; mkdir -p "$work"
mkdir -p bench/out; out=$PWD/bench/out/gateways.jsonl
source bench/lib/services.sh
servers=()
trap 'for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done; stop_services' EXIT

# start_instance DATA NAME [options]: a server on a free port; appends its URL to $instance_urls.
instance_urls=()
start_instance() {
  local data=$1 name=$2; shift 2
  "$bin/fieldgate-server" serve --data "$data" --port 0 --instance "$name" "$@" \
    > "$data.out" 2> "$data.err" &
  servers+=($!)
  for _ in $(seq 200); do grep -q "listening on" "$data.out" 2>/dev/null && break; sleep 0.05; done
  instance_urls+=("$(grep -o 'http://[^ ]*' "$data.out" | head -1)")
}

storage=()
if [ "$mode" = scale-out ]; then
  start_postgres "$work/postgres"
  start_seaweedfs "$work/seaweedfs"
  storage=(--database "$pg_url" --database-password-file "$pg_password_file" --blobs s3://bench/fieldgate --s3-endpoint "$s3_endpoint")
  start_instance "$work/server-a" centre-a "${storage[@]}"
  start_instance "$work/server-b" centre-b "${storage[@]}"
  start_nginx "$work/nginx" "${instance_urls[0]##*:}" "${instance_urls[1]##*:}"
  url=$balancer_url
else
  start_instance "$work/server" centre
  url=${instance_urls[0]}
fi
admin=(--data "$work/server-a" "${storage[@]}"); [ "$mode" = scale-out ] || admin=(--data "$work/server")

echo "preparing $gateways gateways of $items items…" >&2
prepare() {
  local g=$1 serial; serial=$(printf 'G%06d' "$((10#$g))")
  local volume="$work/volume-$g/DCIM"; mkdir -p "$volume"
  python3 - "$volume" "$serial" "$items" <<'PY'
import os, sys
folder, serial, items = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(items):
    with open(os.path.join(folder, f"{serial}_100001_20261125{i:06d}_{i:04d}.JPG"), "wb") as f:
        f.write(os.urandom(4096 + (i * 613) % 12288))
PY
  local token; token=$("$bin/fieldgate-server" gateways add "gateway-$g" "${admin[@]}" | tail -1)
  FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" enroll --server "$url" --token "$token" > /dev/null
  FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" collect --from "$work/volume-$g" --camera "$serial" --json > /dev/null
}
export -f prepare; export work items bin url
export admin_args="${admin[*]}"
# shellcheck disable=SC2016
seq -w 1 "$gateways" | xargs -P 4 -I{} bash -c 'admin=($admin_args); prepare {}'

echo "syncing $gateways gateways at once…" >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start=$(date +%s.%N)
pids=()
for g in $(seq -w 1 "$gateways"); do
  FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" sync --json > "$work/sync-$g.json" 2> "$work/sync-$g.err" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed+1)); done
wall=$(echo "$(date +%s.%N) - $start" | bc)
# A sync that gave up on a transient error (its retries spent) leaves items waiting, as a
# station would until its next sync: those gateways sync again, at once, until none is left
# (at most 3 more rounds); the rounds needed are reported.
resynced=0; rounds=0
while [ "$rounds" -lt 3 ]; do
  again=$(python3 - "$work" <<'PY'
import glob, json, sys
for path in sorted(glob.glob(f"{sys.argv[1]}/sync-*.json")):
    if ".round" in path: continue
    try:
        if json.load(open(path)).get("stoppedBecause"): print(path.split("sync-")[1][:-5])
    except ValueError:
        print(path.split("sync-")[1][:-5])
PY
)
  [ -n "$again" ] || break
  rounds=$((rounds + 1)); pids=()
  for g in $again; do
    resynced=$((resynced + 1))
    mv "$work/sync-$g.json" "$work/sync-$g.round$rounds.json"
    FIELDGATE_HOME="$work/gw-$g" "$bin/fieldgate" sync --json > "$work/sync-$g.json" 2> "$work/sync-$g.err" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
done
: > "$work/metrics"
for instance in "${instance_urls[@]}"; do curl -sS "$instance/metrics" >> "$work/metrics"; done
blob_rows=null; bucket_objects=null
if [ "$mode" = scale-out ]; then
  blob_rows=$(psql_evidence -tA -c 'SELECT count(*) FROM blob')
  bucket_objects=$(python3 - "$s3_endpoint" <<'PY'
import os, subprocess, sys
# One listing per two-hex folder (each well under S3's 1,000 keys a page), so no continuation.
endpoint, count = sys.argv[1], 0
for first in range(256):
    body = subprocess.run(["curl", "-sSf", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                           os.environ["AWS_ACCESS_KEY_ID"] + ":" + os.environ["AWS_SECRET_ACCESS_KEY"],
                           f"{endpoint}/bench?list-type=2&max-keys=1000&prefix=fieldgate%2Fsha256%2F{first:02x}%2F"],
                          capture_output=True, text=True, check=True).stdout
    assert "<IsTruncated>true</IsTruncated>" not in body, "more than 1,000 blobs under one folder"
    count += body.count("<Key>")
print(count)
PY
)
fi

python3 - "$work" "$gateways" "$items" "$wall" "$failed" "$mode" "$blob_rows" "$bucket_objects" "$resynced" "$rounds" <<'PY' | tee -a "$out"
import glob, json, sys
work, gateways, items, wall, failed, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
blob_rows, bucket_objects = json.loads(sys.argv[7]), json.loads(sys.argv[8])
resynced, rounds = int(sys.argv[9]), int(sys.argv[10])
totals = {}
for line in open(f"{work}/metrics"):
    if line and not line.startswith("#") and " " in line:
        name, value = line.rsplit(" ", 1)
        totals[name] = totals.get(name, 0) + float(value)
latencies, receipted = [], 0
for path in glob.glob(f"{work}/sync-*.json"):  # every round's summary
    try:
        summary = json.load(open(path))
    except ValueError:
        continue
    latencies += summary["commitSeconds"]
    receipted += summary["receipted"]
latencies.sort()
reasons = {}
for path in glob.glob(f"{work}/sync-*.err"):
    lines = [l for l in open(path, errors="replace").read().splitlines() if l.strip()]
    if lines:
        reasons[lines[-1][:160]] = reasons.get(lines[-1][:160], 0) + 1
def pct(p):
    return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None
row = {"case": f"{gateways}-gateways-x-{items}-items", "mode": mode, "syncs_failed": failed, "items": gateways * items,
    "receipted": receipted, "server_uploads_completed": totals.get("fieldgate_uploads_completed_total"),
    "server_receipts_issued": totals.get("fieldgate_receipts_issued_total"),
    "commit_p50_ms": pct(0.50), "commit_p99_ms": pct(0.99), "wall_s": round(wall, 2),
    "gateways_synced_again": resynced, "extra_rounds": rounds}
if reasons:
    row["last_stderr_lines"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
if mode == "scale-out":
    row.update({"blob_rows": blob_rows, "bucket_blob_objects": bucket_objects})
print(json.dumps(row))
PY
