/// Errors of access control: a request without valid credentials (HTTP 401), one whose
/// identity may not do what it asks (403), or settings that cannot be used.
public struct AccessError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unauthenticated
        case forbidden
        case configuration
    }

    public var code: Code
    /// Safe to send to the client and to log: never a token or a patient identifier.
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
