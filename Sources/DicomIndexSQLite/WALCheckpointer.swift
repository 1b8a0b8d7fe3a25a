import Foundation
import GRDB
import Synchronization

/// Copies the WAL back into the database from a connection and thread of its own, so that the
/// group committer (the one writer, on the C-STORE path) never does: a checkpoint there copied
/// ~1,000 pages and synced twice every few dozen commits. Passive checkpoints neither wait for
/// nor block the writer or the readers. The writer keeps a far automatic checkpoint as a
/// safety net (`fallbackPages`) should this thread fall behind.
final class WALCheckpointer: Sendable {
    static let interval = DispatchTimeInterval.milliseconds(250)
    static let fallbackPages = 10_000

    private let queue: DatabaseQueue
    private let commits = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)

    init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        queue = try DatabaseQueue(path: path, configuration: config)
    }

    /// A commit happened: the thread checkpoints at its next tick.
    func noteCommit() {
        commits.add(1, ordering: .relaxed)
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                _ = wake.wait(timeout: .now() + Self.interval)
                guard commits.exchange(0, ordering: .relaxed) > 0 else { continue }
                // A failure (a reader pinning old pages, a busy lock) is retried at the next tick.
                try? queue.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            }
        }
        thread.name = "index-checkpoint"
        thread.start()
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        wake.signal()
    }
}
