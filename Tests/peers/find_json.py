"""One C-FIND with pynetdicom; prints the final status and every pending identifier as DICOM JSON.

usage: find_json.py HOST PORT CALLING CALLED MODEL(P|S) LEVEL KEYS_JSON
KEYS_JSON: {"PatientID": "...", "IssuerOfPatientID": "...", "StudyInstanceUID": "",
            "OtherPatientIDsSequence": []}  (a list value asks for a sequence return key;
            "0x00080000/UL": 0 adds an element by tag and VR, "" for an empty value)
"""
import json
import sys
from pydicom.dataset import Dataset
from pynetdicom.sop_class import (PatientRootQueryRetrieveInformationModelFind,
                                  StudyRootQueryRetrieveInformationModelFind)
from common import connect, emit

host, port, calling, called, model, level, keys = sys.argv[1], int(sys.argv[2]), *sys.argv[3:8]
sop = PatientRootQueryRetrieveInformationModelFind if model == "P" else StudyRootQueryRetrieveInformationModelFind
assoc = connect(host, port, calling, called, sop)
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
emit({"established": True, "final": final, "answers": answers})
