import Foundation
import DcmtkBridge
import DicomIndex
import DicomStorage
import Thumbnails

/// `imaging-index thumbnail FILE | --series UID | --study UID`: one thumbnail as PNG bytes.
/// A file is rendered directly (no data directory needed); a series or study is looked up in the
/// index, taken from the cache when there, else made and cached (unless `useCache` is false).
public struct ThumbnailJob: Sendable {
    public enum Target: Sendable, Hashable {
        case file(String)
        case series(String)
        case study(String)
    }

    public enum Result: Sendable, Hashable {
        case image(png: Data, width: Int, height: Int, fromCache: Bool)
        /// The object (series, study) has no image: SR, PDF, video... `reason` says which.
        case noThumbnail(reason: String)
    }

    public let configuration: Configuration
    public let size: Int
    public let useCache: Bool

    public init(configuration: Configuration, size: Int? = nil, useCache: Bool = true) {
        self.configuration = configuration
        self.size = size ?? configuration.thumbnails.size
        self.useCache = useCache
    }

    /// Throws `.notFound` for a UID the index does not know, `.io` for a file that cannot be read,
    /// `.corrupt` for one that is not DICOM or cannot be decoded.
    public func run(_ target: Target) throws(ImagingIndexError) -> Result {
        guard (1...65535).contains(size) else {
            throw ImagingIndexError(.configuration, "the size must be 1 ... 65535 pixels")
        }
        do {
            try Dcmtk.initialize()
        } catch {
            throw ImagingIndexError(.configuration, "DCMTK cannot start: \(error.message)", underlying: error)
        }
        let renderer = ThumbnailRenderer(compressionLevel: configuration.thumbnails.compressionLevel)
        do throws(ThumbnailError) {
            switch target {
            case .file(let path):
                return Self.result(try renderer.thumbnail(file: path, size: size), fromCache: false)
            case .series(let uid):
                return try lookUp(.series(uid), renderer: renderer)
            case .study(let uid):
                return try lookUp(.study(uid), renderer: renderer)
            }
        } catch {
            throw ImagingIndexError(error)
        }
    }

    private func lookUp(_ key: ThumbnailKey, renderer: ThumbnailRenderer) throws(ThumbnailError) -> Result {
        let index: any IndexStore
        let store: FileStore
        do {
            index = try ImagingIndexReader.open(configuration)
            store = try FileStore(root: configuration.dataDirectory)
        } catch let error as ImagingIndexError {
            throw ThumbnailError(.sourceUnavailable, error.message, underlying: error)
        } catch {
            throw ThumbnailError(.sourceUnavailable, "cannot open the data directory", underlying: error)
        }
        let cache = useCache ? try? ThumbnailCache(root: configuration.thumbnailCacheDirectory) : nil
        if let cached = cache?.outcome(for: key, size: size) { return Self.result(cached, fromCache: true) }
        let maker = ThumbnailMaker(source: IndexThumbnailSource(index: index, store: store), renderer: renderer)
        let outcome = key.level == .series ? try maker.series(key.uid, size: size) : try maker.study(key.uid, size: size)
        try? cache?.store(outcome, for: key, size: size)  // a read-only data directory still gets its answer
        return Self.result(outcome, fromCache: false)
    }

    static func result(_ outcome: ThumbnailOutcome, fromCache: Bool) -> Result {
        switch outcome {
        case .image(let t): .image(png: t.png, width: t.width, height: t.height, fromCache: fromCache)
        case .none(let none): .noThumbnail(reason: none.description)
        }
    }
}
