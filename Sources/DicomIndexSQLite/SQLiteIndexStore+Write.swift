import Foundation
import GRDB
import DicomCore
import DicomIndex

extension SQLiteIndexStore {
    public func commit(_ writes: [InstanceWrite]) throws(IndexError) -> [Result<InstanceWriteResult, IndexError>] {
        defer { checkpointer.noteCommit() }
        return try write { db in
            var results: [Result<InstanceWriteResult, IndexError>] = []
            var touched = Touched()
            for item in writes {
                do {
                    var outcome: InstanceWriteResult = .inserted(id: 0)
                    try db.inSavepoint {
                        outcome = try Self.apply(item, db: db, touched: &touched)
                        return .commit
                    }
                    results.append(.success(outcome))
                } catch {
                    results.append(.failure(IndexError(.rejected, "the index refused this instance", underlying: error)))
                }
            }
            try Self.refresh(touched, db: db)
            return results
        }
    }

    public func removeInstances(ids: [Int64]) throws(IndexError) -> Int {
        guard !ids.isEmpty else { return 0 }
        return try write { db in
            var touched = Touched()
            var removed = 0
            for chunk in ids.chunked(500) {
                let marks = Self.placeholders(chunk.count)
                let args = StatementArguments(chunk)
                for series in try Int64.fetchAll(db, sql: "SELECT DISTINCT series_ref FROM instance WHERE id IN (\(marks))",
                                                 arguments: args) {
                    touched.series.insert(series)
                }
                try db.execute(sql: "DELETE FROM instance WHERE id IN (\(marks))", arguments: args)
                removed += db.changesCount
            }
            try Self.addParents(of: &touched, db: db)
            try Self.refresh(touched, db: db)
            return removed
        }
    }

    /// Rows whose counts or existence may have changed in this transaction.
    struct Touched {
        var series = Set<Int64>()
        var studies = Set<Int64>()
        var patients = Set<Int64>()
    }

