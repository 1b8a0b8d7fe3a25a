import DcmtkBridge

extension ThumbnailError {
    init(_ error: DcmtkError) {
        let code: Code = switch error.code {
        case .io: .unreadable
        case .parse, .charset, .missingAttribute: .undecodable
        case .argument: .invalidArgument
        case .initialization, .internal: .internal
        }
        self.init(code, error.description, underlying: error)
    }
}
