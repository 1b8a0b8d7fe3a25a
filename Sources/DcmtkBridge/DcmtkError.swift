/// A failure reported by DCMTK through the shim. Never carries patient data: the message is
/// DCMTK's condition text or the shim's own description.
public struct DcmtkError: Error, Sendable, CustomStringConvertible {
    public enum Code: Int32, Sendable {
        case argument = -1
        case io = -2
        case parse = -3
        case charset = -4
        case initialization = -5
        case `internal` = -6
        /// The dataset parsed but lacks what every stored instance needs (e.g. SOPInstanceUID).
        case missingAttribute = -100
    }

    public let code: Code
    public let message: String
    /// The file or source the failure concerns, when there is one (a path, never patient data).
    public let source: String?

    public init(code: Code, message: String, source: String? = nil) {
        self.code = code
        self.message = message
        self.source = source
    }

    public var description: String {
        if let source { return "\(source): \(message)" }
        return message
    }
}
