import Foundation
import Synchronization
import Testing
import DicomCore
@testable import DicomIndex
import PatientIdentity

/// An in-memory store that records the batches it was given.
final class RecordingStore: IndexStore {
    /// The committed batches (and those whose commit failed).
    let batches = Mutex<[[String]]>([])
    /// Every batch given, when its commit starts.
    let applying = Mutex<[[String]]>([])
    /// The batches rolled back by `beforeCommit`.
    let rolledBack = Mutex<[[String]]>([])
    let failSOP: String?
    /// Found already indexed (`alreadyPresent`).
    let presentSOP: String?
    let failWholeBatch: Bool
    let delay: TimeInterval

    init(failSOP: String? = nil, presentSOP: String? = nil, failWholeBatch: Bool = false, delay: TimeInterval = 0.005) {
        self.failSOP = failSOP
        self.presentSOP = presentSOP
        self.failWholeBatch = failWholeBatch
        self.delay = delay
    }

    func commit(_ writes: [InstanceWrite], beforeCommit: (@Sendable ([Result<InstanceWriteResult, IndexError>]) -> Bool)?)
        throws(IndexError) -> [Result<InstanceWriteResult, IndexError>]? {
        let sops = writes.map(\.metadata.instance.sopInstanceUID)
        applying.withLock { $0.append(sops) }
        Thread.sleep(forTimeInterval: delay)  // a commit takes time: later writes queue up meanwhile
        if failWholeBatch {
            batches.withLock { $0.append(sops) }
            throw IndexError(.unavailable, "disk I/O error")
        }
        let results: [Result<InstanceWriteResult, IndexError>] = writes.enumerated().map { i, w in
            w.metadata.instance.sopInstanceUID == failSOP ? .failure(IndexError(.rejected, "refused"))
                : w.metadata.instance.sopInstanceUID == presentSOP ? .success(.alreadyPresent(id: 99, path: w.path))
                : .success(.inserted(id: Int64(i + 1)))
        }
        if let beforeCommit, !beforeCommit(results) {
            rolledBack.withLock { $0.append(sops) }
            return nil
        }
        batches.withLock { $0.append(sops) }  // committed
        return results
    }
    func instance(sopInstanceUID: String) throws(IndexError) -> InstanceRecord? { nil }
    func query(_ query: IndexQuery) throws(IndexError) -> [QueryMatch] { [] }
    func count(_ query: IndexQuery) throws(IndexError) -> Int { 0 }
    func sopClasses(inStudy studyInstanceUID: String) throws(IndexError) -> [String] { [] }
    func removeInstances(ids: [Int64]) throws(IndexError) -> Int { 0 }
    func instanceLocations(afterID: Int64, limit: Int) throws(IndexError) -> [InstanceLocation] { [] }
    func instanceLocations(pathPrefix: String) throws(IndexError) -> [InstanceLocation] { [] }
    func statistics(currentPolicy: String) throws(IndexError) -> IndexStatistics {
        IndexStatistics(patients: 0, studies: 0, series: 0, instances: 0, bytes: 0, byModality: [], byHospital: [], staleInstances: 0)
    }
    func jobState(_ name: String) throws(IndexError) -> String? { nil }
    func setJobState(_ name: String, _ value: String?) throws(IndexError) {}
    func patientLinks(citizenID: String) throws(IndexError) -> [PatientLink] { [] }
    func patientLink(patientID: String, issuer: String) throws(IndexError) -> PatientLink? { nil }
    func setLink(patientID: String, issuer: String, citizenID: String?, actor: String, reason: String) throws(IndexError) {}
    func linkConflicts(includeResolved: Bool) throws(IndexError) -> [LinkConflict] { [] }
    func resolveConflict(id: Int64, actor: String, resolution: String) throws(IndexError) {}
    func linkEvents(patientID: String?, issuer: String?, citizenID: String?) throws(IndexError) -> [LinkEvent] { [] }
    func setSharingConsent(citizenID: String, optedOut: Bool, actor: String, reason: String) throws(IndexError) {}
    func sharingConsent(citizenID: String) throws(IndexError) -> SharingConsent? { nil }
    func optedOutCitizens() throws(IndexError) -> [SharingConsent] { [] }
    func sharingConsentHistory(citizenID: String) throws(IndexError) -> [SharingConsent] { [] }
    func assignHospitals(bySourceAETitle hospitals: [String: String]) throws(IndexError) -> Int { 0 }
}

