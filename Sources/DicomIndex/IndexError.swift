/// The one error type of the index layer: a code, a message without patient data, and the
/// underlying cause (a database error, ...), if any.
public struct IndexError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The query is malformed (bad date range, wildcard in a UID, unknown level ...).
        case invalidQuery
        /// The database could not be opened, migrated or written (disk full, locked, corrupt).
        case unavailable
        /// The database is from a newer ImagingIndex.
        case incompatibleSchema
        /// A write was refused (constraint) for this instance only.
        case rejected
        /// A new instance names a study the index holds under another patient, or a series it
        /// holds in another study: refused for this instance only, nothing is moved.
        case conflict
        /// The entity named (a review case, a link) does not exist.
        case notFound
        /// The index is shutting down.
        case shuttingDown
        /// The instance's file could not be made durable before its rows (`CommitBarrier`); the
        /// storage error is the underlying cause.
        case storage
    }

    /// What a `conflict` is about (what a DIMSE or STOW-RS answer tells the sender).
    public enum Conflict: String, Sendable {
        /// The study is held under another patient (PatientID or issuer differ).
        case studyOfAnotherPatient
        /// The series is held in another study.
        case seriesInAnotherStudy
        /// The SOP Instance UID is stored in another study or series.
        case instanceElsewhere
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?
    /// Set for `conflict` errors: which one.
    public let conflict: Conflict?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.conflict = nil
    }

    /// A `conflict` error of the given kind.
    public init(conflict: Conflict, _ message: String) {
        self.code = .conflict
        self.message = message
        self.underlying = nil
        self.conflict = conflict
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}
