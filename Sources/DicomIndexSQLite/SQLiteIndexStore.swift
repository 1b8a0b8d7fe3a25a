import Foundation
import GRDB
import DicomIndex

/// The embedded index: SQLite in WAL mode through GRDB's `DatabasePool` (one writer, many
/// concurrent readers), `synchronous = FULL` so that a commit is durable when it returns.
public final class SQLiteIndexStore: IndexStore {
    let pool: DatabasePool
    public let path: String
    let checkpointer: WALCheckpointer

    /// Opens (creating if needed) and migrates the database at `path`.
    public convenience init(path: String) throws(IndexError) {
        try self.init(path: path, migrateUpTo: nil)
    }

    /// `migrateUpTo` stops after the named migration (tests of upgrades from older databases).
    init(path: String, migrateUpTo: String?) throws(IndexError) {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Statement journals (every savepoint and multi-row UPDATE in a write transaction)
            // and sort/temp tables stay in memory. On disk, SQLite creates and unlinks a file in
            // /var/tmp for each commit; ext4 then has to skip every recently deleted inode of
            // that folder on the next create, which cost ~0.6 ms of kernel time per stored instance.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // Pages are read through a memory map rather than copied in by pread() into each
            // connection's own 2 MB cache: a C-FIND of 400 studies at 1,000,000 instances took
            // 4.9 ms in the index, 3.2 ms this way (64 MB caches: 4.0 ms, and 64 MB per connection).
            // The map is address space, not memory: the pages are the kernel's file cache. (A disk
            // read error under the map is a SIGBUS instead of an error; SQLite writes never use it.)
            try db.execute(sql: "PRAGMA mmap_size = \(Self.mappedBytes)")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB's WAL set-up runs after `prepareDatabase` on the writer and sets NORMAL, with
            // which a commit is not synced (only checkpoints are): set FULL again where it counts.
            // Checkpoints are `checkpointer`'s; the writer's own only when it falls far behind.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.fallbackPages)")
            }
            checkpointer = try WALCheckpointer(path: path)
        } catch {
            throw IndexError(.unavailable, "cannot open the index database", underlying: error)
        }
        let migrator = SQLiteIndexStore.migrator
        do {
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                throw IndexError(.incompatibleSchema,
                                 "the index database was made by a newer ImagingIndex (unknown migrations)")
            }
            if let migrateUpTo {
                try migrator.migrate(pool, upTo: migrateUpTo)
            } else {
                try migrator.migrate(pool)
            }
        } catch let error as IndexError {
            throw error
        } catch {
            throw IndexError(.unavailable, "cannot migrate the index database", underlying: error)
        }
    }

    deinit { checkpointer.stop() }

    /// How much of the database file each connection maps (the rest is read as before).
    static let mappedBytes = 1 << 30

    /// Names of the migrations applied to the database, in order.
    public func appliedMigrations() throws(IndexError) -> [String] {
        try read { db in try SQLiteIndexStore.migrator.appliedMigrations(db) }
    }

    func read<T>(_ body: @Sendable (Database) throws -> T) throws(IndexError) -> T {
        do {
            return try pool.read(body)
        } catch let error as IndexError {
            throw error
        } catch {
            throw IndexError(.unavailable, "index read failed", underlying: error)
        }
    }

    /// One statement, outside a transaction (a single SELECT is consistent on its own): spares the
    /// BEGIN and COMMIT of `read` on lookups made for every stored instance.
    func readStatement<T>(_ body: (Database) throws -> T) throws(IndexError) -> T {
        do {
            return try pool.unsafeRead(body)
        } catch {
            throw IndexError(.unavailable, "index read failed", underlying: error)
        }
    }

    func write<T>(_ body: @Sendable (Database) throws -> T) throws(IndexError) -> T {
        do {
            return try pool.write(body)
        } catch let error as IndexError {
            throw error
        } catch {
            throw IndexError(.unavailable, "index write failed", underlying: error)
        }
    }

    public func jobState(_ name: String) throws(IndexError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM job_state WHERE name = ?", arguments: [name]) }
    }

    public func setJobState(_ name: String, _ value: String?) throws(IndexError) {
        try write { db in
            if let value {
                try db.execute(sql: """
                    INSERT INTO job_state(name, value, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """, arguments: [name, value, Date().timeIntervalSince1970])
            } else {
                try db.execute(sql: "DELETE FROM job_state WHERE name = ?", arguments: [name])
            }
        }
    }
}
