import Foundation
import Synchronization

/// Runs `body(i)` for every i in 0..<count on `workers` dedicated threads (not Swift's
/// cooperative pool: the work blocks on fsync and DCMTK), and returns when all are done.
enum WorkerThreads {
    static func forEach(count: Int, workers: Int, name: String, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = Atomic<Int>(0)
        let group = DispatchGroup()
        for w in 0..<max(1, min(workers, count)) {
            group.enter()
            let thread = Thread {
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    if i >= count { break }
                    body(i)
                }
                group.leave()
            }
            thread.name = "\(name)-\(w)"
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
    }
}