func write(_ sop: String) -> InstanceWrite {
    var m = InstanceMetadata()
    m.instance.sopInstanceUID = sop
    return InstanceWrite(metadata: m, path: "p/\(sop)", fileSize: 1, checksum: "c", receivedAt: Date(), sourceAETitle: nil,
                         origin: "test", policy: "1", mode: .insertIfAbsent)
}

@Suite struct GroupCommitterTests {
    @Test func concurrentWritesShareTransactionsAndEachGetsItsOwnResult() {
        let store = RecordingStore()
        let committer = GroupCommitter(store: store, maxBatch: 64)
        let results = Mutex<[String: Bool]>([:])
        // 16 writer threads (concurrentPerform would use one per core: 2 here, which alternate
        // and never leave more than one write queued).
        let group = DispatchGroup()
        for t in 0..<16 {
            group.enter()
            Thread {
                for i in stride(from: t, to: 200, by: 16) {
                    let ok = (try? committer.submit(write("1.2.\(i)"))) != nil
                    results.withLock { $0["1.2.\(i)"] = ok }
                }
                group.leave()
            }.start()
        }
        group.wait()
        committer.shutdown()
        let batches = store.batches.withLock { $0 }
        #expect(results.withLock { $0.count } == 200)
        #expect(results.withLock { $0.values.allSatisfy { $0 } })
        #expect(batches.flatMap { $0 }.count == 200)
        #expect(Set(batches.flatMap { $0 }).count == 200)
        #expect(batches.allSatisfy { $0.count <= 64 })
        // With commits taking 5 ms and many writers, several writes share a transaction.
        #expect(batches.count < 200)
    }

    /// A write queued while another is announced waits for it (within `announcedWriteWait`):
    /// both share one transaction. A withdrawn announcement lets the batch go at once; nothing
    /// announced, nothing waits.
    @Test func announcedWritesJoinTheBatchAndAWithdrawalReleasesIt() throws {
        let store = RecordingStore(delay: 0)
        let committer = GroupCommitter(store: store, announcedWriteWait: 30)  // long: only the writes end the wait
        func submitInBackground(_ sop: String) -> DispatchSemaphore {
            let done = DispatchSemaphore(value: 0)
            Thread {
                _ = try? committer.submit(write(sop), announced: true)
                done.signal()
            }.start()
            return done
        }
        committer.announce()
        committer.announce()
        let first = submitInBackground("1.3.1")
        Thread.sleep(forTimeInterval: 0.2)
        #expect(store.batches.withLock { $0.isEmpty }, "the queued write waits for the announced one")
        let second = submitInBackground("1.3.2")
        #expect(first.wait(timeout: .now() + 10) == .success)
        #expect(second.wait(timeout: .now() + 10) == .success)
        #expect(store.batches.withLock { $0.map { $0.sorted() } } == [["1.3.1", "1.3.2"]])

        committer.announce()
        committer.announce()
        let third = submitInBackground("1.3.3")
        Thread.sleep(forTimeInterval: 0.2)
        committer.withdraw()
        #expect(third.wait(timeout: .now() + 10) == .success)
        #expect(store.batches.withLock { $0.map { $0.sorted() } } == [["1.3.1", "1.3.2"], ["1.3.3"]])

        let started = Date()
        _ = try committer.submit(write("1.3.4"))
        #expect(Date().timeIntervalSince(started) < 10)
        committer.shutdown()
    }

    /// Every transaction is reported (metrics): how many writes it held and how long it took.
    @Test func eachTransactionIsReportedWithItsSize() {
        let store = RecordingStore(delay: 0.01)
        let reported = Mutex<[(Int, Double)]>([])
        let committer = GroupCommitter(store: store) { writes, seconds in reported.withLock { $0.append((writes, seconds)) } }
        let group = DispatchGroup()
        for t in 0..<8 {
            group.enter()
            Thread {
                _ = try? committer.submit(write("1.4.\(t)"))
                group.leave()
            }.start()
        }
        group.wait()
        committer.shutdown()
        let batches = store.batches.withLock { $0 }
        let sizes = reported.withLock { $0 }
        #expect(sizes.map(\.0) == batches.map(\.count))
        #expect(sizes.map(\.0).reduce(0, +) == 8)
        #expect(sizes.allSatisfy { $0.1 >= 0.01 })  // the store's commit takes 10 ms
    }

