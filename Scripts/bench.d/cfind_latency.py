#!/usr/bin/env python3
"""C-FIND latency at STUDY level (Study Root) on one reused association, pynetdicom, TCP_NODELAY:
by PatientID, by name wildcard, by 30-day date range. Prints p50/p95 in ms.

usage: cfind_latency.py PORT AET INDEX.sqlite [QUERIES]"""
import socket
import statistics
import sys
import time

from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from cfind_common import kinds, parameters, study_query

port, aet, index = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 200
pids, names, dates = parameters(index, n)

ae = AE(ae_title="BENCH")
ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
assoc = ae.associate("127.0.0.1", port, ae_title=aet)
assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def run(keys):
    times, matches = [], []
    for i in range(n):
        q = study_query(**keys(i))
        t = time.perf_counter()
        count = 0
        for status, ident in assoc.send_c_find(q, StudyRootQueryRetrieveInformationModelFind):
            if status and status.Status in (0xFF00, 0xFF01):
                count += 1
        times.append((time.perf_counter() - t) * 1000)
        matches.append(count)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], statistics.mean(matches)


for label, keys in kinds(pids, names, dates):
    p50, p95, m = run(keys)
    print(f"{label:24s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  matches {m:.1f}")
assoc.release()
