#!/usr/bin/env bash
# Sync benchmark. In one run, against the same fieldgate-server on loopback:
#   fieldgate sync (signed manifest, tus in checksummed chunks, receipt)  vs  curl (tus creation +
#   one PATCH per file, no checksums) sending the same bytes,
# for about 2 GB in 9 files of 50 to 500 MB. Reports seconds, MB/s, the ratio to curl, and the
# peak memory of the gateway (fieldgate sync) and of the server (GNU time).
# Usage: bash bench/sync.sh [work-dir] [chunk-size]   (needs ~7 GB free; results in bench/out/sync.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/var/tmp/fieldgate-sync-bench}
chunk=${2:-4M}
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
command -v curl >/dev/null || { echo "install curl" >&2; exit 1; }
swift build -c release --product fieldgate >&2
swift build -c release --product fieldgate-server >&2
bin=$(swift build -c release --show-bin-path)
rm -rf "$work"; mkdir -p "$work/volume/DCIM"
mkdir -p bench/out; out=bench/out/sync.jsonl

i=0
for size in 500 400 300 250 200 150 100 75 50; do
  i=$((i+1)); head -c "$((size << 20))" /dev/urandom > "$work/volume/DCIM/A000001_010203_20261125$(printf '%06d' "$i")_$(printf '%04d' "$i").MP4"
done
bytes=$(du -sb "$work/volume" | cut -f1)

/usr/bin/time -f '%M' -o "$work/server-rss" "$bin/fieldgate-server" serve --data "$work/server" --port 0 > "$work/server.out" 2> "$work/server.err" &
timer=$!
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
server_pid=$(pgrep -P "$timer")

token=$("$bin/fieldgate-server" gateways add bench --data "$work/server" | tail -1)
export FIELDGATE_HOME="$work/gateway"
"$bin/fieldgate" enroll --server "$url" --token "$token" > /dev/null
"$bin/fieldgate" collect --from "$work/volume" --camera A000001 --json > /dev/null
credential=$(sqlite3 "$FIELDGATE_HOME/fieldgate.sqlite" "SELECT credential FROM syncEnrolment")
sync; sleep 5

start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/gateway-rss" "$bin/fieldgate" sync --json --chunk-size "$chunk" > "$work/sync.json"
t_fg=$(echo "$(date +%s.%N) - $start" | bc)

sync; sleep 5
# curl: the same bytes to the same server, one tus upload per file (creation, then one PATCH).
start=$(date +%s.%N)
for file in "$work"/volume/DCIM/*; do
  size=$(stat -c %s "$file")
  sha=$(sqlite3 "$FIELDGATE_HOME/fieldgate.sqlite" "SELECT sha256 FROM recording WHERE sourceName = 'DCIM/$(basename "$file")'")
  meta="sha256 $(printf %s "$sha" | base64 -w0)"
  location=$(curl -sS -o /dev/null -D - -X POST "$url/v1/uploads" -H "Authorization: Bearer $credential" -H "Tus-Resumable: 1.0.0" \
    -H "Upload-Length: $size" -H "Upload-Metadata: $meta" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  curl -sS -f -o /dev/null -X PATCH -T "$file" "$url$location" -H "Authorization: Bearer $credential" -H "Tus-Resumable: 1.0.0" \
    -H "Upload-Offset: 0" -H "Content-Type: application/offset+octet-stream"
done
t_curl=$(echo "$(date +%s.%N) - $start" | bc)

kill -TERM "$server_pid"; wait "$timer" || true
python3 - "$bytes" "$t_fg" "$t_curl" "$(tail -1 "$work/gateway-rss")" "$(tail -1 "$work/server-rss")" "$chunk" "$work/sync.json" <<'PY' | tee -a "$out"
import json, sys
size, fg, curl, gw_rss, srv_rss, chunk, summary = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], json.load(open(sys.argv[7]))
print(json.dumps({"case": "2GB-in-9-files", "bytes": size, "chunk": chunk, "receipted": summary["receipted"],
    "fieldgate_s": round(fg, 2), "curl_s": round(curl, 2), "fieldgate_MB_per_s": round(size / 1e6 / fg, 1),
    "curl_MB_per_s": round(size / 1e6 / curl, 1), "speed_vs_curl": round(curl / fg, 2),
    "gateway_peak_rss_MB": round(gw_rss / 1024, 1), "server_peak_rss_MB": round(srv_rss / 1024, 1)}))
PY
rm -rf "$work"
