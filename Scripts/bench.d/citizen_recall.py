#!/usr/bin/env python3
"""Recall and precision of look-ups by citizen ID against gen_dataset.py's ground truth.

usage: citizen_recall.py BIN DATA_DIR MANIFEST [--json]

For every person of the manifest, runs `imaging-index find --citizen-id CCCD --json` (the same
index query C-FIND and QIDO use) and compares the StudyInstanceUIDs found with the person's
studies in the manifest. Also counts what a look-up by PatientID alone finds (what a server
that ignores OtherPatientIDsSequence returns) for comparison.
"""
import json
import subprocess
import sys


def main():
    binary, data, manifest_path = sys.argv[1:4]
    manifest = json.load(open(manifest_path, encoding="utf-8"))
    truth = {}
    for st in manifest["studies"]:
        cccd = manifest["patients"][st["patient"]]["cccd"]
        truth.setdefault(cccd, set()).add(st["uid"])
    found_total = expected_total = correct_total = 0
    by_patient_id_total = 0
    perfect = 0
    for cccd, expected in sorted(truth.items()):
        out = subprocess.run([binary, "find", "--data-dir", data, "--citizen-id", cccd, "--json"],
                             capture_output=True, text=True, check=True).stdout
        found = {m["study"]["studyInstanceUID"] for m in json.loads(out)}
        plain = subprocess.run([binary, "find", "--data-dir", data, "--patient-id", cccd, "--json"],
                               capture_output=True, text=True, check=True).stdout
        by_patient_id_total += len({m["study"]["studyInstanceUID"] for m in json.loads(plain)} & expected)
        expected_total += len(expected)
        found_total += len(found)
        correct_total += len(found & expected)
        perfect += found == expected
    recall = correct_total / expected_total if expected_total else 0.0
    precision = correct_total / found_total if found_total else 1.0
    result = dict(persons=len(truth), studies=expected_total, found=found_total, correct=correct_total,
                  recall=recall, precision=precision, persons_exact=perfect,
                  recall_by_patient_id_only=by_patient_id_total / expected_total if expected_total else 0.0)
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        print("citizen-ID look-ups: %d persons, %d studies: recall %.4f, precision %.4f, persons exactly right %d/%d"
              % (len(truth), expected_total, recall, precision, perfect, len(truth)))
        print("for comparison, PatientID = citizen ID alone finds %.1f%% of the studies"
              % (100 * result["recall_by_patient_id_only"]))
    return 0 if recall == 1.0 and precision == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
