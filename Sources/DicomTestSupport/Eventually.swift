import Foundation

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
/// The default is long on purpose: every test runs in one process and shares Swift's cooperative
/// pool (one thread per core) with synchronous tests that block it while they wait for servers
/// and peers, so on 2 cores async work such as a generator's start was seen to stall for 30 s.
/// Only a failing check waits this long.
public func eventually(timeout: Double = 120, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