    private static func apply(_ item: InstanceWrite, db: Database, touched: inout Touched) throws -> InstanceWriteResult {
        let m = item.metadata
        let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, path, series_ref FROM instance WHERE sop_uid = ?"), arguments: [m.instance.sopInstanceUID])
        if let existing, case .insertIfAbsent = item.mode {
            return .alreadyPresent(id: existing["id"], path: existing["path"])
        }

        // Instances of one entity can disagree on its attributes (a corrected name resent, a
        // modality that fills a study level field per instance). The most recently received
        // instance decides (ties: the larger SOP Instance UID), whatever order rows are written in,
        // so that import, the network and reindex all give the same index.
        let sourceTime = item.receivedAt.timeIntervalSince1970

        // Patient, keyed by (PatientID, IssuerOfPatientID).
        let name = m.patient.patientName
        let patientKey: [(any DatabaseValueConvertible)?] = [m.patient.patientID ?? "", m.patient.issuerOfPatientID ?? ""]
        let birthDate = m.patient.birthDate.map { DicomDateTime.normalizedDate($0) ?? $0 }
        let patientRef = try Self.touchIfUnchanged(
            db, table: "patient", key: ["patient_id", "issuer"], keyValues: patientKey,
            columns: ["name", "birth_date", "sex", "policy"], values: [name, birthDate, m.patient.sex, item.policy],
            sourceTime: sourceTime, sourceSOP: m.instance.sopInstanceUID
        ) ?? Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO patient (patient_id, issuer, name, name_ci, name_fold, birth_date, sex, policy, source_time, source_sop)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (patient_id, issuer) DO UPDATE SET
                name = excluded.name, name_ci = excluded.name_ci, name_fold = excluded.name_fold,
                birth_date = excluded.birth_date, sex = excluded.sex, policy = excluded.policy,
                source_time = excluded.source_time, source_sop = excluded.source_sop
            WHERE \(Self.newerSource("patient"))
            RETURNING id
            """), arguments: [
                m.patient.patientID ?? "", m.patient.issuerOfPatientID ?? "",
                name, name.map(PersonName.matchKey), name.map(PersonName.foldedKey),
                birthDate, m.patient.sex, item.policy,
                sourceTime, m.instance.sopInstanceUID,
            ]) ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM patient WHERE patient_id = ? AND issuer = ?"), arguments: [m.patient.patientID ?? "", m.patient.issuerOfPatientID ?? ""])!
        if !m.patient.otherPatientIDs.isEmpty {
            for other in m.patient.otherPatientIDs {
                try db.cachedStatement(sql: """
                    INSERT INTO patient_other_id (patient_ref, other_id, issuer, type) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET type = excluded.type
                    """).execute(arguments: [patientRef, other.id, other.issuer ?? "", other.type])
            }
            let all = try Row.fetchAll(db.cachedStatement(sql: "SELECT other_id, issuer, type FROM patient_other_id WHERE patient_ref = ? ORDER BY rowid"), arguments: [patientRef]).map { row in
                InstanceMetadata.OtherPatientID(id: row["other_id"], issuer: (row["issuer"] as String?).flatMap { $0.isEmpty ? nil : $0 },
                                                type: row["type"])
            }
            let json = String(decoding: try JSONEncoder().encode(all), as: UTF8.self)
            try db.cachedStatement(sql: "UPDATE patient SET other_ids = ? WHERE id = ?").execute(arguments: [json, patientRef])
        }
        touched.patients.insert(patientRef)
        try Self.applyCitizenLink(item, db: db)

        // Study
        let referring = m.study.referringPhysicianName
        let studyDate = m.study.studyDate.map { DicomDateTime.normalizedDate($0) ?? $0 }
        // A parent that is not merely touched may move to another patient (study) or study
        // (series): its former one is refreshed, and pruned if left empty.
        let studyTouched = try Self.touchIfUnchanged(
            db, table: "study", key: ["study_uid"], keyValues: [m.study.studyInstanceUID],
            columns: ["patient_ref", "study_date", "study_time", "accession", "accession_issuer", "study_id",
                      "description", "referring", "institution", "source_ae", "policy"],
            values: [patientRef, studyDate, m.study.studyTime, m.study.accessionNumber, m.study.accessionNumberIssuer,
                     m.study.studyID, m.study.studyDescription, referring, m.study.institutionName, item.sourceAETitle,
                     item.policy],
            sourceTime: sourceTime, sourceSOP: m.instance.sopInstanceUID
        )
        if studyTouched == nil,
           let old = try Int64.fetchOne(db.cachedStatement(sql: "SELECT patient_ref FROM study WHERE study_uid = ?"), arguments: [m.study.studyInstanceUID]) {
            touched.patients.insert(old)
        }
        let studyRef = try studyTouched ?? Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO study (patient_ref, study_uid, study_date, study_time, study_time_key, accession, accession_issuer,
                               study_id, description, referring, referring_ci, referring_fold, institution, source_ae, policy,
                               source_time, source_sop, hospital)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (study_uid) DO UPDATE SET
                patient_ref = excluded.patient_ref, study_date = excluded.study_date, study_time = excluded.study_time,
                study_time_key = excluded.study_time_key, accession = excluded.accession,
                accession_issuer = excluded.accession_issuer, study_id = excluded.study_id,
                description = excluded.description, referring = excluded.referring, referring_ci = excluded.referring_ci,
                referring_fold = excluded.referring_fold, institution = excluded.institution,
                source_ae = excluded.source_ae, policy = excluded.policy,
                source_time = excluded.source_time, source_sop = excluded.source_sop,
                hospital = CASE WHEN study.hospital = '' THEN excluded.hospital ELSE study.hospital END
            WHERE \(Self.newerSource("study"))
            RETURNING id
            """), arguments: [
                patientRef, m.study.studyInstanceUID, studyDate,
                m.study.studyTime, m.study.studyTime.flatMap { DicomDateTime.normalizedTime($0) },
                m.study.accessionNumber, m.study.accessionNumberIssuer, m.study.studyID, m.study.studyDescription,
                referring, referring.map(PersonName.matchKey), referring.map(PersonName.foldedKey),
                m.study.institutionName, item.sourceAETitle, item.policy, sourceTime, m.instance.sopInstanceUID,
                item.hospital ?? "",
            ]) ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM study WHERE study_uid = ?"), arguments: [m.study.studyInstanceUID])!
        touched.studies.insert(studyRef)

        // Series
        let seriesNumber = m.series.seriesNumber.flatMap(Self.integer)
        let seriesDate = m.series.seriesDate.map { DicomDateTime.normalizedDate($0) ?? $0 }
        let seriesTouched = try Self.touchIfUnchanged(
            db, table: "series", key: ["series_uid"], keyValues: [m.series.seriesInstanceUID],
            columns: ["study_ref", "modality", "series_number", "description", "body_part", "series_date",
                      "series_time", "policy"],
            values: [studyRef, m.series.modality, seriesNumber, m.series.seriesDescription, m.series.bodyPartExamined,
                     seriesDate, m.series.seriesTime, item.policy],
            sourceTime: sourceTime, sourceSOP: m.instance.sopInstanceUID
        )
        if seriesTouched == nil,
           let old = try Int64.fetchOne(db.cachedStatement(sql: "SELECT study_ref FROM series WHERE series_uid = ?"), arguments: [m.series.seriesInstanceUID]) {
            touched.studies.insert(old)
        }
        let seriesRef = try seriesTouched ?? Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO series (study_ref, series_uid, modality, series_number, description, body_part,
                                series_date, series_time, series_time_key, policy, source_time, source_sop)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (series_uid) DO UPDATE SET
                study_ref = excluded.study_ref, modality = excluded.modality, series_number = excluded.series_number,
                description = excluded.description, body_part = excluded.body_part, series_date = excluded.series_date,
                series_time = excluded.series_time, series_time_key = excluded.series_time_key, policy = excluded.policy,
                source_time = excluded.source_time, source_sop = excluded.source_sop
            WHERE \(Self.newerSource("series"))
            RETURNING id
            """), arguments: [
                studyRef, m.series.seriesInstanceUID, m.series.modality, seriesNumber,
                m.series.seriesDescription, m.series.bodyPartExamined,
                seriesDate, m.series.seriesTime,
                m.series.seriesTime.flatMap { DicomDateTime.normalizedTime($0) }, item.policy, sourceTime,
                m.instance.sopInstanceUID,
            ]) ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM series WHERE series_uid = ?"), arguments: [m.series.seriesInstanceUID])!
        touched.series.insert(seriesRef)

        // Instance
        let values: [(any DatabaseValueConvertible)?] = [
            seriesRef, m.instance.sopInstanceUID, m.instance.sopClassUID, m.instance.instanceNumber.flatMap(Self.integer),
            m.instance.transferSyntaxUID, m.instance.rows, m.instance.columns, m.instance.numberOfFrames,
            m.instance.photometricInterpretation, item.fileSize, item.path, item.checksum,
            item.receivedAt.timeIntervalSince1970, item.sourceAETitle, item.origin, item.policy,
        ]
        let instanceRef: Int64
        let result: InstanceWriteResult
        if let existing {
            instanceRef = existing["id"]
            let oldSeries: Int64 = existing["series_ref"]
            touched.series.insert(oldSeries)
            try db.cachedStatement(sql: """
                UPDATE instance SET series_ref = ?, sop_uid = ?, sop_class_uid = ?, instance_number = ?, transfer_syntax = ?,
                    rows = ?, columns = ?, frames = ?, photometric = ?, file_size = ?, path = ?, checksum = ?,
                    received_at = ?, source_ae = ?, origin = ?, policy = ?
                WHERE id = ?
                """).execute(arguments: StatementArguments(values + [instanceRef]))
            try db.cachedStatement(sql: "DELETE FROM instance_extra WHERE instance_ref = ?").execute(arguments: [instanceRef])
            result = .updated(id: instanceRef)
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO instance (series_ref, sop_uid, sop_class_uid, instance_number, transfer_syntax, rows, columns,
                    frames, photometric, file_size, path, checksum, received_at, source_ae, origin, policy)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: StatementArguments(values))
            instanceRef = db.lastInsertedRowID
            result = .inserted(id: instanceRef)
        }
        for (tag, value) in m.extra.sorted(by: { $0.key < $1.key }) {
            try db.cachedStatement(sql: "INSERT INTO instance_extra (instance_ref, tag, value) VALUES (?, ?, ?)").execute(arguments: [instanceRef, tag, value])
        }
        return result
    }

    // Per-row statements, prepared once per connection: a commit touches a handful of rows, and
    // preparing an IN (...) list anew for every commit cost more than running it.
    private static func addParents(of touched: inout Touched, db: Database) throws {
        let studyOfSeries = try db.cachedStatement(sql: "SELECT study_ref FROM series WHERE id = ?")
        for series in touched.series {
            if let study = try Int64.fetchOne(studyOfSeries, arguments: [series]) { touched.studies.insert(study) }
        }
        let patientOfStudy = try db.cachedStatement(sql: "SELECT patient_ref FROM study WHERE id = ?")
        for study in touched.studies {
            if let patient = try Int64.fetchOne(patientOfStudy, arguments: [study]) { touched.patients.insert(patient) }
        }
    }

    /// Recomputes counts and ModalitiesInStudy of touched rows; deletes series, studies and
    /// patients left without children.
    private static func refresh(_ touched: Touched, db: Database) throws {
        var touched = touched
        try addParents(of: &touched, db: db)
        let countSeries = try db.cachedStatement(sql: """
            UPDATE series SET num_instances = (SELECT count(*) FROM instance WHERE series_ref = series.id)
            WHERE id = ?
            """)
        let pruneSeries = try db.cachedStatement(sql: "DELETE FROM series WHERE id = ? AND num_instances = 0")
        for series in touched.series {
            try countSeries.execute(arguments: [series])
            try pruneSeries.execute(arguments: [series])
        }
        let countStudy = try db.cachedStatement(sql: """
            UPDATE study SET
                num_series = (SELECT count(*) FROM series WHERE study_ref = study.id),
                num_instances = (SELECT COALESCE(sum(num_instances), 0) FROM series WHERE study_ref = study.id),
                modalities = (SELECT group_concat(modality, '\\') FROM
                                (SELECT DISTINCT modality FROM series
                                 WHERE study_ref = study.id AND modality IS NOT NULL AND modality <> ''
                                 ORDER BY modality))
            WHERE id = ?
            """)
        let pruneStudy = try db.cachedStatement(sql: "DELETE FROM study WHERE id = ? AND num_series = 0")
        for study in touched.studies {
            try countStudy.execute(arguments: [study])
            try pruneStudy.execute(arguments: [study])
        }
        let prunePatient = try db.cachedStatement(sql: """
            DELETE FROM patient WHERE id = ? AND NOT EXISTS (SELECT 1 FROM study WHERE patient_ref = patient.id)
            """)
        for patient in touched.patients {
            try prunePatient.execute(arguments: [patient])
        }
    }

    /// The common case of a parent row: it exists, the instance is newer than its source and
    /// brings the same values. Then only `source_time`/`source_sop` change, which no index
    /// covers, so the commit dirties one table page instead of every index of the row (SQLite
    /// rewrites the entries of each index whose columns are assigned, changed or not).
    /// Returns the row id, or nil when the full upsert has to run (new row, other values, or an
    /// older instance). Derived columns (name_ci, *_time_key, ...) follow the compared ones.
    private static func touchIfUnchanged(
        _ db: Database, table: String, key: [String], keyValues: [(any DatabaseValueConvertible)?],
        columns: [String], values: [(any DatabaseValueConvertible)?], sourceTime: Double, sourceSOP: String
    ) throws -> Int64? {
        let sql = "UPDATE \(table) SET source_time = ?, source_sop = ? WHERE "
            + (key + columns).map { "\($0) IS ?" }.joined(separator: " AND ")
            + " AND (? > source_time OR (? = source_time AND ? >= source_sop)) RETURNING id"
        let arguments: [(any DatabaseValueConvertible)?] = [sourceTime, sourceSOP] + keyValues + values
            + [sourceTime, sourceTime, sourceSOP]
        return try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments))
    }

    /// The ON CONFLICT guard: update an entity only from a newer source instance.
    static func newerSource(_ table: String) -> String {
        "(excluded.source_time > \(table).source_time OR (excluded.source_time = \(table).source_time AND excluded.source_sop >= \(table).source_sop))"
    }

    static func placeholders(_ n: Int) -> String {
        Array(repeating: "?", count: n).joined(separator: ",")
    }

    static func integer(_ text: String) -> Int? {
        Int(text.split(separator: "\\").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
