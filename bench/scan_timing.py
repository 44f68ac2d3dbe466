#!/usr/bin/env python3
"""Times `fieldgate scan` on the bus it finds (run it under `fieldgate-lab emulate`), against
`lsusb -v`, which also opens every device and reads its strings, in the same run."""
import json, shutil, statistics, subprocess, sys, time

fieldgate, runs, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def median_seconds(command):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)

found = len(json.loads(subprocess.run([fieldgate, "scan", "--json"], capture_output=True, check=True).stdout))
scan = median_seconds([fieldgate, "scan", "--json"])
row = {"devices": label, "found": found, "runs": runs, "scan_ms": round(scan * 1000, 1)}
if shutil.which("lsusb"):
    lsusb = median_seconds(["lsusb", "-v"])
    row["lsusb_v_ms"] = round(lsusb * 1000, 1)
    row["ratio_vs_lsusb_v"] = round(scan / lsusb, 2)
print(json.dumps(row))
