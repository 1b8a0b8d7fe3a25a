"""Stores every file of a folder; appends each SOP Instance UID answered with 0x0000 to a file,
flushed and fsync'ed before the next store (so a test can kill the server at any moment)."""
import os
import sys
from pydicom import dcmread
from pynetdicom import StoragePresentationContexts
from common import make_ae, nodelay, emit

host, port, calling, called, folder, record = sys.argv[1:7]
port = int(port)
ae = make_ae(calling)
ae.requested_contexts = StoragePresentationContexts[:120]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.endswith(".dcm"))
assoc = ae.associate(host, port, ae_title=called)
if not assoc.is_established:
    emit({"established": False})
    sys.exit(1)
nodelay(assoc)
ok = 0
with open(record, "a") as out:
    for path in files:
        ds = dcmread(path)
        try:
            status = assoc.send_c_store(ds)
        except Exception:
            break
        if status is not None and getattr(status, "Status", None) == 0x0000:
            out.write(ds.SOPInstanceUID + "\n")
            out.flush()
            os.fsync(out.fileno())
            ok += 1
        if not assoc.is_established:
            break
try:
    assoc.release()
except Exception:
    pass
emit({"stored": ok, "files": len(files)})
