#!/usr/bin/env python3
"""Synthetic images for `Scripts/bench thumbnails` (never committed; written under /tmp/bench-data).

    thumbnail_dataset.py OUT [--ct N] [--cr N]

OUT/ct512/      N 512 x 512 CT (signed 16-bit, window 40/80), explicit VR little endian
OUT/ct512-j2k/  the same images, JPEG 2000 lossless
OUT/cr2k/       N 2048 x 2048 CR (12 bits in 16, MONOCHROME1, no window), explicit VR little endian
OUT/cr2k-j2k/   the same, JPEG 2000 lossless
Every image is its own series (so a series thumbnail is the thumbnail of that image), ten series per
study; every image differs (shifted and scaled patterns), so nothing is answered from a cache by
accident. Deterministic: fixed UIDs under 1.2.826.0.1.3680043.10.1337.88., fixed seeds.
Needs pydicom 3, numpy, pylibjpeg-openjpeg.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import openjpeg
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless

ROOT = "1.2.826.0.1.3680043.10.1337.88."
CT, CR = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.1"


def dataset(kind, index, sop_class, modality, rows, cols):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = f"{ROOT}{kind}.3.{index}"
    ds.StudyInstanceUID = f"{ROOT}{kind}.1.{index // 10}"
    ds.SeriesInstanceUID = f"{ROOT}{kind}.2.{index}"
    ds.PatientName = "Bench^Thumbnail"
    ds.PatientID = f"BENCH{index // 10:04d}"
    ds.StudyDate = "20240601"
    ds.Modality = modality
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    return ds


def save(ds, path, ts):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = UID(ROOT + "0")
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)


def ct_image(i, n=512):
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    c = (n - 1) / 2 + (i % 7) - 3
    r = np.hypot(y - c, x - c) / (n / 2)
    hu = np.full((n, n), -1000.0)
    hu[r < 0.80 + 0.002 * (i % 10)] = 1000.0
    brain = r < 0.74
    hu[brain] = (35.0 + 10.0 * np.sin(x / (9.0 + i % 5)) * np.cos(y / 13.0))[brain]
    hu[np.hypot(y - c * 0.8, x - c * 1.3) < n * 0.03] = 70.0
    stored = hu + 1024.0
    stored[r >= 0.97] = -2000.0
    return stored.astype(np.int16)


def cr_image(i, n=2048):
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    v = (2000 + 1500 * np.sin(x / (150.0 + i)) * np.cos(y / 190.0) + 400 * (np.hypot(y - 1024, x - 1024 - i) < 600))
    return np.clip(v, 0, 4095).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--ct", type=int, default=300)
    ap.add_argument("--cr", type=int, default=40)
    args = ap.parse_args()
    out = Path(args.out)
    for sub in ("ct512", "ct512-j2k", "cr2k", "cr2k-j2k"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for i in range(args.ct):
        pixels = ct_image(i)
        for kind, folder, ts in ((1, "ct512", ExplicitVRLittleEndian), (2, "ct512-j2k", JPEG2000Lossless)):
            ds = dataset(kind, i, CT, "CT", 512, 512)
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
            ds.WindowCenter, ds.WindowWidth = 40, 80
            ds.PixelPaddingValue = -2000
            ds.PixelSpacing = [0.5, 0.5]
            if ts == ExplicitVRLittleEndian:
                ds.PixelData = pixels.tobytes()
            else:
                ds.PixelData = encapsulate([openjpeg.encode(pixels, bits_stored=16)])
                ds["PixelData"].VR = "OB"
            save(ds, out / folder / f"ct{i:04d}.dcm", ts)
    for i in range(args.cr):
        pixels = cr_image(i)
        for kind, folder, ts in ((3, "cr2k", ExplicitVRLittleEndian), (4, "cr2k-j2k", JPEG2000Lossless)):
            ds = dataset(kind, i, CR, "CR", 2048, 2048)
            ds.PhotometricInterpretation = "MONOCHROME1"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.ImagerPixelSpacing = [0.15, 0.15]
            if ts == ExplicitVRLittleEndian:
                ds.PixelData = pixels.tobytes()
            else:
                ds.PixelData = encapsulate([openjpeg.encode(pixels, bits_stored=12)])
                ds["PixelData"].VR = "OB"
            save(ds, out / folder / f"cr{i:04d}.dcm", ts)
    (out / "done").write_text(f"ct={args.ct} cr={args.cr}\n")
    print(f"{args.ct} CT and {args.cr} CR images (uncompressed and JPEG 2000) in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
