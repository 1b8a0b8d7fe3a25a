import Foundation
import Synchronization

/// Batches index writes of concurrent instances into one transaction ("group commit").
/// A caller's `submit` returns only after the transaction holding its write has committed,
/// so no caller is ever told "stored" before its rows are durable.
///
/// Two threads. The preparing one takes what is queued as a batch, hands it to the committing
/// one at once, then makes the batch's staged files durable (the `CommitBarrier`'s `sync`: one
/// sync for the whole batch). Meanwhile the committing one applies the batch's rows inside a
/// transaction; before its COMMIT it waits for that sync and puts the files in place (`publish`),
/// so a committed row never names a file a crash could lose, and the sync's wait and the rows'
/// work overlap. While batch k commits, batch k+1 is taken and synced, and new writes queue for
/// the batch after: under load batches grow by themselves, and with one writer they stay at 1.
/// At most two batches are in flight (one committing, one handed over), and they commit in order.
public protocol CommitBarrier: Sendable {
    /// Makes the staged files of a batch durable. Called on the preparing thread once per batch
    /// that has staged files, while its rows may already be applied (not committed). nil, or
    /// why they cannot be kept: the whole batch then fails and nothing of it is committed.
    func sync(_ writes: [InstanceWrite]) -> IndexError?
    /// Puts a batch's synced files in place: called on the committing thread, inside the
    /// batch's transaction just before its COMMIT, with the staged writes whose rows were
    /// applied. Per write: nil, or why its file is not stored (that write then fails alone).
    func publish(_ writes: [InstanceWrite]) -> [IndexError?]
}

public final class GroupCommitter: Sendable {
    private final class Pending: @unchecked Sendable {
        // Written by the writer thread before `done.signal()`, read by the caller after
        // `done.wait()`: the semaphore orders the two.
        let write: InstanceWrite
        var result: Result<InstanceWriteResult, IndexError> = .failure(IndexError(.shuttingDown, "not committed"))
        let done = DispatchSemaphore(value: 0)
        init(_ write: InstanceWrite) { self.write = write }
    }

    private struct State {
        var queue: [Pending] = []
        /// Writes announced (`announce`) but not yet submitted or withdrawn.
        var announced = 0
        var stopped = false
        var batches = 0
        var largestBatch = 0
    }

    /// A batch handed to the committing thread, with its sync's outcome (guarded by `handover`).
    private final class Batch: @unchecked Sendable {
        let pending: [Pending]
        /// Whether the barrier syncs it (it has staged files).
        let needsSync: Bool
        var synced = false
        var syncError: IndexError?
        init(_ pending: [Pending], needsSync: Bool) {
            self.pending = pending
            self.needsSync = needsSync
        }
    }

    /// The hand-over between the two threads (guarded by `handover`).
    private final class Handover: @unchecked Sendable {
        var handed: Batch?
        var preparerDone = false
    }

    private let store: any IndexStore
    private let barrier: (any CommitBarrier)?
    private let maxBatch: Int
    /// How long a batch waits for announced writes, in seconds (`announce`).
    private let announcedWriteWait: Double
    /// Told of each transaction: the writes it held and how long it took (metrics).
    public typealias CommitObserver = @Sendable (_ writes: Int, _ seconds: Double) -> Void
    private let onCommit: CommitObserver?
    private let state = Mutex(State())
    // NSCondition wakes the preparing thread; the queue itself lives in `state`.
    private let wakeup = NSCondition()
    private let handover = NSCondition()
    private let stage = Handover()
    private let finished = DispatchSemaphore(value: 0)

    /// `announcedWriteWait`: how long the preparing thread waits for announced writes before it
    /// takes a batch without them. Short: a sync costs about as much, and a lone writer never
    /// waits (nothing else announced).
    /// `onCommit` is called on the committing thread after each transaction; it must return at
    /// once.
    public init(store: any IndexStore, maxBatch: Int = 512, barrier: (any CommitBarrier)? = nil,
                announcedWriteWait: Double = 0.002, onCommit: CommitObserver? = nil) {
        self.store = store
        self.announcedWriteWait = announcedWriteWait
        self.onCommit = onCommit
        self.barrier = barrier
        self.maxBatch = max(1, maxBatch)
        let preparer = Thread { [self] in self.prepareLoop() }
        preparer.name = "imaging-index.group-prepare"
        preparer.start()
        let committer = Thread { [self] in self.commitLoop() }
        committer.name = "imaging-index.group-commit"
        committer.start()
    }

    /// Tells the committer that a write is on its way (its data set is being parsed and staged):
    /// a batch about to be taken waits a moment for it (`announcedWriteWait`), so that concurrent
    /// instances share one sync and one transaction. Every announce is followed by one `submit`
    /// with `announced: true` or one `withdraw`.
    public func announce() {
        state.withLock { $0.announced += 1 }
    }

    /// An announced write that will not be submitted (refused, duplicate, failed).
    public func withdraw() {
        state.withLock { $0.announced = max(0, $0.announced - 1) }
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
    }

    /// Queues `write` and blocks until its transaction committed (or failed). `announced`: the
    /// write was announced (`announce`).
    /// Never call from Swift's cooperative pool: use a DCMTK or worker thread.
    public func submit(_ write: InstanceWrite, announced: Bool = false) throws(IndexError) -> InstanceWriteResult {
        let pending = Pending(write)
        let accepted = state.withLock { state -> Bool in
            if announced { state.announced = max(0, state.announced - 1) }
            guard !state.stopped else { return false }
            state.queue.append(pending)
            return true
        }
        guard accepted else { throw IndexError(.shuttingDown, "the index is shutting down") }
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
        pending.done.wait()
        return try pending.result.get()
    }

