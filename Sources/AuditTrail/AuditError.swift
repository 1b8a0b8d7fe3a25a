/// Why the audit trail could not be written or read.
public struct AuditError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case unavailable, tampered }
    public let code: Code
    public let message: String
    public let underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        underlying.map { "\(message): \($0)" } ?? message
    }
}
