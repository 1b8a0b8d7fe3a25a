#!/usr/bin/env python3
"""C-FIND result sets of two servers holding the same data, compared query by query.

The queries are drawn (seeded) from a gen_dataset.py manifest: every level (PATIENT with Patient
Root; STUDY, SERIES, IMAGE with Study Root) and the matching types (single value, wildcard * and ?,
date ranges closed and open, UID lists, combinations) with the usual return keys. For each query
the set of matches (by the level's unique key) and every returned value are compared; differences
are printed, one line each, and summed up at the end.

usage: cfind_compare.py MANIFEST.json NAME=AET@PORT NAME=AET@PORT [--samples N]"""
import argparse
import json
import random
import socket
import sys

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (PatientRootQueryRetrieveInformationModelFind as PATIENT_ROOT,
                                  StudyRootQueryRetrieveInformationModelFind as STUDY_ROOT)

UNIQUE = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID", "IMAGE": "SOPInstanceUID"}
RETURN = {
    "PATIENT": ["PatientName", "PatientBirthDate", "PatientSex", "NumberOfPatientRelatedStudies",
                "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances"],
    "STUDY": ["PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
              "AccessionNumber", "StudyID", "StudyDescription", "ReferringPhysicianName", "InstitutionName",
              "ModalitiesInStudy", "SOPClassesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"],
    "SERIES": ["Modality", "SeriesNumber", "SeriesDescription", "BodyPartExamined", "SeriesDate", "SeriesTime",
               "Manufacturer", "StationName", "NumberOfSeriesRelatedInstances"],
    "IMAGE": ["SOPClassUID", "InstanceNumber", "Rows", "Columns", "NumberOfFrames", "PhotometricInterpretation"],
}
SET_VALUED = {"ModalitiesInStudy", "SOPClassesInStudy"}


def pn(p):
    return f"{p['family']}^{p['middle']} {p['given']}"


def queries(manifest, samples, rng):
    patients, studies = manifest["patients"], manifest["studies"]
    hospitals = {h["code"]: h for h in manifest["hospitals"]}
    out = []

    def add(label, level, keys):
        out.append((label, level, keys))

    def patient_id(study):
        p = patients[study["patient"]]
        return p["mrn"].get(study["hospital"], p["cccd"]) if hospitals[study["hospital"]]["id_mode"] != "cccd" else p["cccd"]

    for _ in range(samples):
        st = rng.choice(studies)
        p = patients[st["patient"]]
        se = rng.choice(st["series"])
        d = st["date"]
        y, m = int(d[:4]), int(d[4:6])
        d2 = f"{y + (m == 12):04d}{m % 12 + 1:02d}{d[6:]}"
        add("patient by PatientID", "PATIENT", {"PatientID": patient_id(st)})
        add("patient by name Family*", "PATIENT", {"PatientName": p["family"] + "*"})
        add("patient by birth date range", "PATIENT", {"PatientBirthDate": f"{p['birth'][:4]}0101-{p['birth'][:4]}1231"})
        add("study by PatientID", "STUDY", {"PatientID": patient_id(st)})
        add("study by citizen ID", "STUDY", {"PatientID": p["cccd"]})
        add("study by name exact", "STUDY", {"PatientName": pn(p)})
        add("study by name Family^Middle*", "STUDY", {"PatientName": f"{p['family']}^{p['middle']}*"})
        add("study by name with ?", "STUDY", {"PatientName": "?" + pn(p)[1:]})
        add("study by name lower case", "STUDY", {"PatientName": pn(p).lower()})
        add("study by date", "STUDY", {"StudyDate": d})
        add("study by date range", "STUDY", {"StudyDate": f"{d}-{d2}"})
        add("study by date from", "STUDY", {"StudyDate": f"{d2}-", "ModalitiesInStudy": st["modality"], "PatientSex": p["sex"]})
        add("study by date until", "STUDY", {"StudyDate": f"-{d}", "PatientID": patient_id(st)})
        add("study by date and time range", "STUDY", {"StudyDate": d, "StudyTime": f"{st['time'][:2]}0000-{st['time'][:2]}5959"})
        add("study by accession", "STUDY", {"AccessionNumber": st["accession"]})
        add("study by modality + date range", "STUDY", {"ModalitiesInStudy": st["modality"], "StudyDate": f"{d}-{d2}"})
        add("study by UID list", "STUDY", {"StudyInstanceUID": "\\".join(s["uid"] for s in rng.sample(studies, 3))})
        add("study by description prefix", "STUDY", {"StudyDescription": st["description"][:4] + "*", "StudyDate": f"{d}-{d2}"})
        add("series of a study", "SERIES", {"StudyInstanceUID": st["uid"]})
        add("series by modality", "SERIES", {"StudyInstanceUID": st["uid"], "Modality": st["modality"]})
        add("series by UID", "SERIES", {"StudyInstanceUID": st["uid"], "SeriesInstanceUID": se["uid"]})
        add("instances of a series", "IMAGE", {"StudyInstanceUID": st["uid"], "SeriesInstanceUID": se["uid"]})
    return out


