#!/usr/bin/env python3
"""WADO-RS retrieval throughput: every study of the server, whole, as multipart/related, with
4 concurrent clients; MB/s of the response bodies and the server's peak RSS meanwhile (flat
memory: studies are streamed from disk, never held whole).

usage: wado_throughput.py DICOMWEB_BASE SERVER_PID [MAX_STUDIES]"""
import concurrent.futures as cf
import sys
import threading
import time
import requests

base, pid = sys.argv[1], int(sys.argv[2])
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 200
studies = [s["0020000D"]["Value"][0] for s in requests.get(base + "/studies", params={"limit": limit}).json()]
peak = [0]
stop = threading.Event()


def rss():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.1)


def fetch(study):
    n = 0
    with requests.get("%s/studies/%s" % (base, study), stream=True,
                      headers={"Accept": 'multipart/related; type="application/dicom"'}) as r:
        r.raise_for_status()
        for chunk in r.iter_content(1 << 16):
            n += len(chunk)
    return n


before = rss()
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
with cf.ThreadPoolExecutor(4) as pool:
    total = sum(pool.map(fetch, studies))
elapsed = time.perf_counter() - t
stop.set()
print("WADO-RS: %d studies, %.1f MB in %.2f s = %.1f MB/s (4 clients); server RSS %.0f MB before, peak %.0f MB"
      % (len(studies), total / 1e6, elapsed, total / 1e6 / elapsed, before / 1e6, peak[0] / 1e6))
