#!/usr/bin/env python3
"""Make the extra DICOM files the thumbnail renderer (CModules/CDcmtkShim/cdcm_render.cpp) is checked on.

Everything is synthetic (invented patient, smooth geometric patterns with an orientation marker square
in the top-left corner). Nothing here is committed: the files are written to OUTDIR (default
/tmp/render-fixtures) by Scripts/shim-tests/run-render-checks.sh.

Needs Python 3 with pydicom 3 and numpy; JPEG 2000 files also need pylibjpeg-openjpeg (pip install
pylibjpeg-openjpeg), HTJ2K files imagecodecs (its OpenJPH encoder): without them those fixtures are
skipped with a note.

Besides the DICOM files it writes OUTDIR/manifest.json: for each file the expected outcome
("image", "no_pixels", "video", "unsupported", "error") and, for compressed files, the uncompressed
file whose rendering must match ("reference") and the tolerance.
"""

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, itemize_frame
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, UID

try:
    import openjpeg  # pylibjpeg-openjpeg
except ImportError:  # pragma: no cover
    openjpeg = None
try:
    import imagecodecs as htj2k  # htj2k_encode: OpenJPH
    if not htj2k.HTJ2K.available:
        htj2k = None
except ImportError:  # pragma: no cover
    htj2k = None

ROOT = "1.2.826.0.1.3680043.10.1337.77."
_counter = [0]


def uid():
    _counter[0] += 1
    return UID(ROOT + str(_counter[0]))


CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
CR = "1.2.840.10008.5.1.4.1.1.1"
US = "1.2.840.10008.5.1.4.1.1.6.1"
US_MF = "1.2.840.10008.5.1.4.1.1.3.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
PET = "1.2.840.10008.5.1.4.1.1.128"
PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"
VIDEO_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4.1"

STUDY = uid()


def base(sop_class, modality, rows, cols):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid()
    ds.StudyInstanceUID = STUDY
    ds.SeriesInstanceUID = uid()
    ds.PatientName = "Render^Fixture"
    ds.PatientID = "RENDER0001"
    ds.StudyDate = "20240601"
    ds.Modality = modality
    if rows:
        ds.Rows = rows
        ds.Columns = cols
    return ds


def mono(ds, arr, bits_allocated, bits_stored, signed, photometric="MONOCHROME2"):
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if bits_allocated == 8:
        raw = arr.astype(np.int8 if signed else np.uint8)
    else:
        raw = arr.astype(np.int16 if signed else np.uint16)
    ds.PixelData = raw.tobytes()


