import GRDB

extension SQLiteIndexStore {
    /// Named migrations, applied in order; never edit one that has shipped, add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1-initial-schema") { db in
            try db.execute(sql: """
                CREATE TABLE patient (
                    id INTEGER PRIMARY KEY,
                    patient_id TEXT NOT NULL,
                    issuer TEXT NOT NULL DEFAULT '',
                    name TEXT, name_ci TEXT, name_fold TEXT,
                    birth_date TEXT, sex TEXT,
                    other_ids TEXT,
                    policy TEXT NOT NULL,
                    source_time REAL NOT NULL DEFAULT 0,
                    source_sop TEXT NOT NULL DEFAULT '',
                    UNIQUE (patient_id, issuer)
                );
                CREATE INDEX patient_name ON patient(name);
                CREATE INDEX patient_name_ci ON patient(name_ci);
                CREATE INDEX patient_name_fold ON patient(name_fold);
                CREATE INDEX patient_birth_date ON patient(birth_date);
                CREATE INDEX patient_sex ON patient(sex);
                CREATE INDEX patient_issuer ON patient(issuer);

                CREATE TABLE patient_other_id (
                    patient_ref INTEGER NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
                    other_id TEXT NOT NULL,
                    issuer TEXT NOT NULL DEFAULT '',
                    type TEXT,
                    PRIMARY KEY (patient_ref, other_id, issuer)
                );
                CREATE INDEX patient_other_id_value ON patient_other_id(other_id, issuer);

                CREATE TABLE study (
                    id INTEGER PRIMARY KEY,
                    patient_ref INTEGER NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
                    study_uid TEXT NOT NULL UNIQUE,
                    study_date TEXT, study_time TEXT, study_time_key TEXT,
                    accession TEXT, accession_issuer TEXT, study_id TEXT, description TEXT,
                    referring TEXT, referring_ci TEXT, referring_fold TEXT,
                    institution TEXT, source_ae TEXT,
                    modalities TEXT,
                    num_series INTEGER NOT NULL DEFAULT 0,
                    num_instances INTEGER NOT NULL DEFAULT 0,
                    policy TEXT NOT NULL,
                    source_time REAL NOT NULL DEFAULT 0,
                    source_sop TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX study_patient ON study(patient_ref);
                CREATE INDEX study_date ON study(study_date);
                CREATE INDEX study_time_key ON study(study_time_key);
                CREATE INDEX study_accession ON study(accession);
                CREATE INDEX study_study_id ON study(study_id);
                CREATE INDEX study_description ON study(description);
                CREATE INDEX study_referring ON study(referring);
                CREATE INDEX study_referring_ci ON study(referring_ci);
                CREATE INDEX study_referring_fold ON study(referring_fold);
                CREATE INDEX study_institution ON study(institution);
                CREATE INDEX study_source_ae ON study(source_ae);

                CREATE TABLE series (
                    id INTEGER PRIMARY KEY,
                    study_ref INTEGER NOT NULL REFERENCES study(id) ON DELETE CASCADE,
                    series_uid TEXT NOT NULL UNIQUE,
                    modality TEXT, series_number INTEGER, description TEXT, body_part TEXT,
                    series_date TEXT, series_time TEXT, series_time_key TEXT,
                    num_instances INTEGER NOT NULL DEFAULT 0,
                    policy TEXT NOT NULL,
                    source_time REAL NOT NULL DEFAULT 0,
                    source_sop TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX series_study ON series(study_ref);
                CREATE INDEX series_modality ON series(modality);
                CREATE INDEX series_number ON series(series_number);
                CREATE INDEX series_description ON series(description);
                CREATE INDEX series_body_part ON series(body_part);
                CREATE INDEX series_date ON series(series_date);
                CREATE INDEX series_time_key ON series(series_time_key);

                CREATE TABLE instance (
                    id INTEGER PRIMARY KEY,
                    series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
                    sop_uid TEXT NOT NULL UNIQUE,
                    sop_class_uid TEXT NOT NULL,
                    instance_number INTEGER,
                    transfer_syntax TEXT NOT NULL,
                    rows INTEGER, columns INTEGER, frames INTEGER, photometric TEXT,
                    file_size INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    source_ae TEXT,
                    origin TEXT NOT NULL,
                    policy TEXT NOT NULL
                );
                CREATE INDEX instance_series ON instance(series_ref);
                CREATE INDEX instance_sop_class ON instance(sop_class_uid);
                CREATE INDEX instance_number ON instance(instance_number);
                CREATE INDEX instance_transfer_syntax ON instance(transfer_syntax);
                CREATE INDEX instance_photometric ON instance(photometric);
                CREATE INDEX instance_policy ON instance(policy);
                """)
        }

        migrator.registerMigration("v2-extra-tags-and-jobs") { db in
            try db.execute(sql: """
                CREATE TABLE instance_extra (
                    instance_ref INTEGER NOT NULL REFERENCES instance(id) ON DELETE CASCADE,
                    tag TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (instance_ref, tag)
                );
                CREATE INDEX instance_extra_value ON instance_extra(tag, value);

                CREATE INDEX instance_path ON instance(path);

                CREATE TABLE job_state (
                    name TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                """)
        }

        // Person (citizen ID) <-> local patient records, kept apart from the patient rows (which
        // come and go with their studies): keyed by (PatientID, issuer), never by row id.
        migrator.registerMigration("v3-citizen-links") { db in
            try db.execute(sql: """
                CREATE TABLE patient_link (
                    patient_id TEXT NOT NULL,
                    issuer TEXT NOT NULL,
                    citizen_id TEXT,
                    state TEXT NOT NULL CHECK (state IN ('linked', 'unlinked')),
                    origin TEXT NOT NULL,
                    source TEXT,
                    warnings TEXT NOT NULL DEFAULT '',
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (patient_id, issuer)
                ) WITHOUT ROWID;
                CREATE INDEX patient_link_citizen ON patient_link(citizen_id, state);

                CREATE TABLE link_event (
                    id INTEGER PRIMARY KEY,
                    at REAL NOT NULL,
                    patient_id TEXT NOT NULL,
                    issuer TEXT NOT NULL,
                    citizen_id TEXT,
                    action TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL
                );
                CREATE INDEX link_event_patient ON link_event(patient_id, issuer);
                CREATE INDEX link_event_citizen ON link_event(citizen_id);

                CREATE TABLE link_conflict (
                    id INTEGER PRIMARY KEY,
                    at REAL NOT NULL,
                    patient_id TEXT NOT NULL,
                    issuer TEXT NOT NULL,
                    citizen_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    resolved_at REAL,
                    resolved_by TEXT,
                    resolution TEXT,
                    UNIQUE (patient_id, issuer, citizen_id, kind)
                );
                CREATE INDEX link_conflict_open ON link_conflict(resolved_at);
                """)
        }
        // The sharing consent (issue 7): the hospital that sent each study, and per-citizen
        // opt-outs with their history (apart from the patient rows: they survive reindexing).
        migrator.registerMigration("v4-sharing-consent") { db in
            try db.execute(sql: """
                ALTER TABLE study ADD COLUMN hospital TEXT NOT NULL DEFAULT '';
                CREATE INDEX study_hospital ON study(hospital);

                CREATE TABLE sharing_consent (
                    citizen_id TEXT PRIMARY KEY,
                    opted_out INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    updated_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX sharing_consent_opted_out ON sharing_consent(opted_out);

                CREATE TABLE sharing_consent_event (
                    id INTEGER PRIMARY KEY,
                    citizen_id TEXT NOT NULL,
                    opted_out INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at REAL NOT NULL
                );
                CREATE INDEX sharing_consent_event_citizen ON sharing_consent_event(citizen_id);
                """)
        }
        // Every index of the instance table costs a B-tree page written (to the WAL, then the
        // database) per stored instance. These four served only filters that C-FIND and QIDO
        // apply within a series (whose instances `instance_series` finds) or rare whole-index
        // scans; they are dropped to spare the C-STORE commit.
        migrator.registerMigration("v5-fewer-instance-indexes") { db in
            try db.execute(sql: """
                DROP INDEX IF EXISTS instance_sop_class;
                DROP INDEX IF EXISTS instance_number;
                DROP INDEX IF EXISTS instance_transfer_syntax;
                DROP INDEX IF EXISTS instance_photometric;
                """)
        }
        // Hospitals spell one person's name their own way ("Lê^Xuân Nam", "LE^XUAN NAM"), and the
        // patient row keeps only the newest. Every spelling its instances carried is kept here, so
        // that a name query finds the patient under any of them.
        migrator.registerMigration("v6-patient-name-spellings") { db in
            try db.execute(sql: """
                CREATE TABLE patient_spelling (
                    patient_ref INTEGER NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    name_ci TEXT NOT NULL,
                    name_fold TEXT NOT NULL,
                    PRIMARY KEY (patient_ref, name)
                ) WITHOUT ROWID;
                CREATE INDEX patient_spelling_name ON patient_spelling(name);
                CREATE INDEX patient_spelling_name_ci ON patient_spelling(name_ci);
                CREATE INDEX patient_spelling_name_fold ON patient_spelling(name_fold);
                INSERT INTO patient_spelling (patient_ref, name, name_ci, name_fold)
                    SELECT id, name, COALESCE(name_ci, name), COALESCE(name_fold, name) FROM patient
                    WHERE name IS NOT NULL AND name <> '';
                """)
        }
        // Manufacturer and StationName, series attributes viewers list (answered empty before).
        // Series stored earlier get them at their next instance or a reindex.
        migrator.registerMigration("v7-series-equipment") { db in
            try db.execute(sql: """
                ALTER TABLE series ADD COLUMN manufacturer TEXT;
                ALTER TABLE series ADD COLUMN station_name TEXT;
                """)
        }
        // PatientName is also found by each of its component groups (alphabetic, ideographic,
        // phonetic): the names kept with several get their groups as spellings.
        migrator.registerMigration("v8-name-component-groups") { db in
            let names = try Row.fetchAll(db, sql: "SELECT patient_ref, name FROM patient_spelling WHERE name LIKE '%=%'")
            for row in names {
                try SQLiteIndexStore.addSpellings(of: row["name"], patientRef: row["patient_ref"], db: db)
            }
        }
        // PatientAge, PatientSize, PatientWeight (Patient Study module, study level), which viewers
        // ask for with a study (answered empty before). Studies stored earlier get them at their
        // next instance or a reindex.
        migrator.registerMigration("v9-patient-study") { db in
            try db.execute(sql: """
                ALTER TABLE study ADD COLUMN patient_age TEXT;
                ALTER TABLE study ADD COLUMN patient_size TEXT;
                ALTER TABLE study ADD COLUMN patient_weight TEXT;
                """)
        }
        return migrator
    }
}
