import Foundation
import GRDB
import DicomIndex

extension SQLiteIndexStore {
    public func setSharingConsent(citizenID: String, optedOut: Bool, actor: String, reason: String) throws(IndexError) {
        try write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO sharing_consent (citizen_id, opted_out, actor, reason, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (citizen_id) DO UPDATE SET opted_out = excluded.opted_out, actor = excluded.actor,
                    reason = excluded.reason, updated_at = excluded.updated_at
                """, arguments: [citizenID, optedOut, actor, reason, now])
            try db.execute(sql: """
                INSERT INTO sharing_consent_event (citizen_id, opted_out, actor, reason, at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [citizenID, optedOut, actor, reason, now])
        }
    }

    public func sharingConsent(citizenID: String) throws(IndexError) -> SharingConsent? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sharing_consent WHERE citizen_id = ?", arguments: [citizenID])
                .map { Self.consent($0, at: "updated_at") }
        }
    }

    public func optedOutCitizens() throws(IndexError) -> [SharingConsent] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sharing_consent WHERE opted_out = 1 ORDER BY citizen_id")
                .map { Self.consent($0, at: "updated_at") }
        }
    }

    public func sharingConsentHistory(citizenID: String) throws(IndexError) -> [SharingConsent] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sharing_consent_event WHERE citizen_id = ? ORDER BY id",
                             arguments: [citizenID]).map { Self.consent($0, at: "at") }
        }
    }

    private static func consent(_ row: Row, at column: String) -> SharingConsent {
        SharingConsent(citizenID: row["citizen_id"], optedOut: row["opted_out"], actor: row["actor"], reason: row["reason"],
                       updatedAt: Date(timeIntervalSince1970: row[column]))
    }

    /// Studies whose hospital is not known yet get the one configured for the AE title that sent
    /// them (indexes made before hospitals were recorded, or before a peer was configured).
    /// Returns how many studies were updated.
    public func assignHospitals(bySourceAETitle hospitals: [String: String]) throws(IndexError) -> Int {
        guard !hospitals.isEmpty else { return 0 }
        return try write { db in
            var changed = 0
            for (ae, hospital) in hospitals.sorted(by: { $0.key < $1.key }) where !hospital.isEmpty {
                try db.execute(sql: "UPDATE study SET hospital = ? WHERE hospital = '' AND source_ae = ?", arguments: [hospital, ae])
                changed += db.changesCount
            }
            return changed
        }
    }
}
