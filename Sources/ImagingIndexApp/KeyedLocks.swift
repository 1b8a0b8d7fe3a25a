import Foundation
import Synchronization

/// Serialises work on the same key (a SOP Instance UID) across threads, so that two copies of
/// one instance arriving at once are handled one after the other. Blocking: worker threads only.
final class KeyedLocks: Sendable {
    private let held = Mutex(Set<String>())
    private let changed = NSCondition()

    func withLock<T, E: Error>(_ key: String, _ body: () throws(E) -> T) throws(E) -> T {
        changed.lock()
        while !held.withLock({ $0.insert(key).inserted }) {
            changed.wait()
        }
        changed.unlock()
        defer {
            changed.lock()
            _ = held.withLock { $0.remove(key) }
            changed.broadcast()
            changed.unlock()
        }
        return try body()
    }
}
