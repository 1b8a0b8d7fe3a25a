import Foundation
import Synchronization

/// Batches index writes of concurrent instances into one transaction ("group commit").
/// A caller's `submit` returns only after the transaction holding its write has committed,
/// so no caller is ever told "stored" before its rows are durable.
///
/// One writer thread drains the queue: while it commits a batch, new writes queue up and go in
/// the next one, so under load batches grow by themselves and with one writer they stay at 1.
/// Work done for a batch before its transaction: making its staged files durable and putting
/// them in place (`InstanceWrite.stagedFrom`), so that one sync serves the whole batch.
public protocol CommitBarrier: Sendable {
    /// Per write: nil, or why it cannot be committed (it is then left out of the transaction).
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
        var stopped = false
        var batches = 0
        var largestBatch = 0
    }

    private let store: any IndexStore
    private let barrier: (any CommitBarrier)?
    private let maxBatch: Int
    private let state = Mutex(State())
    // NSCondition wakes the writer; the queue itself lives in `state`.
    private let wakeup = NSCondition()
    private let finished = DispatchSemaphore(value: 0)

    public init(store: any IndexStore, maxBatch: Int = 512, barrier: (any CommitBarrier)? = nil) {
        self.store = store
        self.barrier = barrier
        self.maxBatch = max(1, maxBatch)
        let thread = Thread { [self] in self.run() }
        thread.name = "imaging-index.group-commit"
        thread.start()
    }

    /// Queues `write` and blocks until its transaction committed (or failed).
    /// Never call from Swift's cooperative pool: use a DCMTK or worker thread.
    public func submit(_ write: InstanceWrite) throws(IndexError) -> InstanceWriteResult {
        let pending = Pending(write)
        let accepted = state.withLock { state -> Bool in
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

    private func run() {
        while true {
            let (batch, stop) = nextBatch()
            if !batch.isEmpty { commit(batch) }
            if stop && batch.isEmpty { break }
        }
        finished.signal()
    }

    private func nextBatch() -> ([Pending], Bool) {
        wakeup.lock()
        defer { wakeup.unlock() }
        while true {
            let (batch, stopped) = state.withLock { state -> ([Pending], Bool) in
                let n = min(maxBatch, state.queue.count)
                let batch = Array(state.queue.prefix(n))
                state.queue.removeFirst(n)
                return (batch, state.stopped)
            }
            if !batch.isEmpty || stopped { return (batch, stopped) }
            wakeup.wait()
        }
    }

    private func commit(_ batch: [Pending]) {
        var ready = batch
        if let barrier, batch.contains(where: { $0.write.stagedFrom != nil }) {
            ready = []
            for (pending, error) in zip(batch, barrier.prepare(batch.map(\.write))) {
                if let error { pending.result = .failure(error) } else { ready.append(pending) }
            }
        }
        if !ready.isEmpty {
            do {
                let results = try store.commit(ready.map(\.write))
                for (pending, result) in zip(ready, results) { pending.result = result }
            } catch {
                for pending in ready { pending.result = .failure(error) }
            }
        }
        state.withLock { state in
            state.batches += 1
            state.largestBatch = max(state.largestBatch, batch.count)
        }
        for pending in batch { pending.done.signal() }
    }
}
