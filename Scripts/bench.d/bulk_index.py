#!/usr/bin/env python3
"""Fills an ImagingIndex SQLite index (made by `imaging-index import` on an empty folder, so that
the schema is the real one) with N synthetic instances, without files: for C-FIND at scale.
Names are ASCII here, so the folded and case-insensitive columns are simple lower-case forms.

usage: bulk_index.py INDEX.sqlite INSTANCES"""
import random
import sqlite3
import sys
import time

path, total = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261122)
FAMILY = ["NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "HUYNH", "PHAN", "VU", "VO", "DANG", "BUI", "DO", "HO", "NGO", "DUONG"]
MIDDLE = ["VAN", "THI", "DUC", "MINH", "NGOC", "HUU", "THANH", "QUOC"]
GIVEN = ["HUNG", "MAI", "ANH", "LAN", "DAT", "HUONG", "TUAN", "LINH", "NAM", "HA", "PHONG", "TRANG"]
MODALITIES = ["CT", "MR", "CR", "DX", "US"]
HOSPITALS = ["BACHMAI", "VIETDUC", "CHORAY", "TWHUE", "DANANG"]

per_series, series_per_study, studies_per_patient = 10, 2, 3
n_series = total // per_series
n_studies = n_series // series_per_study
n_patients = max(1, n_studies // studies_per_patient)

db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
t0 = time.time()
cur = db.cursor()
patients = []
for p in range(n_patients):
    name = f"{rng.choice(FAMILY)}^{rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    key = name.lower().replace("^", " ")
    pid = f"P{p:08d}"
    issuer = rng.choice(HOSPITALS)
    patients.append((pid, issuer, name, name.lower().replace("^", " "), key,
                     f"{rng.randint(1940, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}", rng.choice("MF"), "1"))
cur.executemany("INSERT INTO patient (patient_id, issuer, name, name_ci, name_fold, birth_date, sex, policy) VALUES (?,?,?,?,?,?,?,?)", patients)
cur.execute("INSERT INTO patient_spelling (patient_ref, name, name_ci, name_fold) SELECT id, name, name_ci, name_fold FROM patient")
studies = []
for s in range(n_studies):
    d = f"20{rng.randint(15, 25):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    studies.append((s % n_patients + 1, f"1.2.826.0.1.3680043.10.99.1.{s}", d, "101500", "101500.000000", f"A{s:09d}",
                    str(s), "STUDY", rng.choice(HOSPITALS), rng.choice(MODALITIES), series_per_study,
                    series_per_study * per_series, "1"))
cur.executemany("""INSERT INTO study (patient_ref, study_uid, study_date, study_time, study_time_key, accession, study_id,
                   description, institution, modalities, num_series, num_instances, policy)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", studies)
series = []
for se in range(n_series):
    st = se // series_per_study
    series.append((st + 1, f"1.2.826.0.1.3680043.10.99.2.{se}", studies[st][9], se % series_per_study + 1, per_series, "1"))
cur.executemany("INSERT INTO series (study_ref, series_uid, modality, series_number, num_instances, policy) VALUES (?,?,?,?,?,?)", series)
batch = []
for i in range(n_series * per_series):
    batch.append((i // per_series + 1, f"1.2.826.0.1.3680043.10.99.3.{i}", "1.2.840.10008.5.1.4.1.1.2", i % per_series + 1,
                  "1.2.840.10008.1.2.1", 10000, f"objects/none/{i}.dcm", "0", 0.0, "import", "1"))
    if len(batch) == 100000:
        cur.executemany("""INSERT INTO instance (series_ref, sop_uid, sop_class_uid, instance_number, transfer_syntax, file_size,
                           path, checksum, received_at, origin, policy) VALUES (?,?,?,?,?,?,?,?,?,?,?)""", batch)
        batch = []
if batch:
    cur.executemany("""INSERT INTO instance (series_ref, sop_uid, sop_class_uid, instance_number, transfer_syntax, file_size,
                       path, checksum, received_at, origin, policy) VALUES (?,?,?,?,?,?,?,?,?,?,?)""", batch)
db.commit()
db.execute("ANALYZE")
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
print(f"{n_patients} patients, {n_studies} studies, {n_series} series, {n_series * per_series} instances in {time.time() - t0:.1f} s")
