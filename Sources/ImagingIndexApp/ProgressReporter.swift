import Foundation
import Synchronization

/// Shows a job's progress: a one-line bar redrawn in place on a terminal, plain lines every few
/// seconds otherwise (logs, CI). Reads the summary through `snapshot`; runs on its own thread.
public final class ProgressReporter: Sendable {
    public enum Style: Sendable { case bar, lines, silent }

    private let style: Style
    private let title: String
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    public init(title: String, style: Style) {
        self.title = title
        self.style = style
    }

    public static func defaultStyle() -> Style {
        isatty(STDERR_FILENO) == 1 ? .bar : .lines
    }

    public func start(total: Int, snapshot: @escaping @Sendable () -> JobSummary) {
        guard style != .silent else { done.signal(); return }
        let started = Date()
        let thread = Thread { [self] in
            var lastLine = Date.distantPast
            while !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 0.25)
                let now = Date()
                if style == .lines && now.timeIntervalSince(lastLine) < 5 { continue }
                lastLine = now
                emit(snapshot(), total: total, elapsed: now.timeIntervalSince(started), final: false)
            }
            emit(snapshot(), total: total, elapsed: Date().timeIntervalSince(started), final: true)
            done.signal()
        }
        thread.start()
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        done.wait()
    }

    private func emit(_ s: JobSummary, total: Int, elapsed: Double, final: Bool) {
        let n = s.processed
        let rate = elapsed > 0 ? Double(n) / elapsed : 0
        let mbps = elapsed > 0 ? Double(s.bytes) / 1_048_576 / elapsed : 0
        let errors = s.badInput + s.failed
        let stats = String(format: "%d/%d files, %.0f files/s, %.1f MB/s, %d errors", n, total, rate, mbps, errors)
        switch style {
        case .bar:
            let width = 30
            let fraction = total > 0 ? Double(n) / Double(total) : 1
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r\(title) [\(bar)] \(Int(fraction * 100))% \(stats)\u{1B}[K".utf8))
            if final { FileHandle.standardError.write(Data("\n".utf8)) }
        case .lines:
            if !final || n > 0 {
                FileHandle.standardError.write(Data("\(title): \(stats)\n".utf8))
            }
        case .silent:
            break
        }
    }
}
