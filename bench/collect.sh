#!/usr/bin/env bash
# Collect benchmark. In one run, over the same files and disk:
#   fieldgate collect --from (copy + SHA-256 + fsync + index)  vs  cp -r + sync  vs  cp -r + sha256sum + sync
# for large recordings (1 MB to 1 GB, about 4.4 GB in all), then 10,000 small files.
# Reports seconds, MB/s (or files/s), ratios to the baselines, and fieldgate's peak memory (GNU time).
# Usage: bash bench/collect.sh [work-dir] [large|small|all]  (as root: a fresh ext4 per tool, see dest)   (needs ~15 GB free; results in bench/out/collect.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/var/tmp/fieldgate-bench}
cases=${2:-all}
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
if [ -n "${FIELDGATE_BIN:-}" ]; then bin=$FIELDGATE_BIN  # a release build made elsewhere
else swift build -c release --product fieldgate >&2; bin=$(swift build -c release --show-bin-path)/fieldgate; fi
rm -rf "$work"; mkdir -p "$work"
mkdir -p bench/out; out=bench/out/collect.jsonl; : > "$out"

make_large() {  # sizes in MiB, random content so nothing is sparse or compressible
  mkdir -p "$1/DCIM"; local i=0
  for size in 1024 1024 512 512 256 256 128 128 128 128 64 64 64 64 16 16 16 16 16 16 16 16 $(printf '1 %.0s' {1..32}); do
    i=$((i+1)); head -c "$((size << 20))" /dev/urandom > "$1/DCIM/A000001_010203_20241105$(printf '%06d' "$i")_$(printf '%04d' "$i").MP4"
  done
}
make_small() {  # folder, layout (ten: ten folders of 1,000; one: one folder of 10,000)
  python3 - "$1" "$2" <<'PY'
import os, sys
root, layout = sys.argv[1], sys.argv[2]
for i in range(10000):
    folder = os.path.join(root, "PHOTO", str(i // 1000)) if layout == "ten" else os.path.join(root, "PHOTO")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"A000001_010203_20241105{i % 240000:06d}_{i:04d}.JPG"), "wb") as f:
        f.write(os.urandom(4096 + (i * 37) % 12288))
PY
}
seconds() { local start=$(date +%s.%N); "$@"; echo "$(date +%s.%N) - $start" | bc; }
# ext4 avoids reusing inodes freed in the last 30 s, and searching past them makes creating
# files slow; every tool gets the same settled disk by waiting that out after each deletion.
# As root, each tool writes to a new ext4 file system of its own instead (a loop device made
# afresh for each run), which no other process's deletions reach: the fairer baseline on a
# shared machine. FRESH_FS=0 keeps the settled work folder.
settle() { sync; sleep 35; }
fresh_fs=${FRESH_FS:-$([ "$(id -u)" = 0 ] && echo 1 || echo 0)}
dest() {  # prepares and prints the folder the next tool writes into
  if [ "$fresh_fs" = 1 ]; then
    umount "$work/mnt" 2>/dev/null || true
    rm -f "$work/disk.img"; truncate -s 40G "$work/disk.img"; mkfs.ext4 -q -F "$work/disk.img"
    mkdir -p "$work/mnt"; mount -o loop "$work/disk.img" "$work/mnt"; echo "$work/mnt"
  else
    settle; echo "$work"
  fi
}

run_case() {  # name, source folder, unit (MB or files)
  local name=$1 src=$2 unit=$3
  local bytes=$(du -sb "$src" | cut -f1) files=$(find "$src" -type f | wc -l)
  local to
  to=$(dest); local t_cp=$(seconds bash -c "cp -r '$src' '$to/cp' && sync"); rm -rf "$to/cp"
  to=$(dest); local t_cphash=$(seconds bash -c "cp -r '$src' '$to/cp' && find '$to/cp' -type f -exec sha256sum -b {} + > /dev/null && sync"); rm -rf "$to/cp"
  to=$(dest); local start=$(date +%s.%N)
  FIELDGATE_HOME="$to/home" /usr/bin/time -f '%M' -o "$work/rss" "$bin" collect --from "$src" --camera A000001 --json > "$work/summary.json"
  local t_fg=$(echo "$(date +%s.%N) - $start" | bc)
  local rss_kb=$(tail -1 "$work/rss")
  rm -rf "$to/home"
  if [ "$fresh_fs" = 1 ]; then umount "$work/mnt"; rm -f "$work/disk.img"; fi
  python3 - "$name" "$bytes" "$files" "$t_cp" "$t_cphash" "$t_fg" "$rss_kb" "$unit" <<'PY' | tee -a "$out"
import json, sys
name, size, files, cp, cphash, fg, rss, unit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(float, sys.argv[4:7]), int(sys.argv[7]), sys.argv[8]
rate = (lambda t: round(size / 1e6 / t, 1)) if unit == "MB" else (lambda t: round(files / t))
print(json.dumps({"case": name, "files": files, "bytes": size,
    "cp_sync_s": round(cp, 2), "cp_sha256sum_sync_s": round(cphash, 2), "fieldgate_s": round(fg, 2),
    f"fieldgate_{'MB' if unit == 'MB' else 'files'}_per_s": rate(fg), f"cp_sync_{'MB' if unit == 'MB' else 'files'}_per_s": rate(cp),
    "speed_vs_cp_sync": round(cp / fg, 2), "speed_vs_cp_sha256sum_sync": round(cphash / fg, 2),
    "fieldgate_peak_rss_MB": round(rss / 1024, 1)}))
PY
}

if [ "$cases" != small ]; then
  make_large "$work/large"; run_case "large recordings (1 MB to 1 GB)" "$work/large" MB; rm -rf "$work/large"
fi
if [ "$cases" != large ]; then
  make_small "$work/small" ten; run_case "10,000 small files in ten folders" "$work/small" files; rm -rf "$work/small"
  make_small "$work/small" one; run_case "10,000 small files in one folder" "$work/small" files; rm -rf "$work/small"
fi
rm -rf "$work"
