import DicomIndex

/// The one error type of the application layer. Messages name files and codes, never patient data.
public struct ImagingIndexError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        /// Not a DICOM file at all (text, image, random bytes, empty).
        case notDicom
        /// DICOM, but malformed, truncated, or missing an identifying attribute.
        case corrupt
        /// The disk is full.
        case outOfSpace
        /// The index could not record the instance.
        case indexUnavailable
        /// A second copy of a SOP instance under the `reject` duplicate policy.
        case duplicateRejected
        /// The data set is not the SOP instance the request announced.
        case doesNotMatchRequest
        /// Reading the input or writing the store failed.
        case io
        /// The configuration file or an option is wrong.
        case configuration
        /// A UID the index does not know (e.g. `thumbnail --series`).
        case notFound
        /// The instance names a study held under another patient, or a series held in another
        /// study (`IndexError.Code.conflict`), or (under `keepFirst`) its SOP Instance UID is
        /// stored in another study or series.
        case conflict
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?
    /// Set for `conflict` errors: which one (the index's kind, or `instanceElsewhere`).
    public let conflict: IndexError.Conflict?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.conflict = nil
    }

    /// A `conflict` error of the given kind.
    public init(conflict: IndexError.Conflict, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = .conflict
        self.message = message
        self.underlying = underlying
        self.conflict = conflict
    }

    /// Bad input (the sender's problem) rather than a failure of ImagingIndex.
    public var isBadInput: Bool {
        code == .notDicom || code == .corrupt || code == .duplicateRejected || code == .doesNotMatchRequest
            || code == .conflict
    }

    public var description: String { message }
}
