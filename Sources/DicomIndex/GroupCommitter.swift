import Foundation
import Synchronization

/// Batches index writes of concurrent instances into one transaction ("group commit").
/// A caller's `submit` returns only after the transaction holding its write has committed,
/// so no caller is ever told "stored" before its rows are durable.
///
/// Two threads, a pipeline of two steps: the first takes what is queued as a batch and does the
/// work due before its transaction (the `CommitBarrier`: making its staged files durable and
/// putting them in place, one sync for the whole batch); the second commits it. While batch k
/// commits, batch k+1 is prepared, and new writes queue for the batch after: under load batches
/// grow by themselves, and with one writer they stay at 1. At most two batches are in flight
/// (one committing, one being prepared): the next is handed over only once the previous commit
/// ended, so batches commit in order.
public protocol CommitBarrier: Sendable {
    /// Per write: nil, or why it cannot be committed (it is then left out of the transaction).
    /// Called on the preparing thread while the previous batch may still be committing, never
    /// while the one before it is.
    func prepare(_ writes: [InstanceWrite]) -> [IndexError?]
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

    /// The hand-over between the two steps (guarded by `handover`).
    private final class Handover: @unchecked Sendable {
        var prepared: [Pending]?
        var committing = false
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
            let (batch, stop) = nextBatch()
            if !batch.isEmpty {
                let ready = prepare(batch)
                handover.lock()
                while stage.prepared != nil || stage.committing { handover.wait() }
                stage.prepared = ready
                handover.broadcast()
                handover.unlock()
            }
            if stop && batch.isEmpty { break }
        }
        handover.lock()
        stage.preparerDone = true
        handover.broadcast()
        handover.unlock()
    }

    private func commitLoop() {
        while true {
            handover.lock()
            while stage.prepared == nil && !stage.preparerDone { handover.wait() }
            guard let batch = stage.prepared else {
                handover.unlock()
                break
            }
            stage.prepared = nil
            stage.committing = true
            handover.unlock()
            commit(batch)
            handover.lock()
            stage.committing = false
            handover.broadcast()
            handover.unlock()
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

    /// The barrier's work; writes it refuses are answered at once. Returns the rest, in order.
    private func prepare(_ batch: [Pending]) -> [Pending] {
        guard let barrier, batch.contains(where: { $0.write.stagedFrom != nil }) else { return batch }
        var ready: [Pending] = []
        for (pending, error) in zip(batch, barrier.prepare(batch.map(\.write))) {
            if let error {
                pending.result = .failure(error)
                pending.done.signal()
            } else {
                ready.append(pending)
            }
        }
        return ready
    }

    private func commit(_ ready: [Pending]) {
        if !ready.isEmpty {
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                let results = try store.commit(ready.map(\.write))
                for (pending, result) in zip(ready, results) { pending.result = result }
            } catch {
                for pending in ready { pending.result = .failure(error) }
            }
            onCommit?(ready.count, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        state.withLock { state in
            state.batches += 1
            state.largestBatch = max(state.largestBatch, ready.count)
        }
        for pending in ready { pending.done.signal() }
    }
}
