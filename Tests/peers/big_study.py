"""Writes a study of N instances of SIZE MiB each (16-bit pixel data of zeros) into OUT.

usage: big_study.py OUT N SIZE_MIB"""
import os
import sys
import numpy  # noqa: F401  (pydicom's pixel handling imports it lazily)
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
study, series = generate_uid(), generate_uid()
side = int((size * 1024 * 1024 // 2) ** 0.5)
for i in range(n):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientID, ds.PatientName, ds.Modality, ds.InstanceNumber = "BIG-1", "Big^Study", "OT", i + 1
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = bytes(side * side * 2)
    ds.save_as(os.path.join(out, "big%02d.dcm" % i), enforce_file_format=True)
    del ds
print(study)
