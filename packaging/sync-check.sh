#!/usr/bin/env bash
# A real sync between the given builds of fieldgate and fieldgate-server on 127.0.0.1: a
# gateway is added and enrolled, a few recordings (one of several chunks) are collected with
# `collect --from`, synced with parallel uploads and receipted, and every blob the server
# holds is checked against the gateway's hashes; then each side exports a bundle and its own
# verify.sh checks it, and a bundle carried by hand is imported. packaging/check.sh runs it on the installed
# release builds, which no test runs (the tests use debug builds, and a release build once
# crashed in sync where debug builds did not).
# Usage: bash packaging/sync-check.sh [BINDIR]   (default: the programs on PATH)
set -euo pipefail
bindir=${1:-}
gateway=${bindir:+$bindir/}fieldgate
server=${bindir:+$bindir/}fieldgate-server
fail() { echo "sync check: $*" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export FIELDGATE_HOME="$work/gateway"

token=$("$server" gateways add sync-check --data "$work/server" | tail -n 1)
"$server" serve --data "$work/server" --host 127.0.0.1 --port 0 >"$work/serve.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^fieldgate-server listening on //p' "$work/serve.log")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "fieldgate-server stopped: $(cat "$work/serve.log")"
  sleep 0.1
done
[ -n "$url" ] || fail "fieldgate-server did not say where it listens: $(cat "$work/serve.log")"

"$gateway" enroll --server "$url" --token "$token" >/dev/null || fail "enroll failed"

# Recordings as a camera names them; one spans several 1 MiB chunks and so several requests.
card="$work/card/DCIM/100MEDIA"
mkdir -p "$card"
head -c 3500000 /dev/urandom >"$card/A123456_20261201083000_0001.MP4"
head -c 700000 /dev/urandom >"$card/A123456_20261201090000_0002.MP4"
head -c 1000 /dev/urandom >"$card/A123456_20261201093000_0003.WAV"
printf 'photo' >"$card/A123456_20261201094000_0004.JPG"
"$gateway" collect --from "$work/card" --camera A123456 --json >"$work/collect.json" \
  || [ $? -eq 2 ] || fail "collect --from failed: $(cat "$work/collect.json")"

"$gateway" sync --parallel 4 --batch-size 2 --chunk-size 1M --json >"$work/sync.json" \
  || fail "sync failed: $(cat "$work/sync.json")"
python3 - "$work/sync.json" <<'CHECK' || fail "sync did not receipt every recording: $(cat "$work/sync.json")"
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["receipted"] == 4, summary
assert summary["uploaded"] == 4, summary
assert not summary["waiting"] and summary.get("stoppedBecause") is None, summary
CHECK
"$gateway" receipts >/dev/null || fail "the receipts do not verify"

# Every blob the server stored is the one the gateway hashed.
for file in "$card"/*; do
  hash=$(sha256sum "$file" | cut -c1-64)
  stored=$(find "$work/server" -type f -name "$hash" | head -n 1)
  [ -n "$stored" ] || fail "the server holds no blob $hash ($(basename "$file"))"
  [ "$(sha256sum "$stored" | cut -c1-64)" = "$hash" ] || fail "the server's blob $hash is not what was sent"
done
# Bundles from both sides, each checked by its own verify.sh (sh, coreutils, OpenSSL).
"$gateway" export --camera A123456 --to "$work/gateway-bag" --json >/dev/null || fail "fieldgate export failed"
sh "$work/gateway-bag/verify.sh" >"$work/gateway-verify.log" || fail "the gateway's bundle does not verify: $(cat "$work/gateway-verify.log")"
grep -q "BUNDLE VERIFIED: 4 item file(s): 4 receipted" "$work/gateway-verify.log" \
  || fail "the gateway's bundle does not say all 4 are receipted: $(cat "$work/gateway-verify.log")"
"$server" export --camera A123456 --to "$work/server-bag.tar" --data "$work/server" --json >/dev/null || fail "fieldgate-server export failed"
mkdir "$work/extracted" && tar -xf "$work/server-bag.tar" -C "$work/extracted"
sh "$work/extracted/server-bag/verify.sh" >"$work/server-verify.log" || fail "the server's bundle does not verify: $(cat "$work/server-verify.log")"
grep -q "BUNDLE VERIFIED: 4 item file(s): 4 receipted" "$work/server-verify.log" \
  || fail "the server's bundle does not say all 4 are receipted: $(cat "$work/server-verify.log")"

# One more recording, not synced, carried by hand: the gateway's bundle taken in by the server.
head -c 200000 /dev/urandom >"$card/A123456_20261201100000_0005.MP4"
"$gateway" collect --from "$work/card" --camera A123456 --json >/dev/null || [ $? -eq 2 ] || fail "the second collect failed"
"$gateway" export --camera A123456 --to "$work/carried.tar" --json >/dev/null || fail "fieldgate export of the carried bundle failed"
"$server" import-bundle "$work/carried.tar" --data "$work/server" --json >"$work/import.json" \
  || fail "import-bundle failed: $(cat "$work/import.json")"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["imported"] == 1' "$work/import.json" || fail "import-bundle did not take in the one new recording: $(cat "$work/import.json")"

echo "sync check: $(basename "$gateway") synced 4 recordings to $(basename "$server") on $url, all receipted and stored intact; both sides' bundles verify; a bundle carried by hand was taken in"
