"""Writes multi-frame images whose native frames DCMTK does not cut itself, and prints each
frame's expected bytes (hex) as one JSON line: a 1-bit image of 3 frames of 5 x 5 pixels (25 bits
a frame: frames do not start on byte boundaries, PS3.5 8.1.1), a YBR_FULL_422 image of 2 frames
of 4 x 2 pixels (2 bytes a pixel), and Float / Double Float Pixel Data images of 2 frames (4 and 8
bytes a pixel, little endian)."""
import json
import struct
import sys

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]


def base(sop_class, photometric, rows, columns, frames, samples, bits):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SOPClassUID = sop_class
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = "FRAMES-1", "Frames^Test", "OT"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if samples > 1:
        ds.PlanarConfiguration = 0
    return ds


# 1 bit: frame k has pixel i set when (i * (k + 2)) % 7 < 3; bits packed LSB first, contiguous.
rows = columns = 5
bits = []
frames = []
for k in range(3):
    frame = [1 if (i * (k + 2)) % 7 < 3 else 0 for i in range(rows * columns)]
    frames.append(frame)
    bits += frame
packed = bytearray((len(bits) + 7) // 8)
for i, b in enumerate(bits):
    packed[i // 8] |= b << (i % 8)
if len(packed) % 2:
    packed.append(0)
seg = base("1.2.840.10008.5.1.4.1.1.7", "MONOCHROME2", rows, columns, 3, 1, 1)
seg.PixelData = bytes(packed)
seg.save_as(f"{out}/one-bit.dcm", enforce_file_format=True)


def pack(frame):
    data = bytearray((len(frame) + 7) // 8)
    for i, b in enumerate(frame):
        data[i // 8] |= b << (i % 8)
    return data.hex()


# YBR_FULL_422: Y1 Y2 Cb Cr per pair of pixels, frames of 4 x 2 pixels = 16 bytes each.
ybr_frames = [bytes((16 * k + i) % 251 for i in range(16)) for k in range(2)]
ybr = base("1.2.840.10008.5.1.4.1.1.7", "YBR_FULL_422", 2, 4, 2, 3, 8)
ybr.PixelData = b"".join(ybr_frames)
ybr.save_as(f"{out}/ybr-full-422.dcm", enforce_file_format=True)

# Float Pixel Data (OF) and Double Float Pixel Data (OD): frames of 3 x 2 values (a parametric map).
def float_image(name, keyword, code, bits):
    values = [[(k + 1) * 1.5 - i * 0.25 for i in range(6)] for k in range(2)]
    frames_bytes = [struct.pack("<6" + code, *v) for v in values]
    ds = base("1.2.840.10008.5.1.4.1.1.30", "MONOCHROME2", 2, 3, 2, 1, bits)
    for unused in ("BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, unused)
    setattr(ds, keyword, b"".join(frames_bytes))
    ds.save_as(f"{out}/{name}", enforce_file_format=True)
    return [f.hex() for f in frames_bytes]


float_frames = float_image("float.dcm", "FloatPixelData", "f", 32)
double_frames = float_image("double-float.dcm", "DoubleFloatPixelData", "d", 64)

print(json.dumps({"one-bit.dcm": [pack(f) for f in frames], "ybr-full-422.dcm": [f.hex() for f in ybr_frames],
                  "float.dcm": float_frames, "double-float.dcm": double_frames}))
