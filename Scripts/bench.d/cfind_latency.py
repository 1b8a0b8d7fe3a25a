#!/usr/bin/env python3
"""C-FIND latency at STUDY level (Study Root) on one reused association, pynetdicom, TCP_NODELAY:
by PatientID, by name wildcard, by 30-day date range. Prints p50/p95 in ms.

usage: cfind_latency.py PORT AET INDEX.sqlite [QUERIES]"""
import random
import socket
import sqlite3
import statistics
import sys
import time
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

port, aet, index = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 200
rng = random.Random(7)
db = sqlite3.connect(index)
pids = [r[0] for r in db.execute("SELECT patient_id FROM patient ORDER BY random() LIMIT ?", (n,))]
names = [r[0] for r in db.execute("SELECT name FROM patient ORDER BY random() LIMIT ?", (n,))]
dates = [r[0] for r in db.execute("SELECT study_date FROM study WHERE study_date IS NOT NULL ORDER BY random() LIMIT ?", (n,))]

ae = AE(ae_title="BENCH")
ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
assoc = ae.associate("127.0.0.1", port, ae_title=aet)
assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def run(make):
    times, matches = [], []
    for i in range(n):
        q = Dataset()
        q.QueryRetrieveLevel = "STUDY"
        q.StudyInstanceUID = ""
        q.PatientName = ""
        q.StudyDate = ""
        q.PatientID = ""
        make(q, i)
        t = time.perf_counter()
        count = 0
        for status, ident in assoc.send_c_find(q, StudyRootQueryRetrieveInformationModelFind):
            if status and status.Status in (0xFF00, 0xFF01):
                count += 1
        times.append((time.perf_counter() - t) * 1000)
        matches.append(count)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], statistics.mean(matches)


def date_range(q, i):
    d = dates[i % len(dates)]
    y, m = int(d[:4]), int(d[4:6])
    q.StudyDate = f"{d}-{y + (m == 12):04d}{m % 12 + 1:02d}{d[6:]}"


for label, make in [("study_by_patientid", lambda q, i: setattr(q, "PatientID", pids[i % len(pids)])),
                    ("study_by_name_wildcard", lambda q, i: setattr(q, "PatientName", names[i % len(names)].split(" ")[0] + "*")),
                    ("study_by_date_range", date_range)]:
    p50, p95, m = run(make)
    print(f"{label:24s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  matches {m:.1f}")
assoc.release()
