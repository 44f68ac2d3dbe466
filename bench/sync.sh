#!/usr/bin/env bash
# Sync benchmark: fieldgate sync against a fair curl baseline, in one run, same server build,
# same files (same bytes), warm page cache for both.
#
#   loopback: six 100 MiB recordings (629 MB) straight to the server on 127.0.0.1.
#   wan-40ms-100mbit, wan-100ms-20mbit: ~130 MB (recordings of 1 to 40 MiB) through
#     bench/wan_proxy.py, a delaying, rate-capping TCP proxy on loopback (no netem here).
#
# fieldgate: `fieldgate sync` (signed manifest, tus with checksummed chunks, creation-with-upload
# for small blobs, parallel uploads, verified receipt), with its defaults.
# curl: per file a tus creation (POST) and one PATCH of the whole file, no checksums, hashes
# computed before the timing starts, `-H 'Expect:'` (no 100-continue round trip: the best curl
# can do). On loopback curl's default (it sends Expect: 100-continue, which the server answers)
# is timed too. Each tool uploads to a fresh server data folder, fieldgate first.
# WAN share of the link = (bytes / rate + 2 RTT) / seconds: the link's own limit (TCP handshake
# and one request/answer round trip are the least any client needs) over the time taken.
# Peak RSS (GNU time) of the gateway's `fieldgate sync` and of the server, over the whole case.
#
#   backends: twenty 100 MiB recordings (2.1 GB) by `fieldgate sync` to the server on its
#     folder backend and on SeaweedFS (`--blobs s3://…`, a private `weed server`), same run,
#     with the store's own speed as the baseline: curl PUTting the same files straight into
#     the bucket (its own SigV4, one request per file).
#
# Both tools run against the build that ships (release, static Swift runtime: bench/lib/release.sh).
#
# Usage: bash bench/sync.sh [work-dir] [cases...]   cases: loopback loopback-rounds wan-40 wan-100 backends
#   (default: loopback wan-40 wan-100 backends; loopback-rounds repeats loopback $ROUNDS times, default 7)
# Needs ~2.5 GB free in work-dir (~9 GB for backends), python3, curl, sqlite3, GNU time (Debian `time`).
# Results (JSON lines) in bench/out/sync.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/var/tmp/fieldgate-sync-bench}
shift || true
cases=("$@"); [ ${#cases[@]} -gt 0 ] || cases=(loopback wan-40 wan-100 backends)
for tool in /usr/bin/time curl sqlite3 python3; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
source bench/lib/release.sh
release_build fieldgate fieldgate-server
mkdir -p bench/out; out=$PWD/bench/out/sync.jsonl
now() { date +%s.%N; }
peak_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

server_pid=; timer_pid=; proxy_pid=
stop_all() {
  [ -n "$proxy_pid" ] && kill -TERM "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null || true
  [ -n "$timer_pid" ] && wait "$timer_pid" 2>/dev/null || true
  server_pid=; timer_pid=; proxy_pid=
}
source bench/lib/services.sh
trap 'stop_all; stop_services' EXIT

# start_server DATA [serve options...]: a server on a free port, under GNU time; sets $server_url, $server_pid.
start_server() {
  local data=$1; shift
  /usr/bin/time -v -o "$data.rss" "$bin/fieldgate-server" serve --data "$data" --port 0 "$@" > "$data.out" 2> "$data.err" &
  timer_pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$data.out" 2>/dev/null && break; sleep 0.05; done
  server_url=$(grep -o 'http://[^ ]*' "$data.out" | head -1)
  server_pid=$(pgrep -P "$timer_pid")
}

# start_proxy RTT_MS RATE_MBIT: the emulated WAN in front of $server_url; sets $link_url.
start_proxy() {
  python3 bench/wan_proxy.py --target "${server_url#http://}" --rtt-ms "$1" --rate-mbit "$2" > "$work/proxy.out" &
  proxy_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/proxy.out" 2>/dev/null && break; sleep 0.05; done
  link_url="http://127.0.0.1:$(awk '{print $3}' "$work/proxy.out")"
}

# make_files SIZES_MIB...: recordings in $work/volume/DCIM.
make_files() {
  rm -rf "$work/volume"; mkdir -p "$work/volume/DCIM"
  local i=0
  for size in "$@"; do
    i=$((i+1))
    head -c "$((size << 20))" /dev/urandom > "$work/volume/DCIM/A000001_010203_20261125$(printf '%06d' "$i")_$(printf '%04d' "$i").MP4"
  done
  bytes=$(du -sb "$work/volume" | cut -f1)
}

# gateway URL [SERVER-DATA]: a fresh gateway enrolled with the server at URL, the volume collected.
gateway() {
  export FIELDGATE_HOME="$work/gateway"
  rm -rf "$FIELDGATE_HOME"
  local token; token=$("$bin/fieldgate-server" gateways add bench --data "${2:-$work/fg-server}" | tail -1)
  "$bin/fieldgate" enroll --server "$1" --token "$token" > /dev/null
  "$bin/fieldgate" collect --from "$work/volume" --camera A000001 --json > /dev/null
}

warm() { sync; find "$work/volume" "$FIELDGATE_HOME" -type f -exec cat {} + > /dev/null; sleep 2; }

# time_fieldgate: seconds for `fieldgate sync` (sets $t_fg, $gw_rss).
time_fieldgate() {
  warm
  local start; start=$(now)
  /usr/bin/time -v -o "$work/gateway.rss" "$bin/fieldgate" sync --json > "$work/sync.json"
  t_fg=$(echo "$(now) - $start" | bc)
  gw_rss=$(peak_kib "$work/gateway.rss")
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["receipted"] == int(sys.argv[2]), s' "$work/sync.json" "$(ls "$work/volume/DCIM" | wc -l)"
}

# time_curl URL CREDENTIAL [curl options...]: seconds for curl to upload every file (sets $t_curl).
time_curl() {
  local url=$1 credential=$2; shift 2
  # Hashes, sizes and metadata outside the timing.
  local plan=(); local file
  for file in "$work"/volume/DCIM/*; do
    plan+=("$file|$(stat -c %s "$file")|sha256 $(sha256sum "$file" | cut -c1-64 | tr -d '\n' | base64 -w0)")
  done
  warm
  local start; start=$(now)
  local entry
  for entry in "${plan[@]}"; do
    IFS='|' read -r file size meta <<< "$entry"
    location=$(curl -sS -o /dev/null -D - -X POST "$url/v1/uploads" -H "Authorization: Bearer $credential" -H "Tus-Resumable: 1.0.0" \
      -H "Upload-Length: $size" -H "Upload-Metadata: $meta" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
    curl -sS -f -o /dev/null -X PATCH -T "$file" "$url$location" -H "Authorization: Bearer $credential" -H "Tus-Resumable: 1.0.0" \
      -H "Upload-Offset: 0" -H "Content-Type: application/offset+octet-stream" "$@"
  done
  t_curl=$(echo "$(now) - $start" | bc)
}

# run_case NAME RTT_MS RATE_MBIT (0 0 for loopback)
run_case() {
  local name=$1 rtt=$2 rate=$3
  rm -rf "$work/fg-server" "$work/curl-server"
  # fieldgate, on its own server data folder.
  start_server "$work/fg-server"
  local url=$server_url
  if [ "$rate" != 0 ]; then start_proxy "$rtt" "$rate"; url=$link_url; fi
  gateway "$url"
  time_fieldgate
  stop_all
  local srv_rss_fg; srv_rss_fg=$(peak_kib "$work/fg-server.rss")
  # curl, on a fresh data folder of the same server build (so it must send every byte too).
  start_server "$work/curl-server"
  url=$server_url
  if [ "$rate" != 0 ]; then start_proxy "$rtt" "$rate"; url=$link_url; fi
  local token; token=$("$bin/fieldgate-server" gateways add curl --data "$work/curl-server" | tail -1)
  local credential
  credential=$(curl -sS -f -X POST "$server_url/v1/enroll" -H 'Content-Type: application/json' \
    -d "{\"token\":\"$token\",\"publicKey\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"])')
  time_curl "$url" "$credential" -H 'Expect:'
  local t_curl_fair=$t_curl t_curl_expect=0
  stop_all
  if [ "$rate" = 0 ]; then
    # curl as it behaves by default (Expect: 100-continue on large bodies), on a third fresh folder.
    rm -rf "$work/curl-server"
    start_server "$work/curl-server"
    token=$("$bin/fieldgate-server" gateways add curl --data "$work/curl-server" | tail -1)
    credential=$(curl -sS -f -X POST "$server_url/v1/enroll" -H 'Content-Type: application/json' \
      -d "{\"token\":\"$token\",\"publicKey\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"])')
    time_curl "$server_url" "$credential"
    t_curl_expect=$t_curl
    stop_all
  fi
  python3 - "$name" "$bytes" "$rtt" "$rate" "$t_fg" "$t_curl_fair" "$t_curl_expect" "$gw_rss" "$srv_rss_fg" \
    "$(peak_kib "$work/curl-server.rss")" "$(ls "$work/volume/DCIM" | wc -l)" <<'PY' | tee -a "$out"
import json, sys
name, size, rtt, rate, fg, curl, curl_expect, gw, srv, srv_curl, files = sys.argv[1:]
size, rtt, rate, fg, curl, curl_expect = int(size), float(rtt), float(rate), float(fg), float(curl), float(curl_expect)
row = {"case": name, "bytes": size, "files": int(files), "fieldgate_s": round(fg, 2), "curl_s": round(curl, 2),
       "fieldgate_MB_per_s": round(size / 1e6 / fg, 1), "curl_MB_per_s": round(size / 1e6 / curl, 1),
       "fieldgate_vs_curl": round(curl / fg, 2),
       "gateway_peak_rss_MB": round(int(gw) / 1024, 1), "server_peak_rss_MB": round(int(srv) / 1024, 1),
       "server_peak_rss_curl_MB": round(int(srv_curl) / 1024, 1)}
if rate:
    limit = size / (rate * 1e6 / 8) + 2 * rtt / 1000
    row.update({"rtt_ms": rtt, "rate_mbit": rate, "link_limit_s": round(limit, 2),
                "fieldgate_share_of_link": round(limit / fg, 3), "curl_share_of_link": round(limit / curl, 3)})
else:
    row.update({"curl_default_expect_s": round(curl_expect, 2)})
print(json.dumps(row))
PY
}

# run_backends: the same recordings synced to the folder backend and to SeaweedFS.
run_backends() {
  rm -rf "$work/folder-server" "$work/s3-server" "$work/seaweedfs"
  start_server "$work/folder-server"
  gateway "$server_url" "$work/folder-server"
  time_fieldgate
  local t_folder=$t_fg gw_folder=$gw_rss
  stop_all
  rm -rf "$work/folder-server/blobs"   # room for the next copy
  start_seaweedfs "$work/seaweedfs"
  local blobs=(--blobs s3://bench/fieldgate --s3-endpoint "$s3_endpoint")
  start_server "$work/s3-server" "${blobs[@]}"
  gateway "$server_url" "$work/s3-server"
  time_fieldgate
  local t_s3=$t_fg gw_s3=$gw_rss
  stop_all
  # The store's own speed: curl PUTs each file into the bucket (a multipart-free single PUT).
  warm
  local start file; start=$(now)
  for file in "$work"/volume/DCIM/*; do
    curl -sS -f -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
      -T "$file" "$s3_endpoint/bench/curl/$(basename "$file")"
  done
  local t_curl_s3; t_curl_s3=$(echo "$(now) - $start" | bc)
  stop_services
  python3 - "$bytes" "$t_folder" "$t_s3" "$t_curl_s3" "$gw_folder" "$gw_s3" "$(peak_kib "$work/folder-server.rss")" \
    "$(peak_kib "$work/s3-server.rss")" "$(ls "$work/volume/DCIM" | wc -l)" <<'PY' | tee -a "$out"
import json, sys
size, folder, s3, curl_s3 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
gw_folder, gw_s3, srv_folder, srv_s3, files = (int(v) for v in sys.argv[5:])
print(json.dumps({"case": "backends", "bytes": size, "files": files,
    "folder_s": round(folder, 2), "seaweedfs_s": round(s3, 2), "curl_put_to_seaweedfs_s": round(curl_s3, 2),
    "folder_MB_per_s": round(size / 1e6 / folder, 1), "seaweedfs_MB_per_s": round(size / 1e6 / s3, 1),
    "seaweedfs_vs_folder": round(folder / s3, 2), "seaweedfs_vs_curl_put": round(curl_s3 / s3, 2),
    "gateway_peak_rss_MB": {"folder": round(gw_folder / 1024, 1), "seaweedfs": round(gw_s3 / 1024, 1)},
    "server_peak_rss_MB": {"folder": round(srv_folder / 1024, 1), "seaweedfs": round(srv_s3 / 1024, 1)}}))
PY
}

mkdir -p "$work"
for case in "${cases[@]}"; do
  case $case in
    loopback) make_files 100 100 100 100 100 100; run_case loopback 0 0 ;;
    loopback-rounds)
      # The loopback case ROUNDS times over (default 7), fieldgate and curl alternating, and the
      # median of the ratios: one run's baseline varies too much on a shared machine to decide.
      make_files 100 100 100 100 100 100
      rounds=${ROUNDS:-7}; ratios=()
      for _ in $(seq "$rounds"); do
        run_case loopback 0 0
        ratios+=("$(tail -1 "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["fieldgate_vs_curl"])')")
      done
      python3 - "${ratios[@]}" <<'PY' | tee -a "$out"
import json, statistics, sys
ratios = [float(r) for r in sys.argv[1:]]
print(json.dumps({"case": "loopback-rounds", "rounds": len(ratios), "fieldgate_vs_curl": ratios,
                  "median": round(statistics.median(ratios), 2), "min": min(ratios), "max": max(ratios)}))
PY
      ;;
    wan-40) make_files 40 30 20 15 10 5 2 1 1 1; run_case wan-40ms-100mbit 40 100 ;;
    wan-100) make_files 40 30 20 15 10 5 2 1 1 1; run_case wan-100ms-20mbit 100 20 ;;
    backends) make_files $(printf '100 %.0s' $(seq 20)); run_backends ;;
    *) echo "unknown case $case" >&2; exit 1 ;;
  esac
done
rm -rf "$work"