    /// Commits what is queued, then stops the writer. Later submits fail with `.shuttingDown`.
    public func shutdown() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard wasRunning else { return }
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
        finished.wait()
    }

    /// Number of transactions so far and the largest batch (for logs and benchmarks).
    public var batchStatistics: (transactions: Int, largestBatch: Int) {
        state.withLock { ($0.batches, $0.largestBatch) }
    }

    private func prepareLoop() {
        while true {
            // A batch is taken only once the committing thread has taken the previous one (so at
            // most one batch waits for it): whatever arrives until then joins it.
            handover.lock()
            while stage.handed != nil { handover.wait() }
            handover.unlock()
            let (pending, stop) = nextBatch()
            if !pending.isEmpty {
                let batch = Batch(pending, needsSync: barrier != nil && pending.contains { $0.write.stagedFrom != nil })
                handover.lock()
                stage.handed = batch  // only this thread fills the slot: still empty
                handover.broadcast()
                handover.unlock()
                if batch.needsSync, let barrier {
                    let error = barrier.sync(pending.map(\.write))
                    handover.lock()
                    batch.syncError = error
                    batch.synced = true
                    handover.broadcast()
                    handover.unlock()
                }
            }
            if stop && pending.isEmpty { break }
        }
        handover.lock()
        stage.preparerDone = true
        handover.broadcast()
        handover.unlock()
    }

    private func commitLoop() {
        while true {
            handover.lock()
            while stage.handed == nil && !stage.preparerDone { handover.wait() }
            guard let batch = stage.handed else {
                handover.unlock()
                break
            }
            stage.handed = nil
            handover.broadcast()
            handover.unlock()
            commit(batch)
        }
        finished.signal()
    }

    private func nextBatch() -> ([Pending], Bool) {
        wakeup.lock()
        defer { wakeup.unlock() }
        var deadline: Date?
        while true {
            let (batch, stopped, wait) = state.withLock { state -> ([Pending], Bool, Bool) in
                // Writes are queued and others announced: wait for them, a moment at most.
                if !state.queue.isEmpty, state.announced > 0, state.queue.count < maxBatch, !state.stopped {
                    let until = deadline ?? Date(timeIntervalSinceNow: announcedWriteWait)
                    deadline = until
                    if until.timeIntervalSinceNow > 0 { return ([], false, true) }
                }
                let n = min(maxBatch, state.queue.count)
                let batch = Array(state.queue.prefix(n))
                state.queue.removeFirst(n)
                return (batch, state.stopped, false)
            }
            if wait, let deadline {
                _ = wakeup.wait(until: deadline)
                continue
            }
            if !batch.isEmpty || stopped { return (batch, stopped) }
            wakeup.wait()
        }
    }

    /// Waits for the preparing thread's sync of `batch`; nil, or why it failed.
    private func syncOutcome(_ batch: Batch) -> IndexError? {
        handover.lock()
        defer { handover.unlock() }
        while !batch.synced { handover.wait() }
        return batch.syncError
    }

    private func commit(_ batch: Batch) {
        let started = DispatchTime.now().uptimeNanoseconds
        let writes = batch.pending.map(\.write)
        var results: [Result<InstanceWriteResult, IndexError>]
        do {
            if batch.needsSync, let barrier {
                results = try commitPublishing(batch, writes: writes, barrier: barrier)
            } else {
                results = try store.commit(writes)
            }
        } catch {
            results = Array(repeating: .failure(error), count: writes.count)
        }
        for (pending, result) in zip(batch.pending, results) { pending.result = result }
        onCommit?(writes.count, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        state.withLock { state in
            state.batches += 1
            state.largestBatch = max(state.largestBatch, writes.count)
        }
        for pending in batch.pending { pending.done.signal() }
    }

    /// The transaction of a batch with staged files: its rows are applied while the files sync;
    /// before the COMMIT, the sync is awaited and the files of the writes applied are put in
    /// place. A failed sync fails the batch; a file that cannot be put in place fails its write
    /// alone (the transaction is rolled back and the others committed again, their files being
    /// in place by then).
    private func commitPublishing(_ batch: Batch, writes: [InstanceWrite],
                                  barrier: any CommitBarrier) throws(IndexError) -> [Result<InstanceWriteResult, IndexError>] {
        let outcome = Mutex<(sync: IndexError?, refused: [Int: IndexError])>((nil, [:]))
        let committed = try store.commit(writes) { [self] results in
            if let error = syncOutcome(batch) {
                outcome.withLock { $0.sync = error }
                return false
            }
            // A write that found its instance indexed (`alreadyPresent`) leaves the stored file
            // as it is: its staged copy stays in tmp/ for the caller to remove.
            let placed = results.indices.filter { i in
                switch results[i] {
                case .success(.alreadyPresent), .failure: false
                case .success: writes[i].stagedFrom != nil
                }
            }
            guard !placed.isEmpty else { return true }
            var refused: [Int: IndexError] = [:]
            for (i, error) in zip(placed, barrier.publish(placed.map { writes[$0] })) where error != nil {
                refused[i] = error
            }
            outcome.withLock { $0.refused = refused }
            return refused.isEmpty
        }
        if let committed { return committed }
        let (syncError, refused) = outcome.withLock { $0 }
        if let syncError { throw syncError }
        if refused.isEmpty {  // rolled back without a reason recorded: should not happen
            throw IndexError(.unavailable, "the batch's transaction was rolled back")
        }
        let kept = writes.indices.filter { refused[$0] == nil }
        let again = try store.commit(kept.map { writes[$0] })
        var results = writes.indices.map { i -> Result<InstanceWriteResult, IndexError> in
            .failure(refused[i] ?? IndexError(.unavailable, "not committed"))
        }
        for (i, result) in zip(kept, again) { results[i] = result }
        return results
    }
}