    @Test func oneRefusedWriteFailsAloneAndAFailedCommitFailsItsBatch() {
        let store = RecordingStore(failSOP: "1.2.7")
        let committer = GroupCommitter(store: store)
        #expect(throws: IndexError.self) { try committer.submit(write("1.2.7")) }
        #expect((try? committer.submit(write("1.2.8"))) != nil)
        committer.shutdown()

        let broken = GroupCommitter(store: RecordingStore(failWholeBatch: true))
        do {
            _ = try broken.submit(write("1.2.9"))
            Issue.record("a failed commit reported success")
        } catch {
            #expect(error.code == .unavailable)
        }
        broken.shutdown()
    }

    @Test func submitAfterShutdownIsRefused() {
        let committer = GroupCommitter(store: RecordingStore())
        committer.shutdown()
        do {
            _ = try committer.submit(write("1.2.10"))
            Issue.record("accepted after shutdown")
        } catch {
            #expect(error.code == .shuttingDown)
        }
    }

    /// A barrier that records its calls and refuses what it is told to.
    final class RecordingBarrier: CommitBarrier, Sendable {
        let store: RecordingStore
        let failSync: Bool
        let refuse: Set<String>
        let syncDelay: TimeInterval
        /// "sync a,b" (when a sync starts) and "publish a,b" in call order; a publish notes
        /// whether the store had committed its batch by then ("publish a (committed)") or its
        /// sync had not ended ("(unsynced)").
        let calls = Mutex<[String]>([])
        init(store: RecordingStore, failSync: Bool = false, refuse: Set<String> = [], syncDelay: TimeInterval = 0) {
            self.store = store
            self.failSync = failSync
            self.refuse = refuse
            self.syncDelay = syncDelay
        }
        let syncEnded = Mutex<Set<String>>([])
        /// The batches whose rows the store was applying when their sync ended.
        let overlapped = Mutex<[String]>([])
        func sync(_ writes: [InstanceWrite]) -> IndexError? {
            let sops = writes.map(\.metadata.instance.sopInstanceUID)
            calls.withLock { $0.append("sync " + sops.joined(separator: ",")) }
            Thread.sleep(forTimeInterval: syncDelay)
            if store.applying.withLock({ $0.last == sops }) { overlapped.withLock { $0.append(sops.joined(separator: ",")) } }
            syncEnded.withLock { $0.formUnion(sops) }
            return failSync ? IndexError(.storage, "cannot sync") : nil
        }
        func publish(_ writes: [InstanceWrite]) -> [IndexError?] {
            let sops = writes.map(\.metadata.instance.sopInstanceUID)
            let committed = store.batches.withLock { $0.contains { $0.contains(sops[0]) } }
            let synced = syncEnded.withLock { $0.isSuperset(of: sops) }
            calls.withLock {
                $0.append("publish " + sops.joined(separator: ",") + (committed ? " (committed)" : "") + (synced ? "" : " (unsynced)"))
            }
            return sops.map { refuse.contains($0) ? IndexError(.storage, "cannot rename") : nil }
        }
    }

    /// A batch with staged files: synced once, published inside its transaction before the
    /// COMMIT (never after), and only the writes whose rows were applied are published: not a
    /// refused one, nor one whose instance the index already holds (the stored file stays). A
    /// batch without staged files is neither synced nor published.
    @Test func stagedFilesAreSyncedAndPublishedBeforeTheCommit() throws {
        let store = RecordingStore(failSOP: "refused-row", presentSOP: "known")
        let barrier = RecordingBarrier(store: store)
        let committer = GroupCommitter(store: store, barrier: barrier)
        _ = try committer.submit(Self.staged("a"))
        #expect(throws: IndexError.self) { try committer.submit(Self.staged("refused-row")) }
        #expect(try committer.submit(Self.staged("known")) == .alreadyPresent(id: 99, path: "p/known"))
        _ = try committer.submit(write("in-place"))
        committer.shutdown()
        #expect(barrier.calls.withLock { $0 } == ["sync a", "publish a", "sync refused-row", "sync known"])
        #expect(store.batches.withLock { $0 } == [["a"], ["refused-row"], ["known"], ["in-place"]])
    }