class Target:
    def __init__(self, spec):
        self.name, rest = spec.split("=", 1)
        self.aet, port = rest.split("@")
        ae = AE(ae_title="COMPARE")
        ae.maximum_pdu_size = 0
        ae.add_requested_context(PATIENT_ROOT)
        ae.add_requested_context(STUDY_ROOT)
        self.assoc = ae.associate("127.0.0.1", int(port), ae_title=self.aet)
        if not self.assoc.is_established:
            sys.exit(f"{self.name}: association refused")
        self.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def find(self, level, keys):
        q = Dataset()
        q.SpecificCharacterSet = "ISO_IR 192"
        q.QueryRetrieveLevel = level
        model = PATIENT_ROOT if level == "PATIENT" else STUDY_ROOT
        for k in [UNIQUE[level]] + RETURN[level]:
            setattr(q, k, None)
        if level in ("SERIES", "IMAGE"):
            q.StudyInstanceUID = ""
        if level == "IMAGE":
            q.SeriesInstanceUID = ""
        for k, v in keys.items():
            setattr(q, k, v)
        matches, final = {}, None
        for status, ident in self.assoc.send_c_find(q, model):
            if status is None:
                return None, "no response"
            if status.Status in (0xFF00, 0xFF01):
                key = str(ident.get(UNIQUE[level], "")).strip()
                matches[key] = {k: normal(k, ident.get(k)) for k in RETURN[level]}
            else:
                final = status.Status
        return matches, final


def normal(keyword, element):
    if element is None:
        return None
    value = element
    if keyword in SET_VALUED:
        values = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
        return tuple(sorted(str(v).strip() for v in values if str(v).strip()))
    text = str(value).strip()
    return text if text else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    manifest = json.load(open(args.manifest))
    a, b = Target(args.a), Target(args.b)
    by_label = {}
    values = {}  # attribute -> matches whose value differs
    totals = {"queries": 0, "same_set": 0, "only_a": 0, "only_b": 0, "status": 0, "matches": 0, "common": 0}
    for label, level, keys in queries(manifest, args.samples, random.Random(args.seed)):
        ma, fa = a.find(level, keys)
        mb, fb = b.find(level, keys)
        ma, mb = ma or {}, mb or {}
        stats = by_label.setdefault(label, {"n": 0, "matches": 0, "sets": 0})
        stats["n"] += 1
        stats["matches"] += len(ma)
        totals["queries"] += 1
        totals["matches"] += len(ma)
        only_a, only_b = sorted(set(ma) - set(mb)), sorted(set(mb) - set(ma))
        notes = []
        if fa != fb:
            totals["status"] += 1
            notes.append(f"final status {a.name} {fa} vs {b.name} {fb}")
        if only_a:
            totals["only_a"] += 1
            notes.append(f"{len(only_a)} only from {a.name} (e.g. {only_a[0]})")
        if only_b:
            totals["only_b"] += 1
            notes.append(f"{len(only_b)} only from {b.name} (e.g. {only_b[0]})")
        if notes:
            stats["sets"] += 1
            print(f"SET {label} {json.dumps(keys, ensure_ascii=False)}: " + "; ".join(notes))
        else:
            totals["same_set"] += 1
        for uid in set(ma) & set(mb):
            totals["common"] += 1
            for k in RETURN[level]:
                if ma[uid][k] != mb[uid][k]:
                    seen = values.setdefault(k, [0, None])
                    seen[0] += 1
                    seen[1] = seen[1] or f"{a.name} {ma[uid][k]!r} vs {b.name} {mb[uid][k]!r}"
    print()
    for label, st in by_label.items():
        print(f"{label:34s} {st['n']:3d} queries  {st['matches'] / st['n']:6.1f} matches each  "
              f"{st['sets']:3d} with other match sets")
    print(f"\nmatch sets: {totals['same_set']} of {totals['queries']} queries equal; "
          f"{totals['only_a']} with matches only from {a.name}, {totals['only_b']} with matches only from {b.name}, "
          f"{totals['status']} with another final status ({totals['matches']} matches from {a.name})")
    print(f"returned values, over {totals['common']} matches found by both:")
    for k, (n, example) in sorted(values.items()):
        print(f"  {k:32s} differs in {n:5d}  e.g. {example}")
    if not values:
        print("  all equal")
    a.assoc.release()
    b.assoc.release()


main()
