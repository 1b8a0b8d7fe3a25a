import Foundation
import GRDB
import DicomCore
import DicomIndex

extension SQLiteIndexStore {
    public func query(_ query: IndexQuery) throws(IndexError) -> [QueryMatch] {
        let sql = try SQLQueryBuilder(query: query).select()
        let unrestricted = try Self.withoutRestriction(query).map { q throws(IndexError) in try SQLQueryBuilder(query: q).select() }
        return try read { db in
            let chosen = try Self.statement(sql, unrestricted: unrestricted, db: db)
            // Compiling the statement took a tenth of a 400-match C-FIND and most of one by
            // PatientID: the connection keeps it. Not a statement with a long IN list (one per
            // length), so that UID lists cannot fill the cache.
            let statement = chosen.arguments.count <= Self.cachedStatementArguments
                ? try db.cachedStatement(sql: chosen.text) : try db.makeStatement(sql: chosen.text)
            let columns = ColumnPositions(statement.columnNames)
            var matches: [QueryMatch] = []
            let rows = try Row.fetchCursor(statement, arguments: StatementArguments(chosen.arguments))
            while let row = try rows.next() {
                matches.append(Self.decodeMatch(NamedRow(row: row, columns: columns), level: query.level))
            }
            return matches
        }
    }

    /// Statements with at most this many arguments are kept by the connection.
    static let cachedStatementArguments = 16

    public func count(_ query: IndexQuery) throws(IndexError) -> Int {
        let sql = try SQLQueryBuilder(query: query).count()
        let unrestricted = try Self.withoutRestriction(query).map { q throws(IndexError) in try SQLQueryBuilder(query: q).count() }
        return try read { db in
            let chosen = try Self.statement(sql, unrestricted: unrestricted, db: db)
            return try Int.fetchOne(db, sql: chosen.text, arguments: StatementArguments(chosen.arguments)) ?? 0
        }
    }

    /// The query without its sharing restriction, when it has one.
    private static func withoutRestriction(_ query: IndexQuery) -> IndexQuery? {
        guard query.sharingRestriction != nil else { return nil }
        var open = query
        open.sharingRestriction = nil
        return open
    }