    /// A file that cannot be put in place fails its write alone: the transaction is rolled back
    /// and the others committed again. A failed sync fails the whole batch; nothing of it is
    /// committed.
    @Test func aFileNotPutInPlaceFailsAloneAndAFailedSyncFailsTheBatch() throws {
        let store = RecordingStore(delay: 0.2)
        let barrier = RecordingBarrier(store: store, refuse: ["bad"])
        let committer = GroupCommitter(store: store, barrier: barrier, announcedWriteWait: 30)
        committer.announce()
        committer.announce()
        let results = Mutex<[String: Bool]>([:])
        let group = DispatchGroup()
        for sop in ["good", "bad"] {
            group.enter()
            Thread {
                let ok = (try? committer.submit(Self.staged(sop), announced: true)) != nil
                results.withLock { $0[sop] = ok }
                group.leave()
            }.start()
        }
        group.wait()
        committer.shutdown()
        #expect(results.withLock { $0 } == ["good": true, "bad": false])
        #expect(store.rolledBack.withLock { $0.map { $0.sorted() } } == [["bad", "good"]])
        #expect(store.batches.withLock { $0 } == [["good"]])

        let unsyncable = RecordingStore(delay: 0)
        let failing = GroupCommitter(store: unsyncable, barrier: RecordingBarrier(store: unsyncable, failSync: true))
        do {
            _ = try failing.submit(Self.staged("lost"))
            Issue.record("a batch whose files could not be synced was committed")
        } catch {
            #expect(error.code == .storage)
        }
        failing.shutdown()
        #expect(unsyncable.batches.withLock { $0 }.isEmpty)
        #expect(unsyncable.rolledBack.withLock { $0 } == [["lost"]])
    }

    /// The sync overlaps the rows' work: a batch's rows are applied while its files sync, and
    /// its COMMIT waits for the sync. The next batch is synced while one is applied; batches
    /// commit in order.
    @Test func theSyncOverlapsTheRowsAndTheNextBatchSyncsWhileOneCommits() throws {
        let store = RecordingStore(delay: 0.8)
        let barrier = RecordingBarrier(store: store, syncDelay: 0.3)
        let committer = GroupCommitter(store: store, barrier: barrier)
        _ = try committer.submit(Self.staged("a"))
        #expect(barrier.overlapped.withLock { $0 } == ["a"], "a's rows were being applied while its files synced")
        let first = Thread { _ = try? committer.submit(Self.staged("b")) }
        first.start()
        Thread.sleep(forTimeInterval: 0.1)  // "b" is being applied (0.8 s)
        _ = try committer.submit(Self.staged("c"))
        committer.shutdown()
        #expect(barrier.calls.withLock { $0 } == ["sync a", "publish a", "sync b", "sync c", "publish b", "publish c"],
                "c was synced while b was applied, and published after b's commit")
        #expect(store.batches.withLock { $0 } == [["a"], ["b"], ["c"]])
    }

    /// A sync slower than the rows holds the COMMIT until it ends.
    @Test func theCommitWaitsForASlowSync() throws {
        let store = RecordingStore(delay: 0)
        let barrier = RecordingBarrier(store: store, syncDelay: 0.5)
        let committer = GroupCommitter(store: store, barrier: barrier)
        _ = try committer.submit(Self.staged("slow"))
        committer.shutdown()
        #expect(barrier.calls.withLock { $0 } == ["sync slow", "publish slow"], "published after the sync, before the commit")
        #expect(store.batches.withLock { $0 } == [["slow"]])
    }

    static func staged(_ sop: String) -> InstanceWrite {
        var w = write(sop)
        w.stagedFrom = "/tmp/" + sop
        return w
    }
}
