"""What the C-FIND latency scripts share: the query parameters drawn from an ImagingIndex index
(seeded, so that every server and every run gets the same queries) and the STUDY-level query."""
import random
import sqlite3

from pydicom.dataset import Dataset


def parameters(index, n):
    """n PatientIDs, n patient names and n study dates of the index, drawn with a fixed seed."""
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    rng = random.Random(7)
    pick = lambda rows: [rows[rng.randrange(len(rows))][0] for _ in range(n)]
    pids = pick(db.execute("SELECT patient_id FROM patient ORDER BY id").fetchall())
    names = pick(db.execute("SELECT name FROM patient WHERE name IS NOT NULL ORDER BY id").fetchall())
    dates = pick(db.execute("SELECT study_date FROM study WHERE study_date IS NOT NULL ORDER BY id").fetchall())
    db.close()
    return pids, names, dates


def date_range(d):
    """The 30-odd days from d (YYYYMMDD) to the same day of the next month."""
    y, m = int(d[:4]), int(d[4:6])
    return f"{d}-{y + (m == 12):04d}{m % 12 + 1:02d}{d[6:]}"


def study_query(**keys):
    """Study Root, STUDY level, with the usual return keys; `keys` are the matching keys."""
    q = Dataset()
    q.SpecificCharacterSet = "ISO_IR 192"
    q.QueryRetrieveLevel = "STUDY"
    q.StudyInstanceUID = ""
    q.PatientName = ""
    q.StudyDate = ""
    q.PatientID = ""
    for k, v in keys.items():
        setattr(q, k, v)
    return q


# The three kinds both scripts time: label, and the matching keys of query i.
def kinds(pids, names, dates):
    return [("study_by_patientid", lambda i: {"PatientID": pids[i]}),
            ("study_by_name_wildcard", lambda i: {"PatientName": names[i].split(" ")[0] + "*"}),
            ("study_by_date_range", lambda i: {"StudyDate": date_range(dates[i])})]
