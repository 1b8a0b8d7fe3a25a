import Foundation
import GRDB
import DicomCore
import DicomIndex
import PatientIdentity

extension SQLiteIndexStore {
    // MARK: Automatic links, in the instance's own transaction

    /// Applies the link rules to the citizen ID an instance brought for its local patient.
    static func applyCitizenLink(_ item: InstanceWrite, db: Database) throws {
        guard let extraction = item.citizen, extraction.citizenID != nil || !extraction.disagreeing.isEmpty else { return }
        let m = item.metadata
        let patientID = m.patient.patientID ?? ""
        let issuer = m.patient.issuerOfPatientID ?? ""
        let existing = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT citizen_id, state, origin FROM patient_link WHERE patient_id = ? AND issuer = ?
            """), arguments: [patientID, issuer]).map { row in
            ExistingLink(citizenID: row["citizen_id"], state: ExistingLink.State(rawValue: row["state"]) ?? .unlinked,
                         origin: row["origin"])
        }
        if let existing, existing.state == .linked, existing.citizenID == extraction.citizenID?.value,
           extraction.disagreeing.isEmpty {
            return // the common case: one select
        }
        var others: [Demographics] = []
        if let citizenID = extraction.citizenID?.value {
            others = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT p.name, p.birth_date, p.sex FROM patient_link l
                JOIN patient p ON p.patient_id = l.patient_id AND p.issuer = l.issuer
                WHERE l.citizen_id = ? AND l.state = 'linked' AND NOT (l.patient_id = ? AND l.issuer = ?)
                """), arguments: [citizenID, patientID, issuer]).map { row in
                Demographics(name: row["name"], birthDate: row["birth_date"], sex: row["sex"])
            }
        }
        let demographics = Demographics(name: m.patient.patientName, birthDate: m.patient.birthDate, sex: m.patient.sex)
        let decision = LinkPolicy.decide(extraction, existing: existing, patient: demographics, otherRecordsOfPerson: others)
        let now = item.receivedAt.timeIntervalSince1970
        let actor = "ingest:" + (item.sourceAETitle ?? item.origin)
        let source = "\(extraction.rule): \(extraction.location ?? "-")"
        switch decision {
        case .none, .unchanged, .keptUnlinked:
            return
        case .link(let warnings):
            let citizenID = extraction.citizenID!.value
            try db.cachedStatement(sql: """
                INSERT INTO patient_link (patient_id, issuer, citizen_id, state, origin, source, warnings, updated_at)
                VALUES (?, ?, ?, 'linked', 'auto', ?, ?, ?)
                ON CONFLICT (patient_id, issuer) DO UPDATE SET citizen_id = excluded.citizen_id, state = 'linked',
                    origin = 'auto', source = excluded.source, warnings = excluded.warnings, updated_at = excluded.updated_at
                """).execute(arguments: [patientID, issuer, citizenID, source, warnings.joined(separator: "; "), now])
            try recordEvent(db, at: now, patientID: patientID, issuer: issuer, citizenID: citizenID, action: "link",
                            actor: actor, reason: warnings.isEmpty ? source : source + "; " + warnings.joined(separator: "; "))
        case .review(let kind, let detail):
            let citizenID = extraction.citizenID?.value ?? extraction.disagreeing.joined(separator: "\\")
            try db.cachedStatement(sql: """
                INSERT INTO link_conflict (at, patient_id, issuer, citizen_id, kind, detail) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """).execute(arguments: [now, patientID, issuer, citizenID, kind.rawValue, detail])
            if db.changesCount > 0 {
                try recordEvent(db, at: now, patientID: patientID, issuer: issuer, citizenID: citizenID, action: "review",
                                actor: actor, reason: "\(kind.rawValue): \(detail)")
            }
        }
    }

    private static func recordEvent(_ db: Database, at: Double, patientID: String, issuer: String, citizenID: String?,
                                     action: String, actor: String, reason: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO link_event (at, patient_id, issuer, citizen_id, action, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [at, patientID, issuer, citizenID, action, actor, reason])
    }

    // MARK: PatientLinkStore

    public func patientLinks(citizenID: String) throws(IndexError) -> [PatientLink] {
        try read { db in
            try Self.links(db, where: "l.citizen_id = ? AND l.state = 'linked'", arguments: [citizenID])
        }
    }

    public func patientLink(patientID: String, issuer: String) throws(IndexError) -> PatientLink? {
        try read { db in
            try Self.links(db, where: "l.patient_id = ? AND l.issuer = ?", arguments: [patientID, issuer]).first
        }
    }

    public func setLink(patientID: String, issuer: String, citizenID: String?, actor: String,
                        reason: String) throws(IndexError) {
        try write { db in
            let now = Date().timeIntervalSince1970
            let previous = try Row.fetchOne(db, sql: "SELECT citizen_id, state FROM patient_link WHERE patient_id = ? AND issuer = ?",
                                            arguments: [patientID, issuer])
            let wasLinkedTo: String? = previous.flatMap { ($0["state"] as String) == "linked" ? $0["citizen_id"] : nil }
            let action: String
            if let citizenID {
                action = wasLinkedTo == nil ? "link" : (wasLinkedTo == citizenID ? "confirm" : "relink")
                try db.execute(sql: """
                    INSERT INTO patient_link (patient_id, issuer, citizen_id, state, origin, source, warnings, updated_at)
                    VALUES (?, ?, ?, 'linked', 'admin', ?, '', ?)
                    ON CONFLICT (patient_id, issuer) DO UPDATE SET citizen_id = excluded.citizen_id, state = 'linked',
                        origin = 'admin', source = excluded.source, warnings = '', updated_at = excluded.updated_at
                    """, arguments: [patientID, issuer, citizenID, reason, now])
            } else {
                action = "unlink"
                try db.execute(sql: """
                    INSERT INTO patient_link (patient_id, issuer, citizen_id, state, origin, source, warnings, updated_at)
                    VALUES (?, ?, ?, 'unlinked', 'admin', ?, '', ?)
                    ON CONFLICT (patient_id, issuer) DO UPDATE SET state = 'unlinked', origin = 'admin',
                        source = excluded.source, updated_at = excluded.updated_at
                    """, arguments: [patientID, issuer, wasLinkedTo, reason, now])
            }
            try Self.recordEvent(db, at: now, patientID: patientID, issuer: issuer, citizenID: citizenID ?? wasLinkedTo,
                                 action: action, actor: actor, reason: reason)
            try db.execute(sql: """
                UPDATE link_conflict SET resolved_at = ?, resolved_by = ?, resolution = ?
                WHERE patient_id = ? AND issuer = ? AND resolved_at IS NULL
                """, arguments: [now, actor, "\(action): \(reason)", patientID, issuer])
        }
    }

    public func linkConflicts(includeResolved: Bool) throws(IndexError) -> [LinkConflict] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM link_conflict \(includeResolved ? "" : "WHERE resolved_at IS NULL") ORDER BY id
                """).map { row in
                LinkConflict(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), patientID: row["patient_id"],
                             issuer: row["issuer"], citizenID: row["citizen_id"],
                             kind: LinkConflictKind(rawValue: row["kind"]) ?? .demographics, detail: row["detail"],
                             resolvedAt: (row["resolved_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                             resolvedBy: row["resolved_by"], resolution: row["resolution"])
            }
        }
    }

    public func resolveConflict(id: Int64, actor: String, resolution: String) throws(IndexError) {
        let changed = try write { db -> Int in
            try db.execute(sql: "UPDATE link_conflict SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL",
                           arguments: [Date().timeIntervalSince1970, actor, resolution, id])
            return db.changesCount
        }
        if changed == 0 { throw IndexError(.notFound, "no open review case \(id)") }
    }

    public func linkEvents(patientID: String?, issuer: String?, citizenID: String?) throws(IndexError) -> [LinkEvent] {
        try read { db in
            var clauses: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let patientID { clauses.append("patient_id = ?"); arguments.append(patientID) }
            if let issuer { clauses.append("issuer = ?"); arguments.append(issuer) }
            if let citizenID { clauses.append("citizen_id = ?"); arguments.append(citizenID) }
            let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT * FROM link_event \(whereClause) ORDER BY id",
                                    arguments: StatementArguments(arguments)).map { row in
                LinkEvent(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), patientID: row["patient_id"],
                          issuer: row["issuer"], citizenID: row["citizen_id"], action: row["action"], actor: row["actor"],
                          reason: row["reason"])
            }
        }
    }

    private static func links(_ db: Database, where clause: String,
                              arguments: [(any DatabaseValueConvertible)?]) throws -> [PatientLink] {
        try Row.fetchAll(db, sql: """
            SELECT l.*, p.id AS p_id, p.name AS p_name, p.birth_date AS p_birth_date, p.sex AS p_sex,
                   (SELECT count(*) FROM study WHERE patient_ref = p.id) AS p_studies,
                   (SELECT group_concat(institution, char(10)) FROM
                       (SELECT DISTINCT institution FROM study WHERE patient_ref = p.id AND institution IS NOT NULL
                        AND institution <> '' ORDER BY study_date DESC)) AS p_institutions
            FROM patient_link l LEFT JOIN patient p ON p.patient_id = l.patient_id AND p.issuer = l.issuer
            WHERE \(clause) ORDER BY l.patient_id, l.issuer
            """, arguments: StatementArguments(arguments)).map { row in
            let hasPatient = (row["p_id"] as Int64?) != nil
            let warnings = (row["warnings"] as String? ?? "").split(separator: ";").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
            return PatientLink(
                patientID: row["patient_id"], issuer: row["issuer"], citizenID: row["citizen_id"],
                state: ExistingLink.State(rawValue: row["state"]) ?? .unlinked, origin: row["origin"], source: row["source"],
                warnings: warnings, updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
                demographics: hasPatient ? Demographics(name: row["p_name"], birthDate: row["p_birth_date"], sex: row["p_sex"]) : nil,
                institutions: (row["p_institutions"] as String?)?.split(separator: "\n").map(String.init) ?? [],
                numberOfStudies: row["p_studies"] ?? 0)
        }
    }
}
