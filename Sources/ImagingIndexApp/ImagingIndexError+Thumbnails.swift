import Thumbnails

extension ImagingIndexError {
    init(_ error: ThumbnailError) {
        let code: Code = switch error.code {
        case .unknownSeries, .unknownStudy: .notFound
        case .unreadable, .cache, .internal: .io
        case .undecodable: .corrupt
        case .sourceUnavailable: .indexUnavailable
        case .invalidArgument: .configuration
        }
        self.init(code, error.message, underlying: error)
    }
}
