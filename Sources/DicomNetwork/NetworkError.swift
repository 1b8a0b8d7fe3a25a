import DicomCore

/// The one error type of the network layer; turned into a DIMSE status at the edge.
public struct NetworkError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable {
        case identifierDoesNotMatch
        case cannotUnderstand
        case outOfResources
        case notAuthorized
        case moveDestinationUnknown
        case startFailed
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var status: DimseStatus {
        switch code {
        case .identifierDoesNotMatch: .dataSetDoesNotMatchSOPClass
        case .cannotUnderstand: .cannotUnderstand
        case .outOfResources, .startFailed: .outOfResources
        case .notAuthorized: DimseStatus(0x0124)
        case .moveDestinationUnknown: DimseStatus(0xA801)
        }
    }

    public var description: String { message }
}
