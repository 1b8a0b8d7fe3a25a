import Foundation

/// An admin job as the HTTP API shows it: what it is, how far it got, how fast, when it ends.
public struct JobStatus: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable { case running, finished, cancelled, failed }

    public var id: String
    public var kind: String
    public var mode: String
    public var state: State
    public var startedAt: Date
    public var finishedAt: Date?
    public var done: Int
    public var total: Int
    public var errors: Int
    public var perSecond: Double
    /// Seconds left at the current rate (nil when unknown or finished).
    public var etaSeconds: Double?
    public var message: String?

    public init(id: String, kind: String, mode: String, state: State, startedAt: Date, finishedAt: Date? = nil,
                done: Int, total: Int, errors: Int, perSecond: Double, etaSeconds: Double? = nil, message: String? = nil) {
        self.id = id
        self.kind = kind
        self.mode = mode
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.done = done
        self.total = total
        self.errors = errors
        self.perSecond = perSecond
        self.etaSeconds = etaSeconds
        self.message = message
    }
}

/// Admin jobs (reindex) run by the app while it serves.
public protocol JobRunning: Sendable {
    /// Starts a reindex (`stale` or `all`); throws when one is already running.
    func startReindex(mode: String) throws -> JobStatus
    func jobs() -> [JobStatus]
    /// Asks a running job to stop at its next checkpoint; false when no such running job.
    func cancel(id: String) -> Bool
}
