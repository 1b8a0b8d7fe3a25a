import Foundation

/// The generator's mutable state behind one lock, with a condition the workers wait on.
/// `@unchecked Sendable`: `value` is only touched with `condition` locked.
final class GeneratorState: @unchecked Sendable {
    struct Value {
        var queue: ThumbnailQueue
        var running = false
        var stopping = false
        var statistics = ThumbnailGenerator.Statistics()
        var backlogLogged = false
        var invalidatedWhileStopped = Set<String>()
    }

    private let condition = NSCondition()
    private var value: Value

    init(_ queue: ThumbnailQueue) {
        value = Value(queue: queue)
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&value)
    }

    func signal() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    func broadcast() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until there is work (nil when stopping).
    func nextWork() -> ThumbnailQueue.Work? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if value.stopping { return nil }
            let now = ThumbnailGenerator.now()
            if let work = value.queue.next(now: now) { return work }
            let wait = min(60, max(0.001, (value.queue.nextDue ?? now + 60) - now))
            _ = condition.wait(until: Date().addingTimeInterval(wait))
        }
    }
}
