#!/usr/bin/env bash
# Export benchmark: `fieldgate export` against a fair `cp -r` + `sync` baseline, in one run, the
# same blobs, warm page cache for both (each reads the store once first).
#
# fieldgate: `export --camera` to a folder (each blob streamed in 1 MiB chunks, hashed again on
# the way, fsync'd; items.json, signed manifests, tag files, signature) and to a streamed .tar.
# baseline: `cp -r` of the store's blob folder (the same bytes), then `sync`: a copy that checks
# nothing. Peak RSS (GNU time) of each export, to show memory stays flat whatever the size.
# Then the server's side of the same bytes: `fieldgate-server import-bundle` of the .tar (the
# items never synced: verified whole, each unpacked blob renamed in and receipted), and
# `fieldgate-server export --camera` of them to a folder, each against the same baseline.
#
# Usage: bash bench/export.sh [work-dir] [total-MiB]   (default 1024 MiB in 4 recordings).
# Binaries: release build, or $FIELDGATE_BIN (a folder with fieldgate and fieldgate-server) to
# use another build. Needs ~6x total free in work-dir, GNU time, bc.
# Results (JSON lines) in bench/out/export.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/var/tmp/fieldgate-export-bench}
total_mib=${2:-1024}
for tool in /usr/bin/time bc; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
if [ -n "${FIELDGATE_BIN:-}" ]; then
  bin=$FIELDGATE_BIN
else
  source bench/lib/release.sh
  release_build fieldgate fieldgate-server
fi
mkdir -p bench/out; out=$PWD/bench/out/export.jsonl
now() { date +%s.%N; }
peak_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

rm -rf "$work"; mkdir -p "$work"
server_pid=
stop_server() { [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; server_pid=; }
trap stop_server EXIT

# The gateway needs its key (an enrolment) to sign the bundle: a server on a free port.
"$bin/fieldgate-server" serve --data "$work/server" --port 0 > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 200); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
server_url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
export FIELDGATE_HOME="$work/gateway"
token=$("$bin/fieldgate-server" gateways add bench --data "$work/server" | tail -1)
"$bin/fieldgate" enroll --server "$server_url" --token "$token" > /dev/null
stop_server

mkdir -p "$work/volume/DCIM"
per_file=$(( total_mib / 4 ))
for i in 1 2 3 4; do
  head -c "$((per_file << 20))" /dev/urandom > "$work/volume/DCIM/A000001_010203_20261125$(printf '%06d' "$i")_$(printf '%04d' "$i").MP4"
done
"$bin/fieldgate" collect --from "$work/volume" --camera A000001 --json > /dev/null
rm -rf "$work/volume"
bytes=$(du -sb "$FIELDGATE_HOME/objects" | cut -f1)
warm() { cat "$FIELDGATE_HOME"/objects/sha256/*/* > /dev/null; }

warm; sync
start=$(now)
cp -r "$FIELDGATE_HOME/objects" "$work/copy" && sync
t_cp=$(echo "$(now) - $start" | bc)
rm -rf "$work/copy"; sync

warm
start=$(now)
/usr/bin/time -v -o "$work/folder.rss" "$bin/fieldgate" export --camera A000001 --to "$work/bundle" > /dev/null
t_folder=$(echo "$(now) - $start" | bc)
sh "$work/bundle/verify.sh" > "$work/verify.out" || { cat "$work/verify.out"; exit 1; }
rm -rf "$work/bundle"; sync

warm
start=$(now)
/usr/bin/time -v -o "$work/tar.rss" "$bin/fieldgate" export --camera A000001 --to "$work/bundle.tar" > /dev/null
t_tar=$(echo "$(now) - $start" | bc)

# The server takes the carried .tar in (nothing was synced), then exports the same items.
# The same port as at enrolment: the gateway syncs to the address it enrolled with.
"$bin/fieldgate-server" serve --data "$work/server" --port "${server_url##*:}" > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 200); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
sync
start=$(now)
/usr/bin/time -v -o "$work/import.rss" "$bin/fieldgate-server" import-bundle "$work/bundle.tar" --data "$work/server" --json > "$work/import.json"
t_import=$(echo "$(now) - $start" | bc)
rm -f "$work/bundle.tar"
# The gateway, back online, sends no bytes: the server holds them.
"$bin/fieldgate" sync --json > "$work/sync.json"
stop_server
cat "$work"/server/blobs/sha256/*/* > /dev/null; sync
start=$(now)
/usr/bin/time -v -o "$work/server-export.rss" "$bin/fieldgate-server" export --camera A000001 --to "$work/server-bundle" --data "$work/server" > /dev/null
t_server_export=$(echo "$(now) - $start" | bc)
sh "$work/server-bundle/verify.sh" > "$work/server-verify.out" || { cat "$work/server-verify.out"; exit 1; }
rm -rf "$work/server-bundle"

mbps() { echo "scale=1; $bytes / 1000000 / $1" | bc; }
ratio() { echo "scale=2; $t_cp / $1" | bc; }
line=$(printf '{"bytes":%s,"cp_sync_seconds":%s,"cp_sync_MBps":%s,"export_folder_seconds":%s,"export_folder_MBps":%s,"export_folder_vs_cp":%s,"export_folder_peak_rss_kib":%s,"export_tar_seconds":%s,"export_tar_MBps":%s,"export_tar_vs_cp":%s,"export_tar_peak_rss_kib":%s,"import_seconds":%s,"import_vs_cp":%s,"import_peak_rss_kib":%s,"server_export_seconds":%s,"server_export_vs_cp":%s,"server_export_peak_rss_kib":%s,"sync_after_import":%s,"binaries":"%s"}' \
  "$bytes" "$t_cp" "$(mbps "$t_cp")" "$t_folder" "$(mbps "$t_folder")" "$(ratio "$t_folder")" "$(peak_kib "$work/folder.rss")" \
  "$t_tar" "$(mbps "$t_tar")" "$(ratio "$t_tar")" "$(peak_kib "$work/tar.rss")" \
  "$t_import" "$(ratio "$t_import")" "$(peak_kib "$work/import.rss")" \
  "$t_server_export" "$(ratio "$t_server_export")" "$(peak_kib "$work/server-export.rss")" \
  "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({"receipted": s["receipted"], "sentBytes": s["sentBytes"]}))' "$work/sync.json")" \
  "${FIELDGATE_BIN:-release}")
echo "$line" | tee -a "$out"
rm -rf "$work"
