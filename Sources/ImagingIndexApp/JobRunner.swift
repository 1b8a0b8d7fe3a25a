import Foundation
import Logging
import Synchronization
import DicomWebAPI

/// A job's live state, shared by the job (which updates it) and the admin API (which reads it
/// and may ask it to stop).
public final class JobControl: Sendable {
    public let id: String
    public let kind: String
    public let mode: String
    public let startedAt = Date()
    private let cancelled = Atomic<Bool>(false)
    private let state = Mutex<(total: Int, summary: JobSummary, status: JobStatus.State, finished: Date?, message: String?)>(
        (0, JobSummary(), .running, nil, nil))

    init(id: String, kind: String, mode: String) {
        self.id = id
        self.kind = kind
        self.mode = mode
    }

    public func cancel() { cancelled.store(true, ordering: .releasing) }
    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func setTotal(_ total: Int) { state.withLock { $0.total = total } }
    func update(_ summary: JobSummary) { state.withLock { $0.summary = summary } }
    func finish(_ status: JobStatus.State, message: String?) {
        state.withLock { $0.status = status; $0.finished = Date(); $0.message = message }
    }

    var status: JobStatus {
        state.withLock { s in
            let end = s.finished ?? Date()
            let elapsed = max(end.timeIntervalSince(startedAt), 0.001)
            let done = s.summary.processed
            let rate = Double(done) / elapsed
            let eta: Double? = s.status == .running && rate > 0 && s.total >= done ? Double(s.total - done) / rate : nil
            return JobStatus(id: id, kind: kind, mode: mode, state: s.status, startedAt: startedAt, finishedAt: s.finished,
                             done: done, total: s.total, errors: s.summary.badInput + s.summary.failed, perSecond: rate,
                             etaSeconds: eta, message: s.message)
        }
    }
}

/// Runs admin jobs on a thread of their own while the node serves; one reindex at a time.
final class JobRunner: JobRunning {
    let node: ImagingIndexNode
    let logger: Logger
    private let all = Mutex<[JobControl]>([])

    init(node: ImagingIndexNode, logger: Logger) {
        self.node = node
        self.logger = logger
    }

    struct AlreadyRunning: Error, CustomStringConvertible {
        let id: String
        var description: String { "reindex job \(id) is still running" }
    }

    struct UnknownMode: Error, CustomStringConvertible {
        let mode: String
        var description: String { "mode must be stale or all, not '\(mode)'" }
    }

    func startReindex(mode text: String) throws -> JobStatus {
        guard let mode = ReindexJob.Mode(rawValue: text) else { throw UnknownMode(mode: text) }
        let control: JobControl = try all.withLock { jobs in
            if let running = jobs.first(where: { $0.status.state == .running }) { throw AlreadyRunning(id: running.id) }
            let control = JobControl(id: "reindex-\(jobs.count + 1)", kind: "reindex", mode: mode.rawValue)
            jobs.append(control)
            return control
        }
        let job = ReindexJob(node: node, mode: mode, progress: .silent)
        let logger = self.logger
        let thread = Thread {
            logger.notice("admin job started", metadata: ["job.id": "\(control.id)", "reindex.mode": "\(mode.rawValue)"])
            do throws(ImagingIndexError) {
                let summary = try job.run(logger: logger, control: control)
                control.update(summary)
                control.finish(control.isCancelled ? .cancelled : .finished, message: nil)
            } catch {
                control.finish(.failed, message: error.message)
            }
            logger.notice("admin job ended", metadata: ["job.id": "\(control.id)", "job.state": "\(control.status.state.rawValue)"])
        }
        thread.name = "reindex-job"
        thread.start()
        return control.status
    }

    func jobs() -> [JobStatus] { all.withLock { $0.map(\.status) } }

    func cancel(id: String) -> Bool {
        all.withLock { jobs in
            guard let job = jobs.first(where: { $0.id == id }), job.status.state == .running else { return false }
            job.cancel()
            return true
        }
    }
}
