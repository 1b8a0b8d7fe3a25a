"""Retrieves a study over WADO-RS without keeping it, sampling the server's RSS meanwhile.
Prints {"bytes": body bytes, "baseline": RSS before, "peak": highest RSS} as JSON.

usage: stream_study.py DICOMWEB_BASE STUDY_UID SERVER_PID"""
import json
import sys
import threading
import time
import requests

base, study, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])


def rss():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


baseline, peak, done = rss(), [0], threading.Event()


def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.02)


threading.Thread(target=sample, daemon=True).start()
total = 0
with requests.get("%s/studies/%s" % (base, study), stream=True,
                  headers={"Accept": 'multipart/related; type="application/dicom"'}) as r:
    r.raise_for_status()
    for chunk in r.iter_content(1 << 20):
        total += len(chunk)
        time.sleep(0.0005)  # a client slower than the disk: the server must not buffer ahead
done.set()
print(json.dumps({"bytes": total, "baseline": baseline, "peak": max(peak[0], rss())}))