    /// While nobody has opted out, the restriction changes nothing: the plain statement is used
    /// (decided in the query's own read transaction).
    private static func statement(_ restricted: SQLQueryBuilder.Statement, unrestricted: SQLQueryBuilder.Statement?,
                                  db: Database) throws -> SQLQueryBuilder.Statement {
        guard let unrestricted else { return restricted }
        let anyOptOut = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM sharing_consent WHERE opted_out = 1)")) ?? true
        return anyOptOut ? restricted : unrestricted
    }

    public func sopClasses(inStudy studyInstanceUID: String) throws(IndexError) -> [String] {
        try read { db in
            try String.fetchAll(db, sql: """
                SELECT DISTINCT i.sop_class_uid FROM study s JOIN series se ON se.study_ref = s.id
                JOIN instance i ON i.series_ref = se.id WHERE s.study_uid = ? ORDER BY 1
                """, arguments: [studyInstanceUID])
        }
    }

    public func instance(sopInstanceUID: String) throws(IndexError) -> InstanceRecord? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(SQLQueryBuilder.instanceColumns) FROM instance i WHERE i.sop_uid = ?",
                                             arguments: [sopInstanceUID]) else { return nil }
            var record = Self.decodeInstance(NamedRow(row))
            record.extra = try Self.extras(of: record.id, db: db)
            return record
        }
    }

    public func containsInstance(sopInstanceUID: String) throws(IndexError) -> Bool {
        try readStatement { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM instance WHERE sop_uid = ?)"),
                              arguments: [sopInstanceUID]) ?? false
        }
    }

    public func instanceFiles(inSeries seriesInstanceUID: String) throws(IndexError) -> [SeriesInstanceFile] {
        try read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT i.sop_uid, i.path, i.instance_number FROM series se JOIN instance i ON i.series_ref = se.id
                WHERE se.series_uid = ? ORDER BY i.id
                """)
            var files: [SeriesInstanceFile] = []
            let rows = try Row.fetchCursor(statement, arguments: [seriesInstanceUID])
            while let row = try rows.next() {
                files.append(SeriesInstanceFile(sopInstanceUID: row[0], path: row[1], instanceNumber: row[2]))
            }
            return files
        }
    }

    public func instanceLocations(afterID: Int64, limit: Int) throws(IndexError) -> [InstanceLocation] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, sop_uid, path, policy FROM instance WHERE id > ? ORDER BY id LIMIT ?",
                             arguments: [afterID, limit]).map {
                InstanceLocation(id: $0["id"], sopInstanceUID: $0["sop_uid"], path: $0["path"], policy: $0["policy"])
            }
        }
    }

    public func instanceLocations(pathPrefix: String) throws(IndexError) -> [InstanceLocation] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, sop_uid, path, policy FROM instance WHERE path >= ? AND path < ? ORDER BY path",
                             arguments: [pathPrefix, pathPrefix + "\u{10FFFF}"]).map {
                InstanceLocation(id: $0["id"], sopInstanceUID: $0["sop_uid"], path: $0["path"], policy: $0["policy"])
            }
        }
    }

    public func statistics(currentPolicy: String) throws(IndexError) -> IndexStatistics {
        try read { db in
            let totals = try Row.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM patient) AS patients, (SELECT count(*) FROM study) AS studies,
                       (SELECT count(*) FROM series) AS series, (SELECT count(*) FROM instance) AS instances,
                       (SELECT COALESCE(sum(file_size), 0) FROM instance) AS bytes,
                       (SELECT count(*) FROM instance WHERE policy <> ?) AS stale
                """, arguments: [currentPolicy])!
            func buckets(_ key: String, order: String = "instances DESC, k") throws -> [IndexStatistics.Bucket] {
                try Row.fetchAll(db, sql: """
                    SELECT \(key) AS k, count(DISTINCT s.id) AS studies, count(DISTINCT se.id) AS series,
                           count(i.id) AS instances, COALESCE(sum(i.file_size), 0) AS bytes
                    FROM study s JOIN series se ON se.study_ref = s.id JOIN instance i ON i.series_ref = se.id
                    GROUP BY k ORDER BY \(order)
                    """).map {
                    IndexStatistics.Bucket(key: $0["k"], studies: $0["studies"], series: $0["series"],
                                           instances: $0["instances"], bytes: $0["bytes"])
                }
            }
            return IndexStatistics(
                patients: totals["patients"], studies: totals["studies"], series: totals["series"],
                instances: totals["instances"], bytes: totals["bytes"],
                byModality: try buckets("COALESCE(NULLIF(se.modality, ''), '(none)')"),
                byHospital: try buckets("COALESCE(NULLIF(s.institution, ''), NULLIF(s.source_ae, ''), '(unknown)')"),
                byDay: Array(try buckets("date(i.received_at, 'unixepoch')", order: "k DESC").prefix(31)),
                staleInstances: totals["stale"])
        }
    }

    // MARK: decoding

    static func extras(of instance: Int64, db: Database) throws -> [String: String] {
        var extra: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT tag, value FROM instance_extra WHERE instance_ref = ?", arguments: [instance]) {
            extra[row["tag"]] = row["value"]
        }
        return extra
    }

    static func decodeMatch(_ row: NamedRow, level: QueryLevel) -> QueryMatch {
        var match = QueryMatch(patient: decodePatient(row))
        if level >= .study { match.study = decodeStudy(row) }
        if level >= .series { match.series = decodeSeries(row) }
        if level >= .instance { match.instance = decodeInstance(row) }
        return match
    }

    static func decodePatient(_ row: NamedRow) -> PatientRecord {
        var others: [InstanceMetadata.OtherPatientID] = []
        if let json: String = row["p_other_ids"], let decoded = try? JSONDecoder().decode(
            [InstanceMetadata.OtherPatientID].self, from: Data(json.utf8)) {
            others = decoded
        }
        return PatientRecord(id: row["p_id"], patientID: row["p_patient_id"], issuerOfPatientID: PatientRecord.publicIssuer(row["p_issuer"]),
                             patientName: row["p_name"], birthDate: row["p_birth_date"], sex: row["p_sex"],
                             otherPatientIDs: others, numberOfStudies: row["p_nstudies"], numberOfSeries: row["p_nseries"],
                             numberOfInstances: row["p_ninstances"])
    }

    static func decodeStudy(_ row: NamedRow) -> StudyRecord {
        let modalities: String? = row["s_modalities"]
        return StudyRecord(id: row["s_id"], studyInstanceUID: row["s_study_uid"], studyDate: row["s_study_date"],
                           studyTime: row["s_study_time"], accessionNumber: row["s_accession"],
                           accessionNumberIssuer: row["s_accession_issuer"], studyID: row["s_study_id"],
                           studyDescription: row["s_description"], referringPhysicianName: row["s_referring"],
                           institutionName: row["s_institution"], sourceAETitle: row["s_source_ae"],
                           modalitiesInStudy: modalities.map { $0.split(separator: "\\").map(String.init) } ?? [],
                           numberOfSeries: row["s_num_series"], numberOfInstances: row["s_num_instances"],
                           hospital: (row["s_hospital"] as String?).flatMap { $0.isEmpty ? nil : $0 },
                           patientAge: row["s_patient_age"], patientSize: row["s_patient_size"],
                           patientWeight: row["s_patient_weight"])
    }

    static func decodeSeries(_ row: NamedRow) -> SeriesRecord {
        SeriesRecord(id: row["se_id"], seriesInstanceUID: row["se_series_uid"], modality: row["se_modality"],
                     seriesNumber: row["se_series_number"], seriesDescription: row["se_description"],
                     bodyPartExamined: row["se_body_part"], seriesDate: row["se_series_date"],
                     seriesTime: row["se_series_time"], manufacturer: row["se_manufacturer"],
                     stationName: row["se_station_name"], numberOfInstances: row["se_num_instances"])
    }

    static func decodeInstance(_ row: NamedRow) -> InstanceRecord {
        InstanceRecord(id: row["i_id"], sopInstanceUID: row["i_sop_uid"], sopClassUID: row["i_sop_class_uid"],
                       instanceNumber: row["i_instance_number"], transferSyntaxUID: row["i_transfer_syntax"],
                       rows: row["i_rows"], columns: row["i_columns"], numberOfFrames: row["i_frames"],
                       photometricInterpretation: row["i_photometric"], fileSize: row["i_file_size"], path: row["i_path"],
                       checksum: row["i_checksum"], receivedAt: Date(timeIntervalSince1970: row["i_received_at"]),
                       sourceAETitle: row["i_source_ae"], origin: row["i_origin"], policy: row["i_policy"])
    }
}

