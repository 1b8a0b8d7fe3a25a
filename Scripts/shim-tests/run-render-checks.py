#!/usr/bin/env python3
"""Checks the shim's renderer (CModules/CDcmtkShim/cdcm_render.cpp) with the render_check harness.

    Scripts/shim-tests/run-render-checks.py [--harness PATH] [--fixtures DIR] [--keep]

Builds nothing: run Scripts/shim-tests/build.sh first (default harness: .build/shim-tests/render_check).
Makes the fixtures with make-render-fixtures.py (into a temporary folder unless --fixtures is given), then:
  - renders every file of TestImages/ and of the fixtures and checks the outcome (image / no pixels /
    video / unsupported / error) and that file and memory rendering agree (render_check sweep);
  - compares grey and colour output with DCMTK's dcmj2pnm for the same frame, window and size
    (+Wi 1 for the file's window, +Wl 1 for its VOI LUT, +Ww c w for caller and automatic windows);
    compressed fixtures DCMTK cannot decode (JPEG 2000) are compared with dcmj2pnm's rendering of
    their uncompressed source;
  - checks what dcmj2pnm cannot: MONOCHROME1 = 255 - MONOCHROME2, aspect-corrected sizes, windows in
    stored units for small rescale slopes and per-frame functional groups (against a numpy rendering
    of DICOM's linear VOI function).
Ends with a line "N passed, N failed".
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TEST_IMAGES = REPO / "TestImages"

results = {"passed": 0, "failed": 0}


def report(ok, name, message=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}{(': ' + message) if message else ''}")


def run(cmd, check=False):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd}: {p.stderr or p.stdout}")
    return p


def parse_line(line):
    fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
    return {k: v.strip('"') for k, v in fields.items()}


def render(harness, path, out, max_size=256, frame=None, window=None, memory=False):
    cmd = [harness, "render", str(path), "--max", str(max_size), "--out", str(out)]
    if frame is not None:
        cmd += ["--frame", str(frame)]
    if window is not None:
        cmd += ["--window", str(window[0]), str(window[1])]
    if memory:
        cmd.append("--memory")
    p = run(cmd)
    if "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        report(False, f"sanitizer report rendering {Path(path).name}", p.stderr[-2000:])
    lines = [line for line in p.stdout.splitlines() if line.startswith("file=")]
    return parse_line(lines[-1]) if lines else {"status": "crash", "error": p.stderr[-300:]}


def read_pnm(path):
    data = Path(path).read_bytes()
    parts = data.split(maxsplit=4)
    magic, w, h, maxval = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
    channels = 1 if magic == b"P5" else 3
    header_len = len(data) - w * h * channels
    return np.frombuffer(data[header_len:], np.uint8).reshape(h, w, channels).squeeze()


def compare(name, mine, ref, tolerance, inverse=False):
    a = read_pnm(mine).astype(int)
    b = read_pnm(ref).astype(int)
    if inverse:
        b = 255 - b
    if a.shape != b.shape:
        report(False, name, f"size {a.shape} vs reference {b.shape}")
        return
    diff = np.abs(a - b)
    ok = int(diff.max()) <= tolerance
    report(ok, name, f"max diff {int(diff.max())}, mean {diff.mean():.3f}, >2: {int((diff > 2).sum())} (tolerance {tolerance})")


def dcmj2pnm_args(info, frame):
    args = ["+F", str(frame + 1), "-O"]
    window = info.get("window")
    if window == "file":
        args += ["+Wi", "1"]
    elif window == "voilut":
        args += ["+Wl", "1"]
    elif window in ("auto", "caller"):
        args += ["+Ww", info["center"], info["width_w"]]
    if (info["width"], info["height"]) != tuple(info["source"].split("x")):
        # the long side is exact (max_size); DCMTK computes the other one
        if int(info["width"]) >= int(info["height"]):
            args += ["+Sxv", info["width"], "+i", "1"]
        else:
            args += ["+Syv", info["height"], "+i", "1"]
    return args


def check_against_dcmj2pnm(harness, work, name, path, reference=None, tolerance=2, max_size=256, frame=None,
                           window=None):
    mine = work / (name + ".mine")
    info = render(harness, path, mine, max_size=max_size, frame=frame, window=window)
    if info.get("status") != "0" or info.get("outcome") != "image":
        report(False, name, f"render failed: {info}")
        return None
    ref = work / (name + ".ref.pnm")
    args = dcmj2pnm_args(info, int(info["frame"]))
    source = str(reference or path)
    # dcmj2pnm has the JPEG decoders, dcml2pnm the JPEG-LS ones (same rendering code)
    tool = "dcml2pnm" if "jpegls" in Path(source).name else "dcmj2pnm"
    p = run([tool, "-q", *args, "+op", source, str(ref)])
    if p.returncode != 0:
        report(False, name, f"dcmj2pnm failed: {p.stderr.strip()}")
        return info
    compare(name + " vs dcmj2pnm " + " ".join(args), str(mine) + ".pnm", ref, tolerance)
    return info


def numpy_render(path, frame, center, width, max_size=0):
    """DICOM linear VOI on stored * slope + intercept (per-frame groups first), MONOCHROME2, no scaling."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
        arr = arr[frame]
    slope, intercept = float(getattr(ds, "RescaleSlope", 1)), float(getattr(ds, "RescaleIntercept", 0))
    if "PerFrameFunctionalGroupsSequence" in ds:
        item = ds.PerFrameFunctionalGroupsSequence[frame]
        if "PixelValueTransformationSequence" in item:
            pvt = item.PixelValueTransformationSequence[0]
            slope, intercept = float(pvt.RescaleSlope), float(pvt.RescaleIntercept)
    x = arr.astype(np.float64) * slope + intercept
    y = ((x - (center - 0.5)) / (width - 1) + 0.5)
    y = np.clip(y, 0, 1) * 255
    return y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--harness", default=str(REPO / ".build/shim-tests/render_check"))
    parser.add_argument("--fixtures")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    harness = args.harness
    if not Path(harness).exists():
        sys.exit(f"{harness} not found: run Scripts/shim-tests/build.sh first")

    tmp = tempfile.TemporaryDirectory(prefix="render-checks-")
    work = Path(tmp.name)
    fixtures = Path(args.fixtures) if args.fixtures else work / "fixtures"
    if not (fixtures / "manifest.json").exists():
        run([sys.executable, str(HERE / "make-render-fixtures.py"), str(fixtures)], check=True)
    manifest = json.loads((fixtures / "manifest.json").read_text())

    # 1. Outcomes of everything, and file vs memory (sweep).
    expected = json.loads((TEST_IMAGES / "expected.json").read_text())
    all_files = sorted(p for p in TEST_IMAGES.rglob("*") if p.is_file() and p.suffix in (".dcm", ".png"))
    p = run([harness, "sweep", *map(str, all_files), *map(str, sorted(fixtures.glob("*.dcm")))])
    if "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        report(False, "sanitizer report in the sweep", p.stderr[-2000:])
    report(p.returncode == 0, "sweep: file and memory rendering agree, PNG encodes",
           p.stdout.strip().splitlines()[-1] if p.stdout else p.stderr[-300:])
    outcomes = {}
    for line in p.stdout.splitlines():
        if line.startswith("file="):
            info = parse_line(line)
            f = Path(info["file"])
            outcomes[f.name if f.parent == fixtures else str(f.relative_to(REPO))] = info
    for path in all_files:
        rel = str(path.relative_to(REPO))
        info = outcomes.get(rel, {})
        if "/bad/" in rel:
            ok = info.get("status") == "-3" or (rel.endswith("missing-sop-instance-uid.dcm") and info.get("outcome") == "image")
            report(ok, f"outcome {rel}", info.get("error") or info.get("outcome", "?"))
        else:
            report(info.get("status") == "0" and info.get("outcome") == "image", f"outcome {rel}",
                   info.get("error") or info.get("outcome", "?"))
    for name, m in sorted(manifest.items()):
        info = outcomes.get(name, {})
        want = m["expect"]
        got = "error" if info.get("status") not in (None, "0") else info.get("outcome", "missing")
        ok = got == want or (want == "error_or_image" and got in ("error", "image"))
        report(ok, f"outcome {name}", f"{got}: {info.get('error') or info.get('detail') or ''}")

    # 2. Against dcmj2pnm: every good TestImages file at 256 and at 64 (scaled), first and middle frame.
    for path in all_files:
        rel = str(path.relative_to(REPO))
        if "/bad/" in rel:
            continue
        tag = rel.replace("/", "_")
        check_against_dcmj2pnm(harness, work, tag + "@256", path)
        check_against_dcmj2pnm(harness, work, tag + "@64", path, max_size=64)
        if "5frames" in rel:
            check_against_dcmj2pnm(harness, work, tag + "@frame4", path, frame=4)
            check_against_dcmj2pnm(harness, work, tag + "@frame0", path, frame=0)
        if "ct-head-1" in rel or "cr-chest" in rel:
            check_against_dcmj2pnm(harness, work, tag + "@window", path, window=(-600, 1600))
    # Fixtures that DCMTK renders itself (uncompressed), and JPEG 2000 ones against their source.
    for name, m in sorted(manifest.items()):
        if m["expect"] != "image" or name in ("pet-small-slope.dcm", "pet-small-slope-nowindow.dcm",
                                              "enhanced-mr-3frames-fg.dcm"):
            continue
        path = fixtures / name
        reference = None
        if "reference" in m:
            reference = Path(m["reference"]) if m["reference"].startswith("/") else fixtures / m["reference"]
        tolerance = m.get("tolerance", 2) if reference else 2
        tolerance = max(tolerance, 2)
        frame = m.get("default_frame")
        for size in (0, 256, 100):
            tol = tolerance
            long_side = max(int(pydicom.dcmread(path, stop_before_pixels=True).Rows),
                            int(pydicom.dcmread(path, stop_before_pixels=True).Columns))
            if "j2k" in name and size and long_side >= 8 * size:
                continue  # decoded at reduced resolution: checked below against the full decode
            check_against_dcmj2pnm(harness, work, f"{name}@{size}", path, reference=reference, tolerance=tol,
                                   max_size=size, frame=frame)
        if frame is not None:
            check_against_dcmj2pnm(harness, work, f"{name}@frame7", path, reference=reference, tolerance=tolerance,
                                   max_size=0, frame=7)
            check_against_dcmj2pnm(harness, work, f"{name}@frame59", path, reference=reference, tolerance=tolerance,
                                   max_size=0, frame=59)

    # 3. What dcmj2pnm cannot check.
    for name, m in sorted(manifest.items()):
        if "inverse_of" in m:
            a, b = work / (name + ".inv"), work / (name + ".base")
            render(harness, fixtures / name, a)
            render(harness, fixtures / m["inverse_of"], b)
            compare(f"{name} is the inverse of {m['inverse_of']}", str(a) + ".pnm", str(b) + ".pnm", 1, inverse=True)
        if "expect_size" in m:
            info = render(harness, fixtures / name, work / (name + ".size"))
            got = [int(info.get("width", 0)), int(info.get("height", 0))]
            report(got == m["expect_size"], f"{name} aspect-corrected size", f"{got} (expected {m['expect_size']})")
    for name, frame in (("pet-small-slope.dcm", 0), ("enhanced-mr-3frames-fg.dcm", 0),
                        ("enhanced-mr-3frames-fg.dcm", 1), ("enhanced-mr-3frames-fg.dcm", 2),
                        ("pet-small-slope-nowindow.dcm", 0)):
        out = work / f"{name}.{frame}.np"
        info = render(harness, fixtures / name, out, max_size=0, frame=frame)
        if info.get("outcome") != "image":
            report(False, f"{name} frame {frame} vs numpy", str(info))
            continue
        expect = numpy_render(fixtures / name, frame, float(info["center"]), float(info["width_w"]))
        got = read_pnm(str(out) + ".pnm").astype(float)
        diff = np.abs(got - expect)
        levels = len(np.unique(got))
        report(diff.max() <= 1.01, f"{name} frame {frame} window {info['window']} {info['center']}/{info['width_w']} vs numpy",
               f"max diff {diff.max():.2f}, {levels} grey levels")
    # The PET window must not be posterised (DCMTK's own modality transform gives 16 levels here).
    info = render(harness, fixtures / "pet-small-slope.dcm", work / "pet.levels", max_size=0)
    levels = len(np.unique(read_pnm(str(work / "pet.levels") + ".pnm")))
    report(levels > 200, "pet-small-slope: no posterisation", f"{levels} grey levels")

    # Reduced-resolution JPEG 2000 decoding (long side >= 4 x max_size): a different low-pass filter than
    # DCMTK's area averaging, so pixels at sharp edges differ; the mean difference must stay small.
    for name, size, source in (("ct512-j2k-lossless.dcm", 64, "ct512.dcm"), ("cr2048-j2k.dcm", 256, "cr2048.dcm"),
                               ("cr2048-j2k.dcm", 200, "cr2048.dcm"), ("ct512-htj2k-lossless.dcm", 64, "ct512.dcm")):
        if not (fixtures / name).exists():
            continue
        a, b = work / f"{name}.{size}.reduced", work / f"{name}.{size}.full"
        ia = render(harness, fixtures / name, a, max_size=size)
        ib = render(harness, fixtures / source, b, max_size=size, window=(float(ia["center"]), float(ia["width_w"]))
                    if ia.get("window") in ("auto", "caller") else None)
        x, y = read_pnm(str(a) + ".pnm").astype(int), read_pnm(str(b) + ".pnm").astype(int)
        if x.shape != y.shape:
            report(False, f"{name}@{size} reduced decode", f"size {x.shape} vs {y.shape}")
            continue
        d = np.abs(x - y)
        report(d.mean() <= 2.5, f"{name}@{size} reduced decode vs full decode of {source}",
               f"mean diff {d.mean():.3f}, 99th percentile {np.percentile(d, 99):.0f}, max {d.max()}")

    # A caller's window on a signed CT, and frame out of range.
    info = render(harness, fixtures / "ct512.dcm", work / "oob", frame=1)
    report(info.get("status") == "-1", "frame out of range is CDCM_ERR_ARGUMENT", info.get("error", ""))
    info = render(harness, fixtures / "ct512.dcm", work / "badwin", window=(40, 0.5))
    report(info.get("status") == "-1", "window width < 1 is CDCM_ERR_ARGUMENT", info.get("error", ""))
    info = render(harness, work / "does-not-exist.dcm", work / "missing")
    report(info.get("status") == "-2", "missing file is CDCM_ERR_IO", info.get("error", ""))

    if args.keep:
        print(f"outputs kept in {work}")
        tmp.cleanup = lambda: None  # noqa: E731
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
