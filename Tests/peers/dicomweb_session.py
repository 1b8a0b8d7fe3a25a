"""A viewer's DICOMweb session with dicomweb-client: STOW the given files, then QIDO, WADO-RS
(instances, metadata, frames, bulk data) and WADO-URI. Prints one JSON object of what it saw.

usage: dicomweb_session.py BASE_URL FILE...
"""
import json
import sys
import pydicom
import requests
from dicomweb_client.api import DICOMwebClient

base, paths = sys.argv[1], sys.argv[2:]
client = DICOMwebClient(url=base + "/dicom-web")
datasets = [pydicom.dcmread(p) for p in paths]
out = {}
stow = client.store_instances(datasets)
out["stored"] = sorted(item.ReferencedSOPInstanceUID for item in stow.get("ReferencedSOPSequence", []))
out["failed"] = len(stow.get("FailedSOPSequence", []))
studies = client.search_for_studies(fields=["NumberOfStudyRelatedInstances"])
out["studies"] = sorted(s["0020000D"]["Value"][0] for s in studies)
out["study_instances"] = {s["0020000D"]["Value"][0]: s["00201208"]["Value"][0] for s in studies}
out["by_name_fuzzy"] = sorted(s["0020000D"]["Value"][0] for s in
                              client.search_for_studies(search_filters={"PatientName": "nguyen van*"}, fuzzymatching=True))
out["by_date_range"] = sorted(s["0020000D"]["Value"][0] for s in
                              client.search_for_studies(search_filters={"StudyDate": "20240101-20241231"}))
first = datasets[0]
series = client.search_for_series(first.StudyInstanceUID)
out["series_of_first_study"] = sorted(s["0020000E"]["Value"][0] for s in series)
instances = client.search_for_instances(first.StudyInstanceUID, first.SeriesInstanceUID)
out["instances_of_first_series"] = sorted(i["00080018"]["Value"][0] for i in instances)
retrieved = client.retrieve_study(first.StudyInstanceUID)
out["retrieved"] = sorted(d.SOPInstanceUID for d in retrieved)
out["retrieved_equal"] = all(
    d.PixelData == next(x for x in datasets if x.SOPInstanceUID == d.SOPInstanceUID).PixelData for d in retrieved)
meta = client.retrieve_instance_metadata(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID)
out["metadata_patient_name"] = meta["00100010"]["Value"][0]
out["metadata_pixel_uri"] = "BulkDataURI" in meta.get("7FE00010", {})
bulk = client.retrieve_bulkdata(meta["7FE00010"]["BulkDataURI"])
out["bulk_equal"] = bulk[0] == first.PixelData
frames = client.retrieve_instance_frames(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID,
                                         frame_numbers=[1])
out["frame_equal"] = frames[0] == first.PixelData[:len(frames[0])] and len(frames[0]) > 0
wado = requests.get(base + "/wado", params={"requestType": "WADO", "studyUID": first.StudyInstanceUID,
                                            "seriesUID": first.SeriesInstanceUID, "objectUID": first.SOPInstanceUID})
out["wado_uri"] = [wado.status_code, wado.content[128:132].decode("latin-1")]
print(json.dumps(out))