/// Where each named column of a statement's result is, found once per statement: GRDB's look-up by
/// name folds the name's case on every call, which was the largest cost of decoding many matches.
struct ColumnPositions {
    fileprivate let positions: [String: Int]

    init(_ names: [String]) {
        positions = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A row read by column name through `ColumnPositions` (the names are the SELECT's own, exactly).
struct NamedRow {
    let row: Row
    let columns: ColumnPositions

    init(row: Row, columns: ColumnPositions) {
        self.row = row
        self.columns = columns
    }

    init(_ row: Row) {
        self.init(row: row, columns: ColumnPositions(Array(row.columnNames)))
    }

    private func position(_ name: String) -> Int {
        guard let index = columns.positions[name] else { fatalError("no column \(name) in the query's result") }
        return index
    }

    // One subscript per concrete type: a generic one (Value = String?) instantiated Optional's
    // metadata at run time on every column of every row. An optional reads NULL as nil.
    subscript(_ name: String) -> String { row[position(name)] }
    subscript(_ name: String) -> String? { row[position(name)] }
    subscript(_ name: String) -> Int { row[position(name)] }
    subscript(_ name: String) -> Int? { row[position(name)] }
    subscript(_ name: String) -> Int64 { row[position(name)] }
    subscript(_ name: String) -> Double { row[position(name)] }
}
