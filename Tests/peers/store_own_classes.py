"""Stores files on one association that proposes exactly their SOP classes (whatever they are,
known to DCMTK or not), each with its file's transfer syntax; prints each file's status.

usage: store_own_classes.py HOST PORT CALLING CALLED FILE...
prints {"established": true, "statuses": {"<SOPClassUID>": <status or null if refused>},
        "comments": {"<SOPClassUID>": <Error Comment or null>}}
"""
import sys
from pydicom import dcmread
from common import make_ae, nodelay, emit

host, port, calling, called = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
datasets = [dcmread(path) for path in sys.argv[5:]]
contexts = {}
for ds in datasets:
    contexts.setdefault(ds.SOPClassUID, set()).add(ds.file_meta.TransferSyntaxUID)
ae = make_ae(calling)
for uid, syntaxes in contexts.items():
    ae.add_requested_context(uid, sorted(syntaxes))
assoc = ae.associate(host, port, ae_title=called)
if not assoc.is_established:
    emit({"established": False})
    sys.exit(1)
nodelay(assoc)
statuses, comments = {}, {}
for ds in datasets:
    try:
        status = assoc.send_c_store(ds)
        statuses[ds.SOPClassUID] = status.Status if status else None
        comments[ds.SOPClassUID] = str(status.ErrorComment) if status and "ErrorComment" in status else None
    except ValueError:  # no accepted presentation context for it
        statuses[ds.SOPClassUID] = None
assoc.release()
emit({"established": True, "statuses": statuses, "comments": comments})
