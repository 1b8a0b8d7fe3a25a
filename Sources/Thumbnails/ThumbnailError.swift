/// The one error type of the thumbnail module. Messages name files and UIDs, never patient data.
public struct ThumbnailError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        /// The index has no series with this UID.
        case unknownSeries
        /// The index has no study with this UID.
        case unknownStudy
        /// A file could not be opened or read (may succeed later: not recorded in the cache).
        case unreadable
        /// Not DICOM, truncated, or pixel data that cannot be decoded.
        case undecodable
        /// The index could not be read.
        case sourceUnavailable
        /// The cache folder cannot be written.
        case cache
        /// A bad size or option.
        case invalidArgument
        /// Anything else (a failure inside DCMTK or libpng).
        case `internal`
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
