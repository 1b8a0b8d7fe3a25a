#!/usr/bin/env python3
"""Turns the JSON lines of `Scripts/bench thumbnails` into a markdown table (stdin -> stdout)."""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
print("| set | server | what | size | clients/jobs | thumbnails/s | failures | mean PNG bytes |")
print("|---|---|---|---:|---:|---:|---:|---:|")
for r in rows:
    if "mode" in r:  # ours
        print(f"| {r['set']} | imaging-index | series thumbnail, {r['mode']} | {r['size']} | {r['jobs']} | "
              f"{r['perSecond']:.0f} | {r['failures']} | {r['averageBytes']} |")
    else:
        note = f" (HTTP {', '.join(map(str, r['failure_status']))})" if r["failures"] else ""
        print(f"| {r['set']} | {r['server']} | {r['resource']} | {r['viewport']} | {r['clients']} | "
              f"{r['per_second']:.0f} | {r['failures']}{note} | {r['mean_bytes']} |")
