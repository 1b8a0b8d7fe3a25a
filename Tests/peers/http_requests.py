"""HTTP requests in order, one JSON line of results each (a scripted DICOMweb/admin session).

usage: http_requests.py BASE_URL REQUESTS_JSON
REQUESTS_JSON: a list of {"method": "GET", "path": "/dicom-web/studies", "token": "...",
  "params": {...}, "headers": {...}, "json": {...}, "dicom": ["file.dcm", ...] (STOW-RS body)}
Each result: {"status": 200, "json": <parsed body or null>, "length": bytes, "www": WWW-Authenticate}
"""
import json
import sys
import uuid

import requests

base, script = sys.argv[1], json.loads(sys.argv[2])
session = requests.Session()
for r in script:
    headers = dict(r.get("headers", {}))
    if r.get("token"):
        headers["Authorization"] = "Bearer " + r["token"]
    data = None
    if r.get("dicom"):
        boundary = "b-" + uuid.uuid4().hex
        parts = []
        for path in r["dicom"]:
            with open(path, "rb") as f:
                parts.append(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + f.read() + b"\r\n")
        data = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
        headers["Content-Type"] = 'multipart/related; type="application/dicom"; boundary=' + boundary
    response = session.request(r.get("method", "GET"), base + r["path"], params=r.get("params"), headers=headers,
                               data=data, json=r.get("json"), timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = None
    print(json.dumps({"status": response.status_code, "json": body, "length": len(response.content),
                      "www": response.headers.get("WWW-Authenticate")}), flush=True)
