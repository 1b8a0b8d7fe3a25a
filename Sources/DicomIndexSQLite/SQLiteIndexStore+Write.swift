import Foundation
import GRDB
import DicomCore
import DicomIndex

extension SQLiteIndexStore {
    public func commit(_ writes: [InstanceWrite]) throws(IndexError) -> [Result<InstanceWriteResult, IndexError>] {
        try write { db in
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

        // Parents an update may move this instance away from, so that empty ones get pruned.
        if let old = try Int64.fetchOne(db.cachedStatement(sql: "SELECT patient_ref FROM study WHERE study_uid = ?"), arguments: [m.study.studyInstanceUID]) {
            touched.patients.insert(old)
        }
        if let old = try Int64.fetchOne(db.cachedStatement(sql: "SELECT study_ref FROM series WHERE series_uid = ?"), arguments: [m.series.seriesInstanceUID]) {
            touched.studies.insert(old)
        }

        // Instances of one entity can disagree on its attributes (a corrected name resent, a
        // modality that fills a study level field per instance). The most recently received
        // instance decides (ties: the larger SOP Instance UID), whatever order rows are written in,
        // so that import, the network and reindex all give the same index.
        let sourceTime = item.receivedAt.timeIntervalSince1970

        // Patient, keyed by (PatientID, IssuerOfPatientID).
        let name = m.patient.patientName
        let patientRef = try Int64.fetchOne(db.cachedStatement(sql: """
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
                m.patient.birthDate.map { DicomDateTime.normalizedDate($0) ?? $0 }, m.patient.sex, item.policy,
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

        // Study
        let referring = m.study.referringPhysicianName
        let studyRef = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO study (patient_ref, study_uid, study_date, study_time, study_time_key, accession, accession_issuer,
                               study_id, description, referring, referring_ci, referring_fold, institution, source_ae, policy,
                               source_time, source_sop)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (study_uid) DO UPDATE SET
                patient_ref = excluded.patient_ref, study_date = excluded.study_date, study_time = excluded.study_time,
                study_time_key = excluded.study_time_key, accession = excluded.accession,
                accession_issuer = excluded.accession_issuer, study_id = excluded.study_id,
                description = excluded.description, referring = excluded.referring, referring_ci = excluded.referring_ci,
                referring_fold = excluded.referring_fold, institution = excluded.institution,
                source_ae = excluded.source_ae, policy = excluded.policy,
                source_time = excluded.source_time, source_sop = excluded.source_sop
            WHERE \(Self.newerSource("study"))
            RETURNING id
            """), arguments: [
                patientRef, m.study.studyInstanceUID, m.study.studyDate.map { DicomDateTime.normalizedDate($0) ?? $0 },
                m.study.studyTime, m.study.studyTime.flatMap { DicomDateTime.normalizedTime($0) },
                m.study.accessionNumber, m.study.accessionNumberIssuer, m.study.studyID, m.study.studyDescription,
                referring, referring.map(PersonName.matchKey), referring.map(PersonName.foldedKey),
                m.study.institutionName, item.sourceAETitle, item.policy, sourceTime, m.instance.sopInstanceUID,
            ]) ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM study WHERE study_uid = ?"), arguments: [m.study.studyInstanceUID])!
        touched.studies.insert(studyRef)

        // Series
        let seriesRef = try Int64.fetchOne(db.cachedStatement(sql: """
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
                studyRef, m.series.seriesInstanceUID, m.series.modality, m.series.seriesNumber.flatMap(Self.integer),
                m.series.seriesDescription, m.series.bodyPartExamined,
                m.series.seriesDate.map { DicomDateTime.normalizedDate($0) ?? $0 }, m.series.seriesTime,
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

    private static func addParents(of touched: inout Touched, db: Database) throws {
        for chunk in Array(touched.series).chunked(500) {
            for study in try Int64.fetchAll(db, sql: "SELECT DISTINCT study_ref FROM series WHERE id IN (\(placeholders(chunk.count)))",
                                            arguments: StatementArguments(chunk)) {
                touched.studies.insert(study)
            }
        }
        for chunk in Array(touched.studies).chunked(500) {
            for patient in try Int64.fetchAll(db, sql: "SELECT DISTINCT patient_ref FROM study WHERE id IN (\(placeholders(chunk.count)))",
                                              arguments: StatementArguments(chunk)) {
                touched.patients.insert(patient)
            }
        }
    }

    /// Recomputes counts and ModalitiesInStudy of touched rows; deletes series, studies and
    /// patients left without children.
    private static func refresh(_ touched: Touched, db: Database) throws {
        var touched = touched
        try addParents(of: &touched, db: db)
        for chunk in Array(touched.series).chunked(500) {
            let marks = placeholders(chunk.count)
            let args = StatementArguments(chunk)
            try db.execute(sql: """
                UPDATE series SET num_instances = (SELECT count(*) FROM instance WHERE series_ref = series.id)
                WHERE id IN (\(marks))
                """, arguments: args)
            try db.execute(sql: "DELETE FROM series WHERE id IN (\(marks)) AND num_instances = 0", arguments: args)
        }
        for chunk in Array(touched.studies).chunked(500) {
            let marks = placeholders(chunk.count)
            let args = StatementArguments(chunk)
            try db.execute(sql: """
                UPDATE study SET
                    num_series = (SELECT count(*) FROM series WHERE study_ref = study.id),
                    num_instances = (SELECT COALESCE(sum(num_instances), 0) FROM series WHERE study_ref = study.id),
                    modalities = (SELECT group_concat(modality, '\\') FROM
                                    (SELECT DISTINCT modality FROM series
                                     WHERE study_ref = study.id AND modality IS NOT NULL AND modality <> ''
                                     ORDER BY modality))
                WHERE id IN (\(marks))
                """, arguments: args)
            try db.execute(sql: "DELETE FROM study WHERE id IN (\(marks)) AND num_series = 0", arguments: args)
        }
        for chunk in Array(touched.patients).chunked(500) {
            try db.execute(sql: """
                DELETE FROM patient WHERE id IN (\(placeholders(chunk.count)))
                AND NOT EXISTS (SELECT 1 FROM study WHERE patient_ref = patient.id)
                """, arguments: StatementArguments(chunk))
        }
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
