import Foundation
import Synchronization
import Testing
import DicomCore
@testable import DicomIndex
import PatientIdentity

/// An in-memory store that records the batches it was given.
final class RecordingStore: IndexStore {
    let batches = Mutex<[[String]]>([])
    let failSOP: String?
    let failWholeBatch: Bool
    let delay: TimeInterval

    init(failSOP: String? = nil, failWholeBatch: Bool = false, delay: TimeInterval = 0.005) {
        self.failSOP = failSOP
        self.failWholeBatch = failWholeBatch
        self.delay = delay
    }

    func commit(_ writes: [InstanceWrite]) throws(IndexError) -> [Result<InstanceWriteResult, IndexError>] {
        Thread.sleep(forTimeInterval: delay)  // a commit takes time: later writes queue up meanwhile
        batches.withLock { $0.append(writes.map(\.metadata.instance.sopInstanceUID)) }
        if failWholeBatch { throw IndexError(.unavailable, "disk I/O error") }
        return writes.enumerated().map { i, w in
            w.metadata.instance.sopInstanceUID == failSOP ? .failure(IndexError(.rejected, "refused"))
                : .success(.inserted(id: Int64(i + 1)))
        }
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

    /// The barrier runs once per batch with staged files, before the transaction; a write it
    /// refuses fails alone and never reaches the index.
    @Test func theBarrierRunsBeforeTheTransactionAndItsRefusalsFailAlone() throws {
        final class Barrier: CommitBarrier, @unchecked Sendable {  // touched by the writer thread only, read after
            var calls: [[String]] = []
            func prepare(_ writes: [InstanceWrite]) -> [IndexError?] {
                calls.append(writes.map(\.metadata.instance.sopInstanceUID))
                return writes.map { $0.metadata.instance.sopInstanceUID == "bad" ? IndexError(.storage, "disk") : nil }
            }
        }
        let store = RecordingStore()
        let barrier = Barrier()
        let committer = GroupCommitter(store: store, barrier: barrier)
        var staged = write("good")
        staged.stagedFrom = "/tmp/x"
        var refused = write("bad")
        refused.stagedFrom = "/tmp/y"
        #expect(throws: IndexError.self) { try committer.submit(refused) }
        _ = try committer.submit(staged)
        _ = try committer.submit(write("in-place"))  // nothing staged: no barrier call
        committer.shutdown()
        #expect(barrier.calls == [["bad"], ["good"]])
        #expect(store.batches.withLock { $0.flatMap { $0 } } == ["good", "in-place"])
    }

    /// The two steps overlap: while a batch commits, the next one's barrier work (its files'
    /// sync) already runs; batches still commit in the order they were prepared.
    @Test func theNextBatchIsPreparedWhileOneCommits() throws {
        final class Barrier: CommitBarrier, Sendable {
            let store: RecordingStore
            /// Per prepared batch: its writes, and whether a commit had ended by then.
            let log = Mutex<[(String, Bool)]>([])
            init(store: RecordingStore) { self.store = store }
            func prepare(_ writes: [InstanceWrite]) -> [IndexError?] {
                let committed = !store.batches.withLock { $0.isEmpty }
                log.withLock { $0.append((writes.map(\.metadata.instance.sopInstanceUID).joined(separator: ","), committed)) }
                return writes.map { _ in nil }
            }
        }
        let store = RecordingStore(delay: 0.5)
        let barrier = Barrier(store: store)
        let committer = GroupCommitter(store: store, barrier: barrier)
        let first = Thread { _ = try? committer.submit(Self.staged("a")) }
        first.start()
        Thread.sleep(forTimeInterval: 0.2)  // "a" is committing (0.5 s)
        _ = try committer.submit(Self.staged("b"))
        let log = barrier.log.withLock { $0 }
        #expect(log.map(\.0) == ["a", "b"])
        #expect(log.last?.1 == false, "b was prepared only after a's commit ended")
        #expect(store.batches.withLock { $0 } == [["a"], ["b"]])
        committer.shutdown()
    }

    static func staged(_ sop: String) -> InstanceWrite {
        var w = write(sop)
        w.stagedFrom = "/tmp/" + sop
        return w
    }
}
