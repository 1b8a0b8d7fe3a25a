import Foundation
import GRDB
import GRDBSQLite
import Testing
import DicomCore
import DicomIndex
import DicomTestSupport
@testable import DicomIndexSQLite

@Suite struct WriteTests {
    /// A commit is durable when it returns: the writer syncs the WAL on every commit (GRDB's
    /// WAL set-up would leave it at NORMAL, which syncs only at checkpoints).
    @Test func theWriterSyncsEveryCommit() throws {
        let f = try Fixture()
        #expect(try f.store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
        #expect(try f.store.pool.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
    }

    /// Committed rows reach the database file itself (not only the WAL) within a moment, from the
    /// checkpointer's thread: the writer's own automatic checkpoint is set far away.
    @Test func theCheckpointerCopiesCommitsIntoTheDatabaseFile() async throws {
        let f = try Fixture()
        #expect(try Self.writerPragma(f, "wal_autocheckpoint") == WALCheckpointer.fallbackPages)
        try f.populate()
        let copy = f.dir.appending("copy.sqlite")
        let inFile = await eventually {
            // The database file alone, without its WAL: what a checkpoint has copied.
            try? FileManager.default.removeItem(at: copy)
            guard (try? FileManager.default.copyItem(at: f.dir.appending("index.sqlite"), to: copy)) != nil,
                  let alone = try? DatabaseQueue(path: copy.path) else { return false }
            return ((try? alone.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM instance") }) ?? nil) == 6
        }
        #expect(inFile)
    }

    static func writerPragma(_ f: Fixture, _ name: String) throws -> Int? {
        try f.store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    @Test func insertIfAbsentKeepsTheFirstRowAndUpsertReplacesIt() throws {
        let f = try Fixture()
        try f.populate()
        var changed = Fixture.metadata(patient: "001085012345", issuer: "VN-CCCD", name: "Nguyễn^Văn Hùng", study: "1.1",
                                       date: "20240315", series: "1.1.1", modality: "CT", sop: "1.1.1.1",
                                       description: "changed")
        let first = try f.store.commit([Fixture.write(changed)])
        guard case .success(.alreadyPresent(_, let path)) = first[0] else {
            Issue.record("expected alreadyPresent, got \(first)")
            return
        }
        #expect(path == "objects/1.1.1.1.dcm")
        #expect(try f.store.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"]))[0].study?.studyDescription == "CT sọ não")

        // An upsert from an instance received earlier than the study's newest does not change the study...
        _ = try f.store.commit([Fixture.write(changed, mode: .upsert, received: 1_600_000_000)])
        #expect(try f.store.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"]))[0].study?.studyDescription == "CT sọ não")
        // ...one received later does.
        let second = try f.store.commit([Fixture.write(changed, mode: .upsert, received: 1_800_000_000)])
        guard case .success(.updated) = second[0] else { Issue.record("expected updated, got \(second)"); return }
        #expect(try f.store.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"]))[0].study?.studyDescription == "changed")
        #expect(try f.store.count(IndexQuery(level: .instance)) == 6)

        // Moving the instance to a new series of another study leaves no empty parents behind.
        changed.study.studyInstanceUID = "1.9"
        changed.series.seriesInstanceUID = "1.9.1"
        _ = try f.store.commit([Fixture.write(changed, mode: .upsert, received: 1_800_000_000)])
        #expect(try f.store.count(IndexQuery(level: .instance)) == 6)
        let study = try f.store.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"]))[0].study!
        #expect(study.numberOfInstances == 2)
    }

    /// A new instance never takes a study away from its patient, nor a series from its study: it
    /// is refused (`.conflict`) and nothing moves. A replacement (an instance resent under a
    /// corrected PatientID or study, with the `replace` duplicate policy) does move its study or
    /// series, and the parents it leaves empty are pruned, in the same commit.
    @Test func onlyAReplacementMovesAStudyOrSeriesToAnotherParent() throws {
        let f = try Fixture()
        let first = Fixture.metadata(patient: "WRONG-1", issuer: nil, name: "A^B", study: "3.1", date: "20240101",
                                     series: "3.1.1", modality: "CT", sop: "3.1.1.1")
        _ = try f.store.commit([Fixture.write(first, received: 1_700_000_000)])

        // Another patient's new instance naming the study, and another study's naming the series:
        // refused, whichever is newer, and the rest of the batch goes in.
        var intruder = first
        intruder.patient.patientID = "OTHER-9"
        intruder.instance.sopInstanceUID = "3.1.1.9"
        var wrongStudy = first
        wrongStudy.study.studyInstanceUID = "3.9"
        wrongStudy.instance.sopInstanceUID = "3.1.1.8"
        var sibling = first
        sibling.instance.sopInstanceUID = "3.1.1.2"
        let results = try f.store.commit([Fixture.write(intruder, received: 1_700_000_050),
                                          Fixture.write(wrongStudy, received: 1_600_000_000),
                                          Fixture.write(sibling, received: 1_700_000_060)])
        for (result, (level, kind)) in zip(results.prefix(2), [("study", IndexError.Conflict.studyOfAnotherPatient),
                                                              ("series", .seriesInAnotherStudy)]) {
            guard case .failure(let error) = result, error.code == .conflict, error.conflict == kind,
                  error.message.hasPrefix(level) else {
                Issue.record("\(level): \(result)")
                continue
            }
        }
        #expect((try? results[2].get()) != nil)
        // The same under the `replace` policy's mode: they are new instances, not replacements.
        let replacing = try f.store.commit([Fixture.write(intruder, mode: .replaceIfPresent, received: 1_700_000_070),
                                            Fixture.write(wrongStudy, mode: .replaceIfPresent, received: 1_700_000_080)])
        for (result, kind) in zip(replacing, [IndexError.Conflict.studyOfAnotherPatient, .seriesInAnotherStudy]) {
            guard case .failure(let error) = result, error.conflict == kind else {
                Issue.record("\(kind): \(result)")
                continue
            }
        }
        #expect(try f.store.query(IndexQuery(level: .patient)).map { $0.patient.patientID } == ["WRONG-1"])
        #expect(try f.store.query(IndexQuery(level: .study)).compactMap { $0.study?.studyInstanceUID } == ["3.1"])
        #expect(try f.store.count(IndexQuery(level: .instance)) == 2)

        // The instance resent under the corrected PatientID replaces itself: the study moves.
        var corrected = first
        corrected.patient.patientID = "RIGHT-1"
        let replaced = try f.store.commit([Fixture.write(corrected, mode: .replaceIfPresent, received: 1_700_000_100)])
        #expect(try replaced[0].get() == .updated(id: try #require(try f.store.instance(sopInstanceUID: "3.1.1.1")).id))
        #expect(try f.store.query(IndexQuery(level: .patient)).map { $0.patient.patientID } == ["RIGHT-1"])
        #expect(try f.store.query(IndexQuery(level: .study))[0].study?.numberOfInstances == 2)

        var moved = corrected
        moved.study.studyInstanceUID = "3.2"
        _ = try f.store.commit([Fixture.write(moved, mode: .upsert, received: 1_700_000_200)])
        // The series (both instances) now belongs to study 3.2; study 3.1 is gone.
        #expect(try f.store.query(IndexQuery(level: .study)).compactMap { $0.study?.studyInstanceUID } == ["3.2"])
        #expect(try f.store.query(IndexQuery(level: .study))[0].study?.numberOfInstances == 2)
    }

    /// Stored counts (a new instance adds one in place) always equal a recount, whatever happens:
    /// new series, a modality that changes, a series and a study that move, replaced and removed
    /// instances, a refused instance in the middle of a batch.
    @Test func storedCountsAlwaysEqualARecount() throws {
        let f = try Fixture()
        func instance(_ study: String, _ series: String, _ sop: String, patient: String = "P1", modality: String = "CT",
                      at t: Double) -> InstanceWrite {
            Fixture.write(Fixture.metadata(patient: patient, issuer: nil, name: "A^B", study: study, date: "20240101",
                                           series: series, modality: modality, sop: sop), received: 1_700_000_000 + t)
        }
        func expectConsistent(_ step: String) throws {
            let wrong = try f.store.pool.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT (SELECT count(*) FROM series
                             WHERE num_instances <> (SELECT count(*) FROM instance WHERE series_ref = series.id))
                         + (SELECT count(*) FROM study
                             WHERE num_series <> (SELECT count(*) FROM series WHERE study_ref = study.id)
                                OR num_instances <> (SELECT count(*) FROM instance i JOIN series s ON s.id = i.series_ref
                                                     WHERE s.study_ref = study.id)
                                OR coalesce(modalities, '') <> coalesce((SELECT group_concat(modality, '\\') FROM
                                     (SELECT DISTINCT modality FROM series WHERE study_ref = study.id ORDER BY modality)), ''))
                         + (SELECT count(*) FROM series WHERE num_instances = 0)
                         + (SELECT count(*) FROM study WHERE num_series = 0)
                         + (SELECT count(*) FROM patient p WHERE NOT EXISTS (SELECT 1 FROM study WHERE patient_ref = p.id))
                    """)
            }
            #expect(wrong == 0, "counts differ from a recount after: \(step)")
        }
        _ = try f.store.commit((1...5).map { instance("9.1", "9.1.1", "9.1.1.\($0)", at: Double($0)) })
        try expectConsistent("five instances of one series")
        _ = try f.store.commit([instance("9.1", "9.1.2", "9.1.2.1", modality: "MR", at: 10),
                                instance("9.1", "9.1.1", "9.1.1.6", at: 11)])
        try expectConsistent("a second series")
        _ = try f.store.commit([instance("9.1", "9.1.2", "9.1.2.2", modality: "PT", at: 12)])
        try expectConsistent("a series whose modality changes")
        var movedSeries = instance("9.2", "9.1.2", "9.1.2.2", modality: "PT", at: 13)
        movedSeries.mode = .upsert
        _ = try f.store.commit([movedSeries])
        try expectConsistent("a series moving to another study")
        _ = try f.store.commit([instance("9.2", "9.2.1", "9.2.1.1", at: 14)])
        var movedStudy = instance("9.2", "9.2.1", "9.2.1.1", patient: "P2", at: 14.5)
        movedStudy.mode = .upsert
        _ = try f.store.commit([movedStudy])
        try expectConsistent("a study moving to another patient")
        // The instance row itself is refused, after its parents were written and counted.
        try f.store.pool.write { db in
            try db.execute(sql: """
                CREATE TEMP TRIGGER refuse BEFORE INSERT ON instance WHEN NEW.sop_uid = '9.2.1.2'
                BEGIN SELECT RAISE(ABORT, 'refused'); END
                """)
        }
        let results = try f.store.commit([instance("9.2", "9.2.1", "9.2.1.3", patient: "P2", at: 16),
                                          instance("9.2", "9.2.1", "9.2.1.2", patient: "P2", at: 15),
                                          instance("9.2", "9.2.1", "9.2.1.4", patient: "P2", at: 17)])
        #expect(results.map { (try? $0.get()) == nil } == [false, true, false])
        try expectConsistent("a refused instance in a batch")
        _ = try f.store.commit([Fixture.write(instance("9.1", "9.1.1", "9.1.1.2", at: 18).metadata, mode: .upsert,
                                              received: 1_700_000_018)])
        var movedInstance = instance("9.1", "9.1.3", "9.1.1.3", at: 19)
        movedInstance.mode = .upsert
        _ = try f.store.commit([movedInstance])
        try expectConsistent("replaced instances, one into a new series")
        let ids = try f.store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM instance WHERE sop_uid LIKE '9.1.1.%'") }
        _ = try f.store.removeInstances(ids: ids)
        try expectConsistent("a series' instances removed")
        #expect(try f.store.count(IndexQuery(level: .instance)) == 5)
    }

    @Test func aRefusedInstanceDoesNotUndoItsBatch() throws {
        let f = try Fixture()
        let good = Fixture.metadata(patient: "P", issuer: nil, name: "A^B", study: "2.1", date: "20240101", series: "2.1.1",
                                    modality: "CT", sop: "2.1.1.1")
        var bad = good
        bad.instance.sopInstanceUID = "2.1.1.2"
        bad.instance.sopClassUID = "1.2"
        // The same SOP twice in one batch with insertIfAbsent: the second is reported, the first kept.
        let results = try f.store.commit([Fixture.write(good), Fixture.write(bad), Fixture.write(good)])
        #expect(results.count == 3)
        guard case .success(.inserted) = results[0], case .success(.inserted) = results[1],
              case .success(.alreadyPresent) = results[2] else {
            Issue.record("\(results)")
            return
        }
        #expect(try f.store.count(IndexQuery(level: .instance)) == 2)
        #expect(try f.store.query(IndexQuery(level: .series))[0].series?.numberOfInstances == 2)
    }

    @Test func removingInstancesPrunesEmptyParents() throws {
        let f = try Fixture()
        try f.populate()
        let ids = try f.store.instanceLocations(afterID: 0, limit: 100).filter { $0.sopInstanceUID.hasPrefix("1.1.") }.map(\.id)
        #expect(ids.count == 3)
        #expect(try f.store.removeInstances(ids: ids) == 3)
        #expect(try f.store.count(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"])) == 0)
        #expect(try f.store.count(IndexQuery(level: .patient, filters: [.patientID: "001085012345"])) == 0)
        #expect(try f.store.count(IndexQuery(level: .series)) == 3)
        let stats = try f.store.statistics(currentPolicy: "1")
        #expect(stats.instances == 3 && stats.studies == 3 && stats.patients == 3)
    }

    @Test func statisticsAndStalePolicies() throws {
        let f = try Fixture()
        try f.populate()
        _ = try f.store.commit([Fixture.write(Fixture.metadata(
            patient: "X", issuer: nil, name: "X", study: "3.1", date: "20240101", series: "3.1.1", modality: "CT", sop: "3.1.1.1"),
            policy: "0")])
        let stats = try f.store.statistics(currentPolicy: "1")
        #expect(stats.instances == 7)
        #expect(stats.staleInstances == 1)
        #expect(stats.byModality.first { $0.key == "CT" }?.instances == 3)
        #expect(stats.byHospital.first { $0.key == "Bệnh viện Bạch Mai" }?.studies == 3)
        #expect(stats.bytes == 7000)
        // Fixture instances are received on 2023-11-14 (1_700_000_000).
        #expect(stats.byDay.map(\.key) == ["2023-11-14"] && stats.byDay.first?.instances == 7)
    }

    @Test func jobStateRoundTrips() throws {
        let f = try Fixture()
        #expect(try f.store.jobState("reindex") == nil)
        try f.store.setJobState("reindex", "{\"a\":1}")
        #expect(try f.store.jobState("reindex") == "{\"a\":1}")
        try f.store.setJobState("reindex", nil)
        #expect(try f.store.jobState("reindex") == nil)
    }

    @Test func parentAttributesDoNotDependOnWriteOrder() throws {
        // Three instances of one study disagree on its description; any order gives the newest one's.
        let instances = (1...3).map { i in
            Fixture.write(Fixture.metadata(patient: "P", issuer: nil, name: "A^B", study: "7.1", date: "20240101", series: "7.1.1",
                                           modality: "CT", sop: "7.1.1.\(i)", description: "version \(i)"),
                          received: 1_700_000_000 + Double(i))
        }
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let f = try Fixture()
            for i in order { _ = try f.store.commit([instances[i]]) }
            #expect(try f.store.query(IndexQuery(level: .study))[0].study?.studyDescription == "version 3")
        }
    }

    @Test func aRepeatedValueStillMovesTheNewestSource() throws {
        // The newest instance (t3) agrees with the oldest (t1); t2 differs. Writes of an unchanged
        // row take a shortcut (only the source time moves), which must still make t2 "older".
        func instance(_ t: Int, _ version: String) -> InstanceWrite {
            var m = Fixture.metadata(patient: "P", issuer: nil, name: "NAME^\(version)", study: "8.1", date: "20240101",
                                     series: "8.1.1", modality: "CT", sop: "8.1.1.\(t)", description: version)
            m.series.seriesDescription = version
            return Fixture.write(m, received: 1_700_000_000 + Double(t))
        }
        let instances = [instance(1, "A"), instance(2, "B"), instance(3, "A")]
        for order in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            let f = try Fixture()
            for i in order { _ = try f.store.commit([instances[i]]) }
            let study = try f.store.query(IndexQuery(level: .study))[0]
            #expect(study.study?.studyDescription == "A", "order \(order)")
            #expect(study.patient.patientName == "NAME^A", "order \(order)")
            #expect(try f.store.query(IndexQuery(level: .series))[0].series?.seriesDescription == "A", "order \(order)")
        }
    }

    /// A newer instance that disagrees on one study attribute rewrites that attribute's index
    /// entries only: pages written by the commit, the same instance agreeing against one whose
    /// referring physician differs (three indexes: the name and its two match keys). Assigning
    /// every column made SQLite rewrite all dozen study indexes.
    @Test func aChangedAttributeRewritesOnlyItsOwnIndexes() throws {
        let f = try Fixture()
        try f.populate()
        func pagesWritten(sop: String, referring: String, received: TimeInterval) throws -> Int32 {
            var m = Fixture.metadata(patient: "001085012345", issuer: "VN-CCCD", name: "Nguyễn^Văn Hùng", study: "1.1",
                                     date: "20240315", series: "1.1.1", modality: "CT", sop: sop)
            m.study.referringPhysicianName = referring
            _ = try f.store.pool.writeWithoutTransaction { db in Self.cacheWrites(db) }  // reset
            _ = try f.store.commit([Fixture.write(m, received: received)])
            return try f.store.pool.writeWithoutTransaction { db in Self.cacheWrites(db) }
        }
        _ = try pagesWritten(sop: "1.1.1.90", referring: "BS^An", received: 1_800_000_000)
        let same = try pagesWritten(sop: "1.1.1.91", referring: "BS^An", received: 1_800_000_001)
        let changed = try pagesWritten(sop: "1.1.1.92", referring: "BS^Bình", received: 1_800_000_002)
        #expect(same > 0)
        #expect(changed - same <= 3, "pages written: \(same) agreeing, \(changed) with another referring physician")
        #expect(try f.store.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"]))[0]
            .study?.referringPhysicianName == "BS^Bình")
    }

    /// Pages the connection has written since the last call (SQLITE_DBSTATUS_CACHE_WRITE, reset).
    static func cacheWrites(_ db: Database) -> Int32 {
        var current: Int32 = 0, highest: Int32 = 0
        _ = sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_WRITE, &current, &highest, 1)
        return current
    }

    @Test func concurrentReadersWhileWriting() throws {
        let f = try Fixture()
        let store = f.store
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<25 {
                if worker % 2 == 0 {
                    let m = Fixture.metadata(patient: "W\(worker)", issuer: nil, name: "W", study: "4.\(worker)", date: "20240101",
                                             series: "4.\(worker).1", modality: "CT", sop: "4.\(worker).1.\(i)")
                    _ = try? store.commit([Fixture.write(m)])
                } else {
                    _ = try? store.query(IndexQuery(level: .study))
                }
            }
        }
        #expect(try store.count(IndexQuery(level: .instance)) == 100)
        #expect(try store.query(IndexQuery(level: .series)).allSatisfy { $0.series!.numberOfInstances == 25 })
    }
}

@Suite struct MigrationTests {
    @Test func emptyDatabaseGetsEveryMigrationInOrder() throws {
        let f = try Fixture()
        #expect(try f.store.appliedMigrations() == ["v1-initial-schema", "v2-extra-tags-and-jobs", "v3-citizen-links", "v4-sharing-consent",
                                                      "v5-fewer-instance-indexes", "v6-patient-name-spellings",
                                                      "v7-series-equipment", "v8-name-component-groups", "v9-patient-study"])
        let mode = try f.store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func olderDatabaseIsUpgradedAndKeepsItsRows() throws {
        let old = try Fixture(migrateUpTo: "v1-initial-schema")
        #expect(try old.store.appliedMigrations() == ["v1-initial-schema"])
        // Rows written by the v1 schema (no extra-tag table yet), by plain SQL as an old version would.
        try old.store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO patient (id, patient_id, issuer, name, name_ci, name_fold, policy) VALUES (1, 'P1', '', 'Lê^Đức', 'lê đức', 'le duc', '0');
                INSERT INTO study (id, patient_ref, study_uid, study_date, num_series, num_instances, policy) VALUES (1, 1, '5.1', '20200101', 1, 1, '0');
                INSERT INTO series (id, study_ref, series_uid, modality, num_instances, policy) VALUES (1, 1, '5.1.1', 'CT', 1, '0');
                INSERT INTO instance (series_ref, sop_uid, sop_class_uid, transfer_syntax, file_size, path, checksum, received_at, origin, policy)
                VALUES (1, '5.1.1.1', '1.2', '1.2.840.10008.1.2', 10, 'objects/x.dcm', 'c', 0, 'import', '0');
                INSERT INTO patient (id, patient_id, issuer, name, name_ci, name_fold, policy)
                    VALUES (2, 'P2', '', 'Yamada^Tarou=山田^太郎', 'yamada tarou=山田 太郎', 'yamada tarou=山田 太郎', '0');
                INSERT INTO study (id, patient_ref, study_uid, study_date, num_series, num_instances, policy) VALUES (2, 2, '5.2', '20200101', 1, 1, '0');
                INSERT INTO series (id, study_ref, series_uid, modality, num_instances, policy) VALUES (2, 2, '5.2.1', 'CT', 1, '0');
                INSERT INTO instance (series_ref, sop_uid, sop_class_uid, transfer_syntax, file_size, path, checksum, received_at, origin, policy)
                VALUES (2, '5.2.1.1', '1.2', '1.2.840.10008.1.2', 10, 'objects/y.dcm', 'c', 0, 'import', '0');
                """)
        }
        let path = old.store.path
        let upgraded = try SQLiteIndexStore(path: path)
        #expect(try upgraded.appliedMigrations() == ["v1-initial-schema", "v2-extra-tags-and-jobs", "v3-citizen-links", "v4-sharing-consent",
                                                      "v5-fewer-instance-indexes", "v6-patient-name-spellings",
                                                      "v7-series-equipment", "v8-name-component-groups", "v9-patient-study"])
        let match = try upgraded.query(IndexQuery(level: .study, filters: [.patientName: "le duc"], nameMatching: .folded))
        #expect(match.map { $0.study!.studyInstanceUID } == ["5.1"])
        // v8: a name of several component groups is found by one of them.
        let byGroup = try upgraded.query(IndexQuery(level: .study, filters: [.patientName: "山田^太郎"]))
        #expect(byGroup.map { $0.study!.studyInstanceUID } == ["5.2"])
        #expect(try upgraded.statistics(currentPolicy: "1").staleInstances == 2)
        try upgraded.setJobState("x", "y")
        withExtendedLifetime(old) {}
    }

    @Test func aDatabaseFromANewerVersionIsRefused() throws {
        let f = try Fixture()
        try f.store.pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        do {
            _ = try SQLiteIndexStore(path: f.store.path)
            Issue.record("opened a database with unknown migrations")
        } catch {
            #expect(error.code == .incompatibleSchema)
        }
    }

    @Test func aFileThatIsNotADatabaseIsAClearError() throws {
        let dir = Fixture.tempFile()
        try Data("this is not sqlite".utf8).write(to: URL(fileURLWithPath: dir))
        do {
            _ = try SQLiteIndexStore(path: dir)
            Issue.record("opened garbage as an index")
        } catch {
            #expect(error.code == .unavailable)
        }
    }
}

extension Fixture {
    static func tempFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("not-sqlite-\(UUID().uuidString).sqlite").path
    }
}
