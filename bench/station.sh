#!/usr/bin/env bash
# Docking-station benchmark. N cameras docked at once (N = 1, 4, 8), each volume a real ext4
# file system on its own loop device whose reads the kernel limits to 35 MB/s, the speed of a
# USB 2.0 body camera (cgroup v1 blkio.throttle.read_bps_device, or io.max on cgroup v2; the
# station runs inside that cgroup, and so does the baseline). Cameras are emulated GA/T 947
# cameras (fieldgate-lab emulate --volume DIR), so docking goes through control mode, the
# switch to storage and the mount table as in the field; sync is off (--no-sync).
#
# Reports, in the same run: the station's time from start until every bay is done, against
# N × one camera's time (speed-up; target ≥ 0.8 × N until the disk is the limit) and against
# `cp -r` + `sync` of the same N volumes run in parallel under the same limit (target ≥ 0.9×),
# and the station's peak RSS (target ≤ 96 MB with 8 bays busy).
# Usage: sudo bash bench/station.sh [work-dir]   (PER_CAMERA_MB=210 by default; BUILD=release;
# results in bench/out/station.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "needs root: loop devices, mounts and the blkio throttle" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
work=${1:-/var/tmp/fieldgate-station-bench}
per_camera_mb=${PER_CAMERA_MB:-210}
build=${BUILD:-release}
rate=$((35 * 1000 * 1000))
if [ -z "${SKIP_BUILD:-}" ]; then
  swift build -c "$build" --product fieldgate >&2
  swift build -c "$build" --product fieldgate-lab >&2
fi
bin=.build/$build
mkdir -p bench/out; out=bench/out/station.jsonl; : > "$out"

