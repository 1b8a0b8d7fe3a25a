"""Sends a ~40 MB instance with a small PDU and aborts the association half-way through."""
import os
import sys
import threading
import time
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import evt
from pynetdicom.sop_class import SecondaryCaptureImageStorage
from common import make_ae, nodelay, emit

host, port, calling, called, sop_uid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ds = Dataset()
ds.SOPClassUID = SecondaryCaptureImageStorage
ds.SOPInstanceUID = sop_uid
ds.StudyInstanceUID = generate_uid()
ds.SeriesInstanceUID = generate_uid()
ds.PatientID = "ABORT-1"
ds.PatientName = "Abort^Test"
ds.Modality = "OT"
ds.Rows = 4096
ds.Columns = 5120
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.BitsAllocated = 16
ds.BitsStored = 16
ds.HighBit = 15
ds.PixelRepresentation = 0
ds.PixelData = np.zeros((4096, 5120), dtype=np.uint16).tobytes()
ds.file_meta = FileMetaDataset()
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

ae = make_ae(calling)
ae.maximum_pdu_size = 16384
ae.add_requested_context(SecondaryCaptureImageStorage, ExplicitVRLittleEndian)
halfway = threading.Event()
sent = [0]


def on_pdu_sent(event):
    sent[0] += 1
    if sent[0] == 300:  # ~5 MB of the ~40 MB data set: abort now, then leave without finishing
        halfway.set()
        threading.Thread(target=assoc.abort, daemon=True).start()
        time.sleep(1.0)
        emit({"established": True, "aborted": True, "pdus": sent[0]})
        os._exit(0)


assoc = ae.associate(host, port, ae_title=called, max_pdu=16384, evt_handlers=[(evt.EVT_PDU_SENT, on_pdu_sent)])
if not assoc.is_established:
    emit({"established": False})
    sys.exit(1)
nodelay(assoc)


try:
    status = assoc.send_c_store(ds)
    emit({"established": True, "aborted": assoc.is_aborted, "status": getattr(status, "Status", None)})
except Exception as e:  # the abort interrupts the send
    emit({"established": True, "aborted": True, "error": str(e)})
sys.stdout.flush()
os._exit(0)
