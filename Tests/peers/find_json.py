"""One C-FIND with pynetdicom; prints the final status and every pending identifier as DICOM JSON.

usage: find_json.py HOST PORT CALLING CALLED MODEL(P|S) LEVEL KEYS_JSON [fuzzy]
KEYS_JSON: {"PatientID": "...", "IssuerOfPatientID": "...", "StudyInstanceUID": "",
            "OtherPatientIDsSequence": []}  (a list value asks for a sequence return key;
            "0x00080000/UL": 0 adds an element by tag and VR, "" for an empty value)
fuzzy: asks for fuzzy semantic matching of person names (C-FIND extended negotiation, byte 3);
       "extended" in the output is what the SCP answered (hex), or null.
"""
import json
import sys
from pydicom.dataset import Dataset
from pynetdicom.sop_class import (PatientRootQueryRetrieveInformationModelFind,
                                  StudyRootQueryRetrieveInformationModelFind)
from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation
from common import make_ae, nodelay, emit

host, port, calling, called, model, level, keys = sys.argv[1], int(sys.argv[2]), *sys.argv[3:8]
fuzzy = len(sys.argv) > 8 and sys.argv[8] == "fuzzy"
sop = PatientRootQueryRetrieveInformationModelFind if model == "P" else StudyRootQueryRetrieveInformationModelFind
ae = make_ae(calling)
ae.add_requested_context(sop)
extended = []
if fuzzy:
    item = SOPClassExtendedNegotiation()
    item.sop_class_uid = sop
    item.service_class_application_information = b"\x00\x00\x01"  # relational, date-time, fuzzy names
    extended.append(item)
assoc = ae.associate(host, port, ae_title=called, ext_neg=extended or None)
if not assoc.is_established:
    emit({"established": False})
    sys.exit(1)
nodelay(assoc)
answered = assoc.acceptor.sop_class_extended.get(sop)
query = Dataset()
query.QueryRetrieveLevel = level
for keyword, value in json.loads(keys).items():
    if keyword.startswith("0x"):
        tag, vr = keyword.split("/")
        query.add_new(int(tag, 16), vr, None if value == "" else value)
    else:
        setattr(query, keyword, [] if isinstance(value, list) else value)
answers = []
final = None
for status, identifier in assoc.send_c_find(query, sop):
    if status is None:
        break
    if status.Status in (0xFF00, 0xFF01):
        answers.append(identifier.to_json_dict())
    else:
        final = status.Status
assoc.release()
emit({"established": True, "final": final, "answers": answers, "extended": answered.hex() if answered else None})
