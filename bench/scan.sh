#!/usr/bin/env bash
# Scan benchmark: median time of one `fieldgate scan --json` with 1, 8 and 32 emulated devices
# attached, and the same for `lsusb -v` (Debian package usbutils) in the same run as a baseline.
# Usage: bash bench/scan.sh [runs]   (release build; results also in bench/out/scan.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
command -v lsusb >/dev/null || echo "note: install usbutils for the lsusb -v baseline" >&2
swift build -c release --product fieldgate >&2
swift build -c release --product fieldgate-lab >&2
bin=$(swift build -c release --show-bin-path)/fieldgate
lab=$(swift build -c release --show-bin-path)/fieldgate-lab
mkdir -p bench/out
: > bench/out/scan.jsonl
for n in 1 8 32; do
  cameras=$(( n > 1 ? n / 2 : 1 )); printers=$(( n / 4 )); pads=$(( n - cameras - printers ))
  "$lab" emulate --cameras "$cameras" --printers "$printers" --fingerprint-pads "$pads" -- \
    python3 bench/scan_timing.py "$bin" "$runs" "$n" | tee -a bench/out/scan.jsonl
done