cleanup() {
  for point in "$work"/mnt/*; do mountpoint -q "$point" 2>/dev/null && umount "$point"; done
  losetup -j "$work/cam1.img" >/dev/null 2>&1 || true
  for image in "$work"/cam*.img; do
    for dev in $(losetup -j "$image" 2>/dev/null | cut -d: -f1); do losetup -d "$dev" || true; done
  done
  [ -n "${cgroup:-}" ] && [ -d "$cgroup" ] && rmdir "$cgroup" 2>/dev/null || true
}
trap cleanup EXIT
cleanup; rm -rf "$work"; mkdir -p "$work/mnt"

if [ -d /sys/fs/cgroup/blkio ]; then
  cgroup=/sys/fs/cgroup/blkio/fieldgate-bench; mkdir -p "$cgroup"
  limit() { echo "$1 $rate" > "$cgroup/blkio.throttle.read_bps_device"; }
else
  cgroup=/sys/fs/cgroup/fieldgate-bench; mkdir -p "$cgroup"
  echo "+io" > /sys/fs/cgroup/cgroup.subtree_control
  limit() { echo "$1 rbps=$rate" > "$cgroup/io.max"; }
fi
in_cgroup() { bash -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$cgroup" "$@"; }

echo "== making 8 camera volumes of ${per_camera_mb} MB (random content, 8 recordings each)" >&2
for k in 1 2 3 4 5 6 7 8; do
  image="$work/cam$k.img"; serial=$(printf 'V%06d' "$k")
  truncate -s $((per_camera_mb + 48))M "$image"; mkfs.ext4 -q -F "$image"
  mkdir -p "$work/mnt/cam$k"; mount -o loop "$image" "$work/mnt/cam$k"; mkdir -p "$work/mnt/cam$k/DCIM"
  for i in 1 2 3 4 5 6 7 8; do
    head -c $((per_camera_mb * 1000000 / 8)) /dev/urandom > "$work/mnt/cam$k/DCIM/${serial}_010203_20261201$(printf '%02d' "$i")0000_000$i.MP4"
  done
  umount "$work/mnt/cam$k"
done

attach() {  # N: each volume on a read-only loop device, freshly mounted (nothing in the page cache), limited
  for k in $(seq 1 "$1"); do
    local dev; dev=$(losetup -f --show -r "$work/cam$k.img")
    mount -o ro "$dev" "$work/mnt/cam$k"
    limit "$(lsblk -dno MAJ:MIN "$dev" | tr -d ' ')"
  done
}
detach() {
  for k in $(seq 1 "$1"); do
    local dev; dev=$(findmnt -no SOURCE "$work/mnt/cam$k")
    umount "$work/mnt/cam$k"; losetup -d "$dev"
  done
}

run_station() {  # N → seconds until every bay is done; peak RSS in $work/rss-N
  local n=$1 port=$((18470 + $1)) home="$work/home-$1"
  rm -rf "$home"; mkdir -p "$home"
  printf 'free_policy = "never"\nmax_parallel_bays = 8\n' > "$home/config.toml"; chmod 600 "$home/config.toml"
  local volumes=(); for k in $(seq 1 "$n"); do volumes+=(--volume "$work/mnt/cam$k"); done
  attach "$n"
  local start; start=$(date +%s.%N)
  FIELDGATE_HOME="$home" in_cgroup "$bin/fieldgate-lab" emulate --cameras 0 "${volumes[@]}" -- \
    /usr/bin/time -f '%M' -o "$work/rss-$n" "$bin/fieldgate" station --listen "127.0.0.1:$port" --no-sync \
    > "$work/station-$n.out" 2> "$work/station-$n.err" &
  local runner=$!
  python3 - "$port" "$n" "$runner" <<'PY'
import json, os, sys, time, urllib.request
port, n, runner = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.time() + 900
while time.time() < deadline:
    try:
        os.kill(runner, 0)
    except ProcessLookupError:
        print("the station ended before every bay was done", file=sys.stderr); sys.exit(1)
    try:
        bays = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5))["bays"]
        if len(bays) == n and all(b["state"] == "done" for b in bays):
            sys.exit(0)
        if any(b["state"] == "error" for b in bays):
            print(f"a bay failed: {bays}", file=sys.stderr); sys.exit(1)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
PY
  [ $? -eq 0 ] || { cat "$work/station-$n.err" >&2; exit 1; }
  local end; end=$(date +%s.%N)
  pkill -TERM -f "fieldgate station --listen 127.0.0.1:$port" || true
  wait "$runner" || true
  detach "$n"
  echo "$end - $start" | bc
}

run_cp() {  # N → seconds for cp -r of the N volumes in parallel, then sync, under the same limit
  local n=$1; rm -rf "$work/cp"; mkdir -p "$work/cp"
  attach "$n"
  local start; start=$(date +%s.%N)
  in_cgroup bash -c 'for k in $(seq 1 "$1"); do cp -r "$2/mnt/cam$k" "$2/cp/$k" & done; wait; sync' _ "$n" "$work"
  local end; end=$(date +%s.%N)
  detach "$n"; rm -rf "$work/cp"; sync
  echo "$end - $start" | bc
}

one=""
for n in 1 4 8; do
  t_station=$(run_station "$n")
  t_cp=$(run_cp "$n")
  [ -n "$one" ] || one=$t_station
  rss_kb=$(tail -1 "$work/rss-$n")
  python3 - "$n" "$t_station" "$one" "$t_cp" "$rss_kb" "$per_camera_mb" "$build" <<'PY' | tee -a "$out"
import json, sys
n, station, one, cp, rss, mb, build = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
print(json.dumps({"cameras": n, "MB_per_camera": mb, "read_limit_MB_per_s": 35, "build": build,
    "station_s": round(station, 2), "one_camera_s": round(one, 2), "speedup": round(n * one / station, 2),
    "speedup_target": round(0.8 * n, 1), "cp_parallel_sync_s": round(cp, 2), "station_vs_cp_parallel": round(cp / station, 2),
    "station_peak_rss_MB": round(rss / 1024, 1)}))
PY
done
