import Foundation
import Crypto
import DicomCore
import GRDB
import Synchronization

/// The append-only audit trail, in its own SQLite file (it must outlive an index rebuilt from
/// the files). Each record carries the SHA-256 of the previous record's hash and its own
/// canonical text, so an edited, removed or inserted row breaks the chain (`verify`). The code
/// has no update or delete path, and triggers refuse them in SQL as well.
public final class AuditLog: Sendable {
    let queue: DatabaseQueue
    /// Records waiting for the writer thread (`record`): written in batches, one transaction each.
    private let pending = Mutex<[AuditRecord]>([])
    private let writerStarted = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)

    public init(path: String) throws(AuditError) {
        do {
            var config = Configuration()
            config.busyMode = .timeout(30)
            config.prepareDatabase { db in
                // WAL + NORMAL: a record survives a killed process; the last ones may be lost with
                // power, which the chain then shows as a shorter, still valid, trail.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            queue = try DatabaseQueue(path: path, configuration: config)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1-audit") { db in
                try db.execute(sql: """
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY,
                        at REAL NOT NULL,
                        actor TEXT NOT NULL,
                        hospital TEXT,
                        via TEXT NOT NULL,
                        address TEXT,
                        action TEXT NOT NULL,
                        patients TEXT NOT NULL,
                        studies TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        results INTEGER NOT NULL,
                        override TEXT,
                        prev_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX audit_at ON audit(at);
                    CREATE INDEX audit_actor ON audit(actor);
                    CREATE TABLE audit_patient (audit_ref INTEGER NOT NULL, patient TEXT NOT NULL);
                    CREATE INDEX audit_patient_value ON audit_patient(patient);
                    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
                    """)
            }
            try migrator.migrate(queue)
        } catch {
            throw AuditError(.unavailable, "cannot open the audit trail at \(path)", underlying: error)
        }
    }

    static func hash(previous: String, _ record: AuditRecord) -> String {
        let digest = SHA256.hash(data: Data((previous + "\n" + record.canonical).utf8))
        return lowercaseHex(digest)
    }

    /// Appends a record now (its id is returned). Blocking: one short write transaction.
    @discardableResult
    public func append(_ record: AuditRecord) throws(AuditError) -> Int64 {
        try write([record])
    }

    /// How often the writer thread writes what has gathered, and how many queued records wake it
    /// early.
    static let writeInterval = DispatchTimeInterval.milliseconds(20)
    static let wakeAt = 256

    /// Queues a record for the writer thread, which writes what has gathered every 20 ms (or
    /// as soon as 256 wait) in one transaction: the hot paths (C-STORE, C-FIND, HTTP) do not wait
    /// for the audit file, and a busy server writes few, large transactions rather than one per
    /// record. Failures are logged by the caller's `onFailure`.
    public func record(_ record: AuditRecord, onFailure: @escaping @Sendable (AuditError) -> Void = { _ in }) {
        let queued = pending.withLock { queue -> Int in
            queue.append(record)
            return queue.count
        }
        if !writerStarted.exchange(true, ordering: .acquiringAndReleasing) {
            let thread = Thread { [self] in
                while true {
                    _ = wake.wait(timeout: .now() + Self.writeInterval)
                    do throws(AuditError) {
                        try flush()
                    } catch {
                        onFailure(error)
                    }
                }
            }
            thread.name = "audit-writer"
            thread.start()
        }
        if queued == Self.wakeAt { wake.signal() }
    }

    /// Writes every queued record now.
    public func flush() throws(AuditError) {
        let batch = pending.withLock { queued -> [AuditRecord] in
            defer { queued.removeAll() }
            return queued
        }
        if !batch.isEmpty { try write(batch) }
    }

    @discardableResult
    private func write(_ records: [AuditRecord]) throws(AuditError) -> Int64 {
        do {
            return try queue.write { db in
                var previous = try String.fetchOne(db.cachedStatement(sql: "SELECT hash FROM audit ORDER BY id DESC LIMIT 1")) ?? ""
                let encoder = JSONEncoder()
                var id: Int64 = 0
                for record in records {
                    let hash = Self.hash(previous: previous, record)
                    try db.cachedStatement(sql: """
                        INSERT INTO audit (at, actor, hospital, via, address, action, patients, studies, detail, outcome,
                                           results, override, prev_hash, hash)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """).execute(arguments: [
                            record.at.timeIntervalSince1970, record.actor, record.hospital, record.via, record.address,
                            record.action, String(decoding: try encoder.encode(record.patients), as: UTF8.self),
                            String(decoding: try encoder.encode(record.studies), as: UTF8.self),
                            record.detail, record.outcome, record.results, record.override, previous, hash])
                    id = db.lastInsertedRowID
                    for patient in Set(record.patients) {
                        try db.cachedStatement(sql: "INSERT INTO audit_patient (audit_ref, patient) VALUES (?, ?)")
                            .execute(arguments: [id, patient])
                    }
                    previous = hash
                }
                return id
            }
        } catch {
            throw AuditError(.unavailable, "cannot write the audit trail", underlying: error)
        }
    }

    /// Records, oldest first, filtered (nil: any).
    /// `overridesOnly`: the emergency overrides alone (the report for admins).
    public func records(since: Date? = nil, actor: String? = nil, patient: String? = nil, overridesOnly: Bool = false,
                        limit: Int = 10_000) throws(AuditError) -> [AuditRecord] {
        do {
            return try queue.read { db in
                var clauses: [String] = []
                var arguments: [(any DatabaseValueConvertible)?] = []
                if let since { clauses.append("a.at >= ?"); arguments.append(since.timeIntervalSince1970) }
                if let actor { clauses.append("a.actor = ?"); arguments.append(actor) }
                if overridesOnly { clauses.append("a.override IS NOT NULL AND a.override <> ''") }
                if let patient {
                    clauses.append("a.id IN (SELECT audit_ref FROM audit_patient WHERE patient = ?)")
                    arguments.append(patient)
                }
                arguments.append(limit)
                let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
                return try Row.fetchAll(db, sql: "SELECT * FROM audit a \(whereClause) ORDER BY a.id LIMIT ?",
                                        arguments: StatementArguments(arguments)).map(Self.decode)
            }
        } catch {
            throw AuditError(.unavailable, "cannot read the audit trail", underlying: error)
        }
    }

    public struct Verification: Sendable, Hashable, Codable {
        public var records: Int
        /// The first record whose hash or link does not match (nil: the chain is intact).
        public var firstBrokenID: Int64?
        public var intact: Bool { firstBrokenID == nil }
    }

    /// Recomputes the chain from the first record.
    public func verify() throws(AuditError) -> Verification {
        do {
            return try queue.read { db in
                var previous = ""
                var count = 0
                let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY id")
                while let row = try cursor.next() {
                    count += 1
                    let record = Self.decode(row)
                    let stored: String = row["hash"]
                    let link: String = row["prev_hash"]
                    if link != previous || Self.hash(previous: previous, record) != stored {
                        return Verification(records: count, firstBrokenID: record.id)
                    }
                    previous = stored
                }
                return Verification(records: count, firstBrokenID: nil)
            }
        } catch {
            throw AuditError(.unavailable, "cannot read the audit trail", underlying: error)
        }
    }

    static func decode(_ row: Row) -> AuditRecord {
        let decoder = JSONDecoder()
        func list(_ text: String) -> [String] { (try? decoder.decode([String].self, from: Data(text.utf8))) ?? [] }
        return AuditRecord(id: row["id"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], hospital: row["hospital"],
                           via: row["via"], address: row["address"], action: row["action"], patients: list(row["patients"]),
                           studies: list(row["studies"]), detail: row["detail"], outcome: row["outcome"],
                           results: row["results"], override: row["override"])
    }
}
