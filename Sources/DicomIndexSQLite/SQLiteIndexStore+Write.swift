import Foundation
import GRDB
import DicomCore
import DicomIndex

extension SQLiteIndexStore {
    public func commit(_ writes: [InstanceWrite],
                       beforeCommit: (@Sendable ([Result<InstanceWriteResult, IndexError>]) -> Bool)?)
        throws(IndexError) -> [Result<InstanceWriteResult, IndexError>]? {
        defer { checkpointer.noteCommit() }
        do {
            return try commitOrRollBack(writes, beforeCommit: beforeCommit)
        } catch where error.underlying is RolledBack {
            return nil
        }
    }

    /// Thrown inside the transaction when `beforeCommit` declines it (rolls it back).
    private struct RolledBack: Error {}

    private func commitOrRollBack(_ writes: [InstanceWrite],
                                  beforeCommit: (@Sendable ([Result<InstanceWriteResult, IndexError>]) -> Bool)?)
        throws(IndexError) -> [Result<InstanceWriteResult, IndexError>] {
        try write { db in
            var results: [Result<InstanceWriteResult, IndexError>] = []
            var touched = Touched()
            // One savepoint per instance, its statements prepared once per connection (a batch
            // is often a single instance: preparing them anew cost more than running them).
            let savepoint = try db.cachedStatement(sql: "SAVEPOINT instance")
            let release = try db.cachedStatement(sql: "RELEASE SAVEPOINT instance")
            let undo = try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT instance")
            for item in writes {
                try savepoint.execute()
                do {
                    let outcome = try Self.apply(item, db: db, touched: &touched)
                    try release.execute()
                    results.append(.success(outcome))
                } catch {
                    try undo.execute()
                    try release.execute()
                    if let error = error as? IndexError {
                        results.append(.failure(error))
                    } else {
                        results.append(.failure(IndexError(.rejected, "the index refused this instance", underlying: error)))
                    }
                }
            }
            try Self.refresh(touched, db: db)
            if let beforeCommit, !beforeCommit(results) { throw RolledBack() }
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
        if let existing, item.mode == .insertIfAbsent {
            return .alreadyPresent(id: existing["id"], path: existing["path"])
        }
        // A new instance does not move its study or series to another parent; a replacement does.
        let isNew = item.mode == .insertIfAbsent || (item.mode == .replaceIfPresent && existing == nil)
        // A new instance in a series and study that stay where they are (the common case) adds one
        // to their instance counts in place; anything else has its parents recounted (`refresh`).
        let counted = existing == nil ? ["num_instances"] : []

        // Instances of one entity can disagree on its attributes (a corrected name resent, a
        // modality that fills a study level field per instance). The most recently received
        // instance decides (ties: the larger SOP Instance UID), whatever order rows are written in,
        // so that import, the network and reindex all give the same index.
        let sourceTime = item.receivedAt.timeIntervalSince1970

        // Patient, keyed by (PatientID, IssuerOfPatientID).
        let name = m.patient.patientName
        let birthDate = m.patient.birthDate.map { DicomDateTime.normalizedDate($0) ?? $0 }
        let patient = try Self.writeEntity(db, Entity(
            table: "patient", key: [("patient_id", m.patient.patientID ?? ""), ("issuer", m.patient.issuerOfPatientID ?? "")],
            columns: [("name", name), ("birth_date", birthDate), ("sex", m.patient.sex), ("policy", item.policy)],
            derived: ["name": { [("name_ci", name.map(PersonName.matchKey)), ("name_fold", name.map(PersonName.foldedKey))] }]),
            sourceTime: sourceTime, sourceSOP: m.instance.sopInstanceUID)
        let patientRef = patient.id
        if let name, !name.isEmpty, patient.inserted || patient.disagreeing.contains("name") {
            // Another spelling of the name (or the first): kept, whichever instance is newer.
            try Self.addSpellings(of: name, patientRef: patientRef, db: db)
        }
        if !m.patient.otherPatientIDs.isEmpty {
            for other in m.patient.otherPatientIDs {
                try db.cachedStatement(sql: """
                    INSERT INTO patient_other_id (patient_ref, other_id, issuer, type) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET type = excluded.type WHERE type IS NOT excluded.type
                    """).execute(arguments: [patientRef, other.id, other.issuer ?? "", other.type])
            }
            let all = try Row.fetchAll(db.cachedStatement(sql: "SELECT other_id, issuer, type FROM patient_other_id WHERE patient_ref = ? ORDER BY rowid"), arguments: [patientRef]).map { row in
                InstanceMetadata.OtherPatientID(id: row["other_id"], issuer: (row["issuer"] as String?).flatMap { $0.isEmpty ? nil : $0 },
                                                type: row["type"])
            }
            let json = String(decoding: try JSONEncoder().encode(all), as: UTF8.self)
            try db.cachedStatement(sql: "UPDATE patient SET other_ids = ? WHERE id = ? AND other_ids IS NOT ?")
                .execute(arguments: [json, patientRef, json])
        }
        try Self.applyCitizenLink(item, db: db)

        // Study. A parent row that moves (a study to another patient, a series to another study)
        // leaves its former one to be refreshed, and pruned if left empty.
        let referring = m.study.referringPhysicianName
        let studyDate = m.study.studyDate.map { DicomDateTime.normalizedDate($0) ?? $0 }
        let study = try Self.writeEntity(db, Entity(
            table: "study", key: [("study_uid", m.study.studyInstanceUID)],
            columns: [("patient_ref", patientRef), ("study_date", studyDate), ("study_time", m.study.studyTime),
                      ("accession", m.study.accessionNumber), ("accession_issuer", m.study.accessionNumberIssuer),
                      ("study_id", m.study.studyID), ("description", m.study.studyDescription), ("referring", referring),
                      ("institution", m.study.institutionName), ("source_ae", item.sourceAETitle), ("policy", item.policy),
                      ("patient_age", m.study.patientAge), ("patient_size", m.study.patientSize),
                      ("patient_weight", m.study.patientWeight)],
            derived: ["study_time": { [("study_time_key", m.study.studyTime.flatMap { DicomDateTime.normalizedTime($0) })] },
                      "referring": { [("referring_ci", referring.map(PersonName.matchKey)),
                                      ("referring_fold", referring.map(PersonName.foldedKey))] }],
            fillIfEmpty: [("hospital", item.hospital ?? "")], increment: counted),
            sourceTime: sourceTime, sourceSOP: m.instance.sopInstanceUID)
        let studyRef = study.id
        // A new instance does not take a study away from its patient (another hospital's study
        // under a reused Study Instance UID, a wrong worklist entry): refused, the savepoint undoes
        // this instance's rows. A replacement (the `replace` duplicate policy) and reindex do move
        // it: the newest copy of an instance decides, as for every other attribute.
        if isNew, study.disagreeing.contains("patient_ref") {
            throw IndexError(conflict: .studyOfAnotherPatient, "study \(m.study.studyInstanceUID) is held under another patient (PatientID or issuer differ)")
        }
        if study.inserted || study.former["patient_ref"] != nil { touched.studies.insert(studyRef) }
        if let formerPatient = study.former["patient_ref"].flatMap(Int64.fromDatabaseValue) {  // moved to another patient
            touched.patients.insert(formerPatient)
        }

        // Series
        let seriesTime = m.series.seriesTime
        let series = try Self.writeEntity(db, Entity(
            table: "series", key: [("series_uid", m.series.seriesInstanceUID)],
            columns: [("study_ref", studyRef), ("modality", m.series.modality),
                      ("series_number", m.series.seriesNumber.flatMap(Self.integer)), ("description", m.series.seriesDescription),
                      ("body_part", m.series.bodyPartExamined),
                      ("series_date", m.series.seriesDate.map { DicomDateTime.normalizedDate($0) ?? $0 }),
                      ("series_time", seriesTime), ("manufacturer", m.series.manufacturer),
                      ("station_name", m.series.stationName), ("policy", item.policy)],
            derived: ["series_time": { [("series_time_key", seriesTime.flatMap { DicomDateTime.normalizedTime($0) })] }],
            increment: counted),
            sourceTime: sourceTime, sourceSOP: m.instance.sopInstanceUID)
        let seriesRef = series.id
        if isNew, series.disagreeing.contains("study_ref") {
            throw IndexError(conflict: .seriesInAnotherStudy, "series \(m.series.seriesInstanceUID) is held in another study")
        }
        // A new series, or one whose modality or study changed: its study's series count or
        // modalities change.
        if series.inserted || series.former["modality"] != nil || series.former["study_ref"] != nil {
            touched.series.insert(seriesRef)
            touched.studies.insert(studyRef)
        }
        if let formerStudy = series.former["study_ref"].flatMap(Int64.fromDatabaseValue) {  // moved to another study
            touched.studies.insert(formerStudy)
        }

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
            touched.series.insert(seriesRef)
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

    /// Keeps `name` as a spelling its patient is found under, and each of its component groups
    /// when it has several (`Yamada^Tarou=山田^太郎=やまだ^たろう` is also found as `Yamada^Tarou`,
    /// `山田^太郎` or `やまだ*`).
    static func addSpellings(of name: String, patientRef: Int64, db: Database) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO patient_spelling (patient_ref, name, name_ci, name_fold) VALUES (?, ?, ?, ?)
            """)
        let person = PersonName(name)
        let groups = name.contains("=") ? [person.alphabetic, person.ideographic, person.phonetic] : []
        for spelling in [name] + groups where !spelling.isEmpty {
            try insert.execute(arguments: [patientRef, spelling, PersonName.matchKey(spelling), PersonName.foldedKey(spelling)])
        }
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

    /// A patient, study or series row as one instance describes it. `columns` are compared with
    /// the stored row; `derived` columns (match keys) are written along with their column, and
    /// computed only then (most instances change nothing); `fillIfEmpty` columns are set only
    /// while the stored value is empty.
    struct Entity {
        let table: String
        let key: [(String, (any DatabaseValueConvertible)?)]
        let columns: [(String, (any DatabaseValueConvertible)?)]
        var derived: [String: () -> [(String, (any DatabaseValueConvertible)?)]] = [:]
        var fillIfEmpty: [(String, String)] = []
        /// Count columns that go up by one when the row already exists (a new child).
        var increment: [String] = []
    }

    struct EntityWritten {
        let id: Int64
        let inserted: Bool
        /// The stored values of the compared columns this write changed.
        let former: [String: DatabaseValue]
        /// The compared columns whose stored value differs from this instance's, whether or not
        /// this instance was new enough to change them.
        var disagreeing: Set<String> = []
    }

    /// Inserts the entity's row, or brings the stored one up to date when this instance is newer
    /// than the one that last wrote it (the most recently received instance decides; ties: the
    /// larger SOP Instance UID), and adds one to its `increment` counts. Only the columns whose
    /// values differ are assigned: SQLite rewrites the entries of every index whose columns an
    /// UPDATE assigns, changed or not, and a study has a dozen indexes. One SELECT, then at most
    /// one INSERT or UPDATE.
    static func writeEntity(_ db: Database, _ entity: Entity, sourceTime: Double,
                            sourceSOP: String) throws -> EntityWritten {
        let names = entity.columns.map(\.0) + entity.fillIfEmpty.map(\.0)
        let select = "SELECT id, source_time, source_sop, \(names.joined(separator: ", ")) FROM \(entity.table) WHERE "
            + entity.key.map { "\($0.0) = ?" }.joined(separator: " AND ")
        let keyValues = StatementArguments(entity.key.map(\.1))
        guard let row = try Row.fetchOne(db.cachedStatement(sql: select), arguments: keyValues) else {
            var columns = entity.key + entity.columns
            for (name, _) in entity.columns { columns += entity.derived[name]?() ?? [] }
            columns += entity.fillIfEmpty.map { ($0.0, $0.1) }
            columns += [("source_time", sourceTime), ("source_sop", sourceSOP)]
            let insert = "INSERT INTO \(entity.table) (\(columns.map(\.0).joined(separator: ", "))) VALUES ("
                + placeholders(columns.count) + ") RETURNING id"
            let id = try Int64.fetchOne(db.cachedStatement(sql: insert), arguments: StatementArguments(columns.map(\.1)))
            guard let id else { throw IndexError(.rejected, "\(entity.table) row not inserted") }
            return EntityWritten(id: id, inserted: true, former: [:])
        }
        let id: Int64 = row[0]
        let storedTime: Double = row[1]
        let storedSOP: String = row[2]
        var assigned: [(String, (any DatabaseValueConvertible)?)] = []
        var former: [String: DatabaseValue] = [:]
        var disagreeing: Set<String> = []
        let newer = sourceTime > storedTime || (sourceTime == storedTime && sourceSOP >= storedSOP)
        if newer { assigned = [("source_time", sourceTime), ("source_sop", sourceSOP)] }
        // One pass: every differing column is noted; a newer instance also assigns it.
        for (index, (name, value)) in entity.columns.enumerated() {
            let stored: DatabaseValue = row[3 + index]
            guard stored != (value?.databaseValue ?? .null) else { continue }
            disagreeing.insert(name)
            guard newer else { continue }
            former[name] = stored
            assigned.append((name, value))
            assigned += entity.derived[name]?() ?? []
        }
        if newer {
            for (index, (name, value)) in entity.fillIfEmpty.enumerated()
            where !value.isEmpty && ((row[3 + entity.columns.count + index] as String?) ?? "").isEmpty {
                assigned.append((name, value))
            }
        }
        guard !assigned.isEmpty || !entity.increment.isEmpty else {
            return EntityWritten(id: id, inserted: false, former: former, disagreeing: disagreeing)
        }
        let update = "UPDATE \(entity.table) SET "
            + (assigned.map { "\($0.0) = ?" } + entity.increment.map { "\($0) = \($0) + 1" }).joined(separator: ", ")
            + " WHERE id = ?"
        try db.cachedStatement(sql: update).execute(arguments: StatementArguments(assigned.map(\.1) + [id]))
        return EntityWritten(id: id, inserted: false, former: former, disagreeing: disagreeing)
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
