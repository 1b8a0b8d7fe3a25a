#!/usr/bin/env python3
"""Orthanc's rendered thumbnails on the same files as `Scripts/bench thumbnails`.

    orthanc_rendered.py [--clients 4] [--seconds 3] [--viewport 128] SET_DIR...

Starts Orthanc (and its DICOMweb plugin) the way ../shared/bench/anchors.py does (same configuration,
its own temporary work folder, ports 18042/14242), uploads every file of the sets through the REST
API, then for each set asks, with N concurrent clients (keep-alive sessions), for
  - DICOMweb  /dicom-web/studies/{st}/series/{se}/instances/{sop}/rendered?viewport=V,V  (Accept: image/png)
  - REST      /instances/{id}/rendered?width=V&height=V                                  (Accept: image/png)
over and over until --seconds have gone by. Prints one JSON line per set and resource:
successful thumbnails per second, failures (e.g. JPEG 2000, which Orthanc 1.10 cannot decode
without a plugin), mean PNG size. Orthanc is stopped by PID at the end.
"""
import argparse
import concurrent.futures as cf
import json
import os
import sys
import threading
import time
from pathlib import Path

import pydicom
import requests

SHARED = Path(__file__).resolve().parents[3] / "shared" / "bench"
sys.path.insert(0, str(SHARED))
import anchors  # noqa: E402  (../shared/bench/anchors.py: how Orthanc is run here)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--viewport", type=int, default=128)
    ap.add_argument("--work", default="/tmp/bench-data/thumbnails-orthanc")
    args = ap.parse_args()

    orthanc_args = argparse.Namespace(
        orthanc_dicom_port=14242, orthanc_http_port=18042, orthanc_bin="/usr/sbin/Orthanc",
        orthanc_plugin="/usr/share/orthanc/plugins/libOrthancDicomWeb.so", orthanc_set=[], work=args.work,
        server_env=["TCP_NODELAY=1"])
    os.makedirs(args.work, exist_ok=True)
    server = anchors.Orthanc(orthanc_args)
    server.start()
    try:
        version = requests.get(server.http + "/system").json().get("Version")
        refs = {}
        for folder in args.sets:
            files = sorted(Path(folder).glob("*.dcm"))
            local = threading.local()

            def upload(path):
                if not hasattr(local, "s"):
                    local.s = requests.Session()
                r = local.s.post(server.http + "/instances", data=path.read_bytes(), timeout=120)
                r.raise_for_status()
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                return dict(id=r.json()["ID"], study=ds.StudyInstanceUID, series=ds.SeriesInstanceUID,
                            sop=ds.SOPInstanceUID)
            with cf.ThreadPoolExecutor(4) as ex:
                refs[folder] = list(ex.map(upload, files))

        resources = {
            "dicomweb-rendered": server.dicomweb + "/studies/{study}/series/{series}/instances/{sop}/rendered"
                                 "?viewport=%d,%d" % (args.viewport, args.viewport),
            "rest-rendered": server.http + "/instances/{id}/rendered?width=%d&height=%d" % (args.viewport,
                                                                                             args.viewport),
        }
        for folder in args.sets:
            for name, template in resources.items():
                urls = [template.format(**ref) for ref in refs[folder]]
                stop_at = time.perf_counter() + args.seconds
                lock = threading.Lock()
                tally = dict(ok=0, failed=0, bytes=0, status=set())
                local = threading.local()

                def client(k):
                    if not hasattr(local, "s"):
                        local.s = requests.Session()
                    i = k
                    while time.perf_counter() < stop_at:
                        r = local.s.get(urls[i % len(urls)], headers={"Accept": "image/png"}, timeout=120)
                        good = r.status_code == 200 and r.content[:4] == b"\x89PNG"
                        with lock:
                            tally["ok" if good else "failed"] += 1
                            tally["bytes"] += len(r.content) if good else 0
                            if not good:
                                tally["status"].add(r.status_code)
                        i += args.clients
                t0 = time.perf_counter()
                with cf.ThreadPoolExecutor(args.clients) as ex:
                    list(ex.map(client, range(args.clients)))
                wall = time.perf_counter() - t0
                print(json.dumps(dict(server="orthanc " + str(version), set=Path(folder).name, resource=name,
                                      clients=args.clients, viewport=args.viewport, images=len(urls),
                                      thumbnails=tally["ok"], failures=tally["failed"],
                                      failure_status=sorted(tally["status"]), seconds=round(wall, 2),
                                      per_second=round(tally["ok"] / wall, 1),
                                      mean_bytes=round(tally["bytes"] / tally["ok"]) if tally["ok"] else 0)),
                      flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
