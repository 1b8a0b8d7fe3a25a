"""Writes a copy of a DICOM file (Explicit VR Little Endian) whose StudyInstanceUID, SeriesInstanceUID,
PatientName and StudyDescription carry the VR UN, as a system that did not know those attributes
forwards them (PS3.5 6.2.2: the value bytes stay as they were).

usage: with_un_elements.py SOURCE DESTINATION"""
import sys
from pydicom import config, dcmread
from pydicom.dataelem import DataElement
from pydicom.uid import ExplicitVRLittleEndian

config.replace_un_with_known_vr = False  # else pydicom itself gives them back their VR
source, destination = sys.argv[1], sys.argv[2]
ds = dcmread(source)
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
charset = ds.get("SpecificCharacterSet", "ISO_IR 6")
for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "PatientName", "StudyDescription"):
    element = ds[keyword]
    value = str(element.value)
    raw = value.encode("utf-8" if "192" in str(charset) else "ascii")
    pad = b"\0" if element.VR == "UI" else b" "
    if len(raw) % 2:
        raw += pad
    ds[element.tag] = DataElement(element.tag, "UN", raw)
ds.save_as(destination, enforce_file_format=True)