def save(ds, path, ts=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    known = UID(ts).is_transfer_syntax
    # Unknown to pydicom: written as JPEG 2000 Lossless (encapsulated, undefined length), relabelled below.
    stand_in = "1.2.840.10008.1.2.4.90"
    meta.TransferSyntaxUID = UID(ts) if known else UID(stand_in)
    meta.ImplementationClassUID = UID(ROOT + "0")
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
    if not known:
        # pydicom refuses transfer syntaxes it does not know: patch (0002,0010) and the group length.
        data = bytearray(Path(path).read_bytes())
        old = b"\x02\x00\x10\x00UI\x16\x00" + stand_in.encode()
        at = data.index(old)
        value = ts.encode() + (b"\x00" if len(ts) % 2 else b"")
        data[at:at + len(old)] = b"\x02\x00\x10\x00UI" + len(value).to_bytes(2, "little") + value
        group_length = int.from_bytes(data[140:144], "little") + len(value) - len(stand_in)
        data[140:144] = group_length.to_bytes(4, "little")
        Path(path).write_bytes(bytes(data))


def marker(arr, value, size=None):
    s = size or max(4, arr.shape[-1] // 16)
    arr[..., 2:2 + s, 2:2 + s] = value
    return arr


def grid(rows, cols):
    y, x = np.mgrid[0:rows, 0:cols]
    return y.astype(np.float64), x.astype(np.float64)


def ct_hu(n=512):
    """A head-like phantom in HU, with -2000 padding outside the circular field of view."""
    y, x = grid(n, n)
    c = (n - 1) / 2
    r = np.hypot(y - c, x - c) / (n / 2)
    hu = np.full((n, n), -1000.0)
    hu[r < 0.80] = 1000.0                                  # skull
    brain = r < 0.74
    hu[brain] = (35.0 + 10.0 * np.sin(x / 9.0) * np.cos(y / 13.0))[brain]  # grey/white texture
    vent = np.hypot((y - c) / 0.5, (x - c) / 1.3) / n < 0.08
    hu[vent] = 5.0                                         # ventricles
    hu[np.hypot(y - c * 0.8, x - c * 1.3) < n * 0.03] = 70.0  # a bleed
    hu[r >= 0.97] = -3000.0                                # becomes the padding value below
    stored = hu + 1024.0
    stored[hu == -3000.0] = -2000.0
    marker(stored, 3000.0)
    return stored


def j2k_frames(frames, bits_stored, photometric=0, use_mct=True, ratios=None):
    out = []
    for f in frames:
        kw = {}
        if ratios:
            kw["compression_ratios"] = ratios
        out.append(openjpeg.encode(np.ascontiguousarray(f), bits_stored=bits_stored,
                                   photometric_interpretation=photometric, use_mct=use_mct, **kw))
    return out


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/render-fixtures")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}

    def add(name, ds, expect="image", ts=ExplicitVRLittleEndian, **info):
        save(ds, out / name, ts)
        manifest[name] = dict(expect=expect, **info)

    # 1. 512 x 512 signed CT, two windows (the first one must be used), padding -2000.
    stored = ct_hu(512)
    ct = base(CT, "CT", 512, 512)
    mono(ct, stored, 16, 16, True)
    ct.RescaleIntercept = -1024
    ct.RescaleSlope = 1
    ct.RescaleType = "HU"
    ct.WindowCenter = [40, 400]
    ct.WindowWidth = [80, 1500]
    ct.PixelPaddingValue = -2000
    ct.PixelSpacing = [0.5, 0.5]
    add("ct512.dcm", ct)

    ct_nowin = copy.deepcopy(ct)
    ct_nowin.SOPInstanceUID = uid()
    del ct_nowin.WindowCenter
    del ct_nowin.WindowWidth
    add("ct512-nowindow.dcm", ct_nowin)

    m1 = copy.deepcopy(ct)
    m1.SOPInstanceUID = uid()
    m1.PhotometricInterpretation = "MONOCHROME1"
    add("ct512-monochrome1.dcm", m1, inverse_of="ct512.dcm")

    # VOI LUT instead of a window: a 4096-entry LUT, first mapped value -1024 (HU), gamma curve.
    voi = copy.deepcopy(ct)
    voi.SOPInstanceUID = uid()
    del voi.WindowCenter
    del voi.WindowWidth
    item = Dataset()
    item.add_new(0x00283002, "SS", [4096, -1024, 12])   # LUTDescriptor (SS: signed pixel data)
    item.LUTExplanation = "gamma"
    lut = (np.linspace(0, 1, 4096) ** 0.5 * 4095).astype(np.uint16)
    item.add_new(0x00283006, "OW", lut.tobytes())       # LUTData
    voi.VOILUTSequence = Sequence([item])
    add("ct512-voilut.dcm", voi)

    # 2. BitsStored 12 of 16, unsigned, with junk in the 4 unused high bits; signed 12 of 16 too.
    y, x = grid(300, 400)
    dx = (2048 + 1800 * np.sin(x / 40.0) * np.cos(y / 55.0)).astype(np.int64)
    marker(dx, 4095)
    junk = (np.arange(dx.size).reshape(dx.shape) % 16) << 12
    d12 = base(CR, "CR", 300, 400)
    mono(d12, (dx | junk).astype(np.uint16), 16, 12, False)
    d12.WindowCenter = 2048
    d12.WindowWidth = 4096
    add("bits12of16-unsigned-junk.dcm", d12)

    s = (dx - 2048)                        # -2048 .. 2047
    s12 = (s & 0x0FFF) | junk              # 12-bit two's complement, junk above
    ds12 = base(MR, "MR", 300, 400)
    mono(ds12, s12.astype(np.uint16), 16, 12, True)
    ds12.WindowCenter = 0
    ds12.WindowWidth = 4096
    add("bits12of16-signed-junk.dcm", ds12)

    s8 = base(SC, "OT", 128, 160)
    y, x = grid(128, 160)
    v8 = (100 * np.sin(x / 12.0) * np.cos(y / 9.0)).astype(np.int64)
    marker(v8, 127)
    mono(s8, v8, 8, 8, True)
    add("signed8.dcm", s8)

    # 3. PALETTE COLOR, 8-bit indices, 256-entry 16-bit LUTs; and 16-bit indices, 4096 entries.
    for bits, entries in ((8, 256), (16, 4096)):
        pal = base(US, "US", 200, 240)
        y, x = grid(200, 240)
        idx = ((x / 240.0 * 0.7 + y / 200.0 * 0.3) * (entries - 1)).astype(np.int64)
        marker(idx, entries - 1)
        pal.SamplesPerPixel = 1
        pal.PhotometricInterpretation = "PALETTE COLOR"
        pal.BitsAllocated = bits
        pal.BitsStored = bits if bits == 8 else 12
        pal.HighBit = pal.BitsStored - 1
        pal.PixelRepresentation = 0
        t = np.linspace(0, 1, entries)
        red = (np.clip(t * 2, 0, 1) * 65535).astype(np.uint16)
        green = (np.clip(t * 2 - 0.5, 0, 1) * 65535).astype(np.uint16)
        blue = (np.clip(1 - t * 1.5, 0, 1) * 65535).astype(np.uint16)
        desc = [entries if entries < 65536 else 0, 0, 16]
        pal.RedPaletteColorLookupTableDescriptor = desc
        pal.GreenPaletteColorLookupTableDescriptor = desc
        pal.BluePaletteColorLookupTableDescriptor = desc
        pal.RedPaletteColorLookupTableData = red.tobytes()
        pal.GreenPaletteColorLookupTableData = green.tobytes()
        pal.BluePaletteColorLookupTableData = blue.tobytes()
        pal.PixelData = idx.astype(np.uint8 if bits == 8 else np.uint16).tobytes()
        add(f"palette-{bits}bit.dcm", pal)

    # 4. Non-square pixels: PixelSpacing 1.0 (rows) \ 0.5 (columns) -> shown 256 x 256;
    #    PixelAspectRatio 2\1 (vertical 2 : horizontal 1) on 100 columns x 50 rows -> 100 x 100.
    asp = base(US, "US", 128, 256)
    y, x = grid(128, 256)
    a = (128 + 100 * np.sin(np.hypot(y - 64, (x - 128) / 2.0) / 6.0)).astype(np.int64)
    marker(a, 255, 8)
    mono(asp, a, 8, 8, False)
    asp.PixelSpacing = [1.0, 0.5]
    add("aspect-pixelspacing.dcm", asp, expect_size=[256, 256])
    par = base(US, "US", 50, 100)
    y, x = grid(50, 100)
    p = (128 + 100 * np.sin(np.hypot((y - 25) * 2.0, x - 50) / 5.0)).astype(np.int64)
    marker(p, 255, 5)
    mono(par, p, 8, 8, False)
    par.PixelAspectRatio = [2, 1]
    add("aspect-ratio-2to1.dcm", par, expect_size=[100, 100])

    # 5. Tiny rescale slope (PET-like): stored 0..32000, slope 0.0005 -> 0..16 (units).
    pet = base(PET, "PT", 128, 128)
    y, x = grid(128, 128)
    act = (16000 + 15000 * np.sin(x / 10.0) * np.cos(y / 14.0)).astype(np.int64)
    marker(act, 32000)
    mono(pet, act, 16, 16, False)
    pet.RescaleSlope = 0.0005
    pet.RescaleIntercept = 0
    pet.WindowCenter = 8
    pet.WindowWidth = 16
    add("pet-small-slope.dcm", pet)
    pet_auto = copy.deepcopy(pet)
    pet_auto.SOPInstanceUID = uid()
    del pet_auto.WindowCenter
    del pet_auto.WindowWidth
    add("pet-small-slope-nowindow.dcm", pet_auto)

    # 6. Multi-frame, functional groups only (rescale and window per frame), like an enhanced MR.
    nf = 3
    emr = base(ENHANCED_MR, "MR", 96, 128)
    frames = []
    per = []
    for k in range(nf):
        y, x = grid(96, 128)
        f = (1000 + 800 * np.sin(x / (8.0 + 4 * k)) * np.cos(y / 11.0)).astype(np.int64)
        marker(f, 2000)
        f[2:6, 100:100 + 6 * (k + 1)] = 2000          # k+1 ticks: which frame this is
        frames.append(f)
        it = Dataset()
        pvt = Dataset()
        pvt.RescaleIntercept = -500 * k
        pvt.RescaleSlope = 1
        pvt.RescaleType = "US"
        it.PixelValueTransformationSequence = Sequence([pvt])
        voi_item = Dataset()
        voi_item.WindowCenter = 1000 - 500 * k
        voi_item.WindowWidth = 1600
        it.FrameVOILUTSequence = Sequence([voi_item])
        per.append(it)
    emr.NumberOfFrames = nf
    emr.PerFrameFunctionalGroupsSequence = Sequence(per)
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [0.8, 0.8]
    pm.SliceThickness = 3
    shared.PixelMeasuresSequence = Sequence([pm])
    emr.SharedFunctionalGroupsSequence = Sequence([shared])
    mono(emr, np.stack(frames), 16, 12, False)
    add("enhanced-mr-3frames-fg.dcm", emr, default_frame=1)

    # 7. Large native multi-frame: 60 frames 256 x 256, each frame's level = its index.
    big = base(SC, "OT", 256, 256)
    y, x = grid(256, 256)
    fr = []
    for k in range(60):
        f = (x + y + 40 * k).astype(np.int64)
        marker(f, 4000)
        fr.append(f)
    big.NumberOfFrames = 60
    mono(big, np.stack(fr), 16, 12, False)
    big.WindowCenter = 2048
    big.WindowWidth = 4096
    add("multiframe-60.dcm", big, default_frame=30)

    # 8. YBR_FULL_422 native (uncompressed), from an RGB pattern.
    yy, xx = grid(64, 96)
    rgb = np.stack([(xx / 95 * 255), (yy / 63 * 255), ((1 - xx / 95) * 200 + 30)], axis=-1)
    rgb[2:8, 2:8] = [255, 255, 0]
    Y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    Cb = 128 - 0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2]
    Cr = 128 + 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2]
    Y, Cb, Cr = (np.clip(np.round(v), 0, 255).astype(np.uint8) for v in (Y, Cb, Cr))
    packed = np.empty((64, 48, 4), np.uint8)
    packed[..., 0] = Y[:, 0::2]
    packed[..., 1] = Y[:, 1::2]
    packed[..., 2] = ((Cb[:, 0::2].astype(int) + Cb[:, 1::2]) // 2).astype(np.uint8)
    packed[..., 3] = ((Cr[:, 0::2].astype(int) + Cr[:, 1::2]) // 2).astype(np.uint8)
    y422 = base(US, "US", 64, 96)
    y422.SamplesPerPixel = 3
    y422.PhotometricInterpretation = "YBR_FULL_422"
    y422.PlanarConfiguration = 0
    y422.BitsAllocated = 8
    y422.BitsStored = 8
    y422.HighBit = 7
    y422.PixelRepresentation = 0
    y422.PixelData = packed.tobytes()
    add("ybr-full-422-native.dcm", y422)

    # 8b. A gradient with known values under a known window (exact checks): 256 columns x 16 rows,
    #     stored = 16 * column + 1024, RescaleIntercept -1024 (so x = 16 * column), window 2040.5 / 4081:
    #     DICOM's linear VOI gives exactly y = column (0 ... 255). Rows 12-15: far below the window on the
    #     left half (-> 0), far above on the right half (-> 255). And the same data as MONOCHROME1.
    grad = np.tile((16 * np.arange(256) + 1024).astype(np.int64), (16, 1))
    grad[12:, :128] = 0
    grad[12:, 128:] = 9000
    g = base(SC, "OT", 16, 256)
    mono(g, grad, 16, 16, False)
    g.RescaleIntercept = -1024
    g.RescaleSlope = 1
    g.WindowCenter = 2040.5
    g.WindowWidth = 4081
    add("gradient-window.dcm", g)
    g1 = copy.deepcopy(g)
    g1.SOPInstanceUID = uid()
    g1.PhotometricInterpretation = "MONOCHROME1"
    add("gradient-window-monochrome1.dcm", g1, inverse_of="gradient-window.dcm")

    # 9. Objects without pixels.
    sr = base("1.2.840.10008.5.1.4.1.1.88.11", "SR", 0, 0)
    sr.ValueType = "CONTAINER"
    sr.ContinuityOfContent = "SEPARATE"
    add("sr-basic-text.dcm", sr, expect="no_pixels")
    pdf = base("1.2.840.10008.5.1.4.1.1.104.1", "DOC", 0, 0)
    pdf.MIMETypeOfEncapsulatedDocument = "application/pdf"
    pdf.EncapsulatedDocument = b"%PDF-1.4\n% synthetic\n%%EOF\n"
    add("encapsulated-pdf.dcm", pdf, expect="no_pixels")
    rts = base("1.2.840.10008.5.1.4.1.1.481.3", "RTSTRUCT", 0, 0)
    rts.StructureSetLabel = "FIXTURE"
    add("rt-structure-set.dcm", rts, expect="no_pixels")
    gsps = base("1.2.840.10008.5.1.4.1.1.11.1", "PR", 0, 0)
    gsps.PresentationLUTShape = "IDENTITY"
    add("presentation-state.dcm", gsps, expect="no_pixels")
    raw = base("1.2.840.10008.5.1.4.1.1.66", "OT", 0, 0)
    add("raw-data.dcm", raw, expect="no_pixels")

    # 10. Float Pixel Data (parametric map): not supported.
    fpm = base(PARAMETRIC_MAP, "MR", 32, 32)
    fpm.SamplesPerPixel = 1
    fpm.PhotometricInterpretation = "MONOCHROME2"
    fpm.BitsAllocated = 32
    fpm.FloatPixelData = np.linspace(0, 1, 1024, dtype=np.float32).tobytes()
    add("float-pixel-data.dcm", fpm, expect="unsupported")

    # 11. Video transfer syntaxes (pixel data is a fake elementary stream) and an unknown one.
    for name, ts in (("video-mpeg4.dcm", "1.2.840.10008.1.2.4.102"),
                     ("video-hevc.dcm", "1.2.840.10008.1.2.4.107"),
                     ("video-mpeg2.dcm", "1.2.840.10008.1.2.4.100")):
        v = base(VIDEO_PHOTO, "XC", 64, 64)
        v.SamplesPerPixel = 3
        v.PhotometricInterpretation = "YBR_PARTIAL_420"
        v.PlanarConfiguration = 0
        v.BitsAllocated = 8
        v.BitsStored = 8
        v.HighBit = 7
        v.PixelRepresentation = 0
        v.NumberOfFrames = 30
        v.PixelData = encapsulate([b"\x00\x00\x00\x01fake-stream" + b"\x00" * 5])
        v["PixelData"].VR = "OB"
        add(name, v, expect="video", ts=ts)
    jxl = base(SC, "OT", 16, 16)
    mono(jxl, np.zeros((16, 16)), 8, 8, False)
    jxl.PixelData = encapsulate([b"\xff\x0a" + b"\x00" * 30])
    jxl["PixelData"].VR = "OB"
    add("unknown-encapsulated-jpegxl.dcm", jxl, expect="unsupported", ts="1.2.840.10008.1.2.4.110")

    # 12. JPEG 2000.
    if openjpeg is None:
        print("note: pylibjpeg-openjpeg not installed: JPEG 2000 fixtures skipped", file=sys.stderr)
    else:
        ct_raw = stored.astype(np.int16)
        # Lossless, signed codestream (as pylibjpeg writes for int16 input).
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([ct_raw], 16))
        j["PixelData"].VR = "OB"
        add("ct512-j2k-lossless.dcm", j, ts="1.2.840.10008.1.2.4.90", reference="ct512.dcm", tolerance=0)
        # Lossless, but an unsigned codestream of the two's complement bit patterns (seen in the wild).
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([ct_raw.view(np.uint16)], 16))
        j["PixelData"].VR = "OB"
        add("ct512-j2k-unsigned-codestream.dcm", j, ts="1.2.840.10008.1.2.4.90", reference="ct512.dcm",
            tolerance=0)
        # Lossy (9-7 wavelet), 10:1.
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([ct_raw], 16, ratios=[10]))
        j["PixelData"].VR = "OB"
        j.LossyImageCompression = "01"
        add("ct512-j2k-lossy.dcm", j, ts="1.2.840.10008.1.2.4.91", reference="ct512.dcm", tolerance=12)
        # Same codestream labelled HTJ2K Lossless (an HT decoder decodes Part 1 codestreams too): checks
        # that a transfer syntax DCMTK 3.6.7 does not know is still found and decoded.
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([ct_raw], 16))
        j["PixelData"].VR = "OB"
        add("ct512-labelled-htj2k.dcm", j, ts="1.2.840.10008.1.2.4.201", reference="ct512.dcm", tolerance=0)
        # Damaged: bytes in the middle of the codestream overwritten; and truncated at half.
        cs = j2k_frames([ct_raw], 16)[0]
        bad = bytearray(cs)
        bad[len(bad) // 3: len(bad) // 3 + 2000] = b"\xff" * 2000
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate([bytes(bad)])
        j["PixelData"].VR = "OB"
        add("ct512-j2k-garbled.dcm", j, expect="error_or_image", ts="1.2.840.10008.1.2.4.90")
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        half = cs[: len(cs) // 2]
        j.PixelData = encapsulate([half + (b"\x00" if len(half) % 2 else b"")])
        j["PixelData"].VR = "OB"
        add("ct512-j2k-truncated.dcm", j, expect="error", ts="1.2.840.10008.1.2.4.90")

        # A large CR (2048 x 2048, MONOCHROME1, 12 bits, no window): thumbnails decode it at half resolution.
        y, x = grid(2048, 2048)
        cr = (2000 + 1500 * np.sin(x / 150.0) * np.cos(y / 190.0)
              + 400 * (np.hypot(y - 1024, x - 1024) < 600)).astype(np.int64)
        marker(cr, 4095)
        crd = base(CR, "CR", 2048, 2048)
        mono(crd, cr, 16, 12, False, photometric="MONOCHROME1")
        crd.ImagerPixelSpacing = [0.15, 0.15]
        add("cr2048.dcm", crd)
        j = copy.deepcopy(crd)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([cr.astype(np.uint16)], 12))
        j["PixelData"].VR = "OB"
        add("cr2048-j2k.dcm", j, ts="1.2.840.10008.1.2.4.90", reference="cr2048.dcm", tolerance=0)

        # MONOCHROME1 J2K (inverse of the lossless one).
        j = copy.deepcopy(m1)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([ct_raw], 16))
        j["PixelData"].VR = "OB"
        add("ct512-monochrome1-j2k.dcm", j, ts="1.2.840.10008.1.2.4.90", reference="ct512-monochrome1.dcm",
            tolerance=0)

        # BitsStored 12 of 16 with the codestream precision 12.
        j = copy.deepcopy(d12)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([dx.astype(np.uint16)], 12))
        j["PixelData"].VR = "OB"
        add("bits12of16-j2k.dcm", j, ts="1.2.840.10008.1.2.4.90", reference="bits12of16-unsigned-junk.dcm",
            tolerance=0)

        # Multi-frame: 60 frames; with a basic offset table; without one (frames == fragments); and with
        # every frame split in two fragments and no offset table (frames found by their SOC marker).
        ff = [f.astype(np.uint16) for f in fr]
        css = j2k_frames(ff, 12)
        for name, data in (
                ("multiframe-60-j2k-bot.dcm", encapsulate(css, has_bot=True)),
                ("multiframe-60-j2k-nobot.dcm", encapsulate(css, has_bot=False)),
                ("multiframe-60-j2k-2fragments.dcm", encapsulate(css, fragments_per_frame=2, has_bot=False)),
                ("multiframe-60-j2k-2fragments-bot.dcm", encapsulate(css, fragments_per_frame=2, has_bot=True))):
            j = copy.deepcopy(big)
            j.SOPInstanceUID = uid()
            j.PixelData = data
            j["PixelData"].VR = "OB"
            add(name, j, ts="1.2.840.10008.1.2.4.90", reference="multiframe-60.dcm", tolerance=0,
                default_frame=30)

        # Colour: RGB source with MCT (YBR_RCT lossless, YBR_ICT lossy) and without MCT (RGB).
        rgbsrc = pydicom.dcmread(Path(__file__).resolve().parents[2] / "TestImages/choray/us-abdomen-rgb.dcm")
        arr = rgbsrc.pixel_array
        for name, pi, mct, ratios, ts, tol in (
                ("us-rgb-j2k-rct.dcm", "YBR_RCT", True, None, "1.2.840.10008.1.2.4.90", 0),
                ("us-rgb-j2k-ict.dcm", "YBR_ICT", True, [8], "1.2.840.10008.1.2.4.91", 24),
                ("us-rgb-j2k-nomct.dcm", "RGB", False, None, "1.2.840.10008.1.2.4.90", 0)):
            j = copy.deepcopy(rgbsrc)
            j.SOPInstanceUID = uid()
            j.PhotometricInterpretation = pi
            j.PixelData = encapsulate(j2k_frames([arr], 8, photometric=1, use_mct=mct, ratios=ratios))
            j["PixelData"].VR = "OB"
            j.PlanarConfiguration = 0
            add(name, j, ts=ts, reference=str(Path(__file__).resolve().parents[2] /
                                                "TestImages/choray/us-abdomen-rgb.dcm"), tolerance=tol)

        # PALETTE COLOR compressed with JPEG 2000 (one component).
        palsrc = pydicom.dcmread(out / "palette-8bit.dcm")
        j = copy.deepcopy(palsrc)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate(j2k_frames([palsrc.pixel_array.astype(np.uint8)], 8))
        j["PixelData"].VR = "OB"
        add("palette-8bit-j2k.dcm", j, ts="1.2.840.10008.1.2.4.90", reference="palette-8bit.dcm", tolerance=0)

    # 13. HTJ2K (High-Throughput JPEG 2000) codestreams, made with OpenJPH through imagecodecs if installed.
    if htj2k is None:
        print("note: imagecodecs (HTJ2K encoder) not installed: HTJ2K fixtures skipped", file=sys.stderr)
    else:
        ct_raw = stored.astype(np.int16)
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate([htj2k.htj2k_encode(ct_raw)])
        j["PixelData"].VR = "OB"
        add("ct512-htj2k-lossless.dcm", j, ts="1.2.840.10008.1.2.4.201", reference="ct512.dcm", tolerance=0)
        j = copy.deepcopy(ct)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate([htj2k.htj2k_encode(ct_raw, reversible=False)])
        j["PixelData"].VR = "OB"
        j.LossyImageCompression = "01"
        add("ct512-htj2k-lossy.dcm", j, ts="1.2.840.10008.1.2.4.203", reference="ct512.dcm", tolerance=8)
        j = copy.deepcopy(big)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate([htj2k.htj2k_encode(f.astype(np.uint16)) for f in fr], has_bot=True)
        j["PixelData"].VR = "OB"
        add("multiframe-60-htj2k.dcm", j, ts="1.2.840.10008.1.2.4.201", reference="multiframe-60.dcm", tolerance=0,
            default_frame=30)
        rgbsrc = pydicom.dcmread(Path(__file__).resolve().parents[2] / "TestImages/choray/us-abdomen-rgb.dcm")
        j = copy.deepcopy(rgbsrc)
        j.SOPInstanceUID = uid()
        j.PixelData = encapsulate([htj2k.htj2k_encode(np.ascontiguousarray(rgbsrc.pixel_array))])
        j["PixelData"].VR = "OB"
        j.PlanarConfiguration = 0
        add("us-rgb-htj2k.dcm", j, ts="1.2.840.10008.1.2.4.201", tolerance=0,
            reference=str(Path(__file__).resolve().parents[2] / "TestImages/choray/us-abdomen-rgb.dcm"))

    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    print(f"{len(manifest)} fixtures in {out}")


if __name__ == "__main__":
    main()
