"""A C-STORE whose request names another SOP Instance UID than the data set carries."""
import io
import sys
from pydicom import dcmread
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom import StoragePresentationContexts
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from common import make_ae, nodelay, emit

host, port, calling, called, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ds = dcmread(path)
ae = make_ae(calling)
ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
assoc = ae.associate(host, port, ae_title=called)
if not assoc.is_established:
    emit({"established": False})
    sys.exit(1)
nodelay(assoc)
context = assoc.accepted_contexts[0]
req = C_STORE()
req.MessageID = 1
req.AffectedSOPClassUID = ds.SOPClassUID
req.AffectedSOPInstanceUID = ds.SOPInstanceUID + ".999"
req.Priority = 2
buffer = DicomBytesIO()
buffer.is_little_endian = True
buffer.is_implicit_VR = context.transfer_syntax[0] == "1.2.840.10008.1.2"
write_dataset(buffer, ds)
req.DataSet = io.BytesIO(buffer.getvalue())
assoc._reactor_checkpoint.clear()
assoc.dimse.send_msg(req, context.context_id)
_, rsp = assoc.dimse.get_msg(block=True)
assoc._reactor_checkpoint.set()
assoc.release()
emit({"status": getattr(rsp, "Status", None)})
