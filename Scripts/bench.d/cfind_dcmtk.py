#!/usr/bin/env python3
"""C-FIND latency at STUDY level (Study Root) measured with DCMTK's own findscu as the client, so
that the client's overhead is tens of microseconds instead of pynetdicom's ~2.8 ms (its reactor
polls the socket with 1 ms sleeps). One findscu process sends every query file over one
association; a log4cplus layout stamps each log line with microseconds, and a query's latency is
"Sending Find Request" to "Received Final Find Response" (and, reported too, to the first pending
response: when a viewer can show something). The first WARMUP queries are not counted. findscu logs
every response's data set at INFO level (formatted, then one write() per line): its responses
logger is set to WARN and a filter keeps only the lines read here, or the client's own console
output is most of what is measured for queries with hundreds of matches.

The query parameters come from an ImagingIndex index (seeded, so every server gets the same
queries): by PatientID, by name wildcard (Family^Middle*), by 30-day date range. Several targets
can be measured in one call, each as AET@PORT, with the same query files.

usage: cfind_dcmtk.py INDEX.sqlite QUERIES TARGET [TARGET...]      (TARGET = NAME=AET@PORT)"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from cfind_common import kinds, parameters, study_query

WARMUP = 20
FINDSCU = "/usr/bin/findscu"  # DCMTK's, not pynetdicom's app of the same name on PATH
LOG_CONFIG = """log4cplus.rootLogger = INFO, console
log4cplus.logger.dcmtk.dcmnet.responses = WARN
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%H:%M:%S.%Q} %m%n
log4cplus.appender.console.filters.1 = log4cplus::spi::StringMatchFilter
log4cplus.appender.console.filters.1.StringToMatch = Sending Find Request
log4cplus.appender.console.filters.1.AcceptOnMatch = true
log4cplus.appender.console.filters.2 = log4cplus::spi::StringMatchFilter
log4cplus.appender.console.filters.2.StringToMatch = Find Response
log4cplus.appender.console.filters.2.AcceptOnMatch = true
log4cplus.appender.console.filters.3 = log4cplus::spi::DenyAllFilter
"""
PENDING = re.compile(r"^\S+ Received Find Response \d+ \(Pending\)")
STAMP_ANY = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d)\.(\d\d\d) ")
STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d)\.(\d\d\d) (Sending Find Request|Received Final Find Response)")


def write_query(path, **keys):
    q = study_query(**keys)
    q.file_meta = FileMetaDataset()
    q.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    q.save_as(path, enforce_file_format=False)


def seconds(m):
    h, mi, s, ms, us = (int(x) for x in m.groups()[:5])
    return h * 3600 + mi * 60 + s + ms / 1e3 + us / 1e6


def measure(aet, port, files, logcfg):
    out = subprocess.run([FINDSCU, "-S", "-aec", aet, "-lc", logcfg, "127.0.0.1", str(port)] + files,
                         env=dict(os.environ, TCP_NODELAY="1"), capture_output=True, text=True, errors="replace")
    times, firsts, matches, sent, first = [], [], [], None, None
    for line in (out.stdout + out.stderr).splitlines():
        if PENDING.match(line):
            matches[-1] += 1
            if first is None:
                first = seconds(STAMP_ANY.match(line))
            continue
        m = STAMP.match(line)
        if not m:
            continue
        if m.group(6).startswith("Sending"):
            sent, first = seconds(m), None
            matches.append(0)
        elif sent is not None:
            times.append(((seconds(m) - sent) % 86400) * 1000)
            firsts.append((((first if first is not None else seconds(m)) - sent) % 86400) * 1000)
            sent = None
    if len(times) != len(files):
        sys.exit(f"findscu answered {len(times)} of {len(files)} queries (exit {out.returncode}):\n{out.stderr[-2000:]}")
    times = sorted(times[WARMUP:])
    return (statistics.median(times), times[int(len(times) * 0.95) - 1], statistics.mean(matches[WARMUP:]),
            statistics.median(firsts[WARMUP:]))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    index, n, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    pids, names, dates = parameters(index, n)
    with tempfile.TemporaryDirectory() as tmp:
        logcfg = os.path.join(tmp, "log.cfg")
        with open(logcfg, "w") as f:
            f.write(LOG_CONFIG)
        print(f"C-FIND latency, DCMTK findscu on one association, {n} queries per kind after {WARMUP} warm-up")
        for label, keys in kinds(pids, names, dates):
            files = []
            for i in list(range(WARMUP)) + list(range(n)):
                files.append(os.path.join(tmp, f"{label}-{len(files):05d}.dcm"))
                write_query(files[-1], **keys(i % n))
            for target in targets:
                name, rest = target.split("=", 1)
                aet, port = rest.split("@")
                p50, p95, m, first = measure(aet, int(port), files, logcfg)
                print(f"{name:14s} {label:24s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  matches {m:.1f}"
                      f"  (first match p50 {first:.2f} ms)")


main()
