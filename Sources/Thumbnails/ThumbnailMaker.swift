import DcmtkBridge

/// Makes series and study thumbnails from what a `ThumbnailSource` says is stored.
///
/// - A series is shown by its representative instance: the middle one by InstanceNumber (instances
///   without a number come last, in the index's order). When it has no pixels or cannot be decoded,
///   its neighbours are tried (`attempts` in all) before the series is recorded as having none.
/// - A study is a mosaic of the representative images of up to four of its series, by SeriesNumber:
///   one series gives its own thumbnail, two sit side by side (size x size/2), three or four fill a
///   2 x 2 grid (size x size). Each tile is rendered from the file at the tile's size, centred on
///   black. Series without images are skipped; a study with none has no thumbnail.
///
/// Blocking (index queries, rendering): call from a worker thread.
public struct ThumbnailMaker: Sendable {
    public let source: any ThumbnailSource
    public let renderer: ThumbnailRenderer
    /// Instances of a series tried, from the middle outwards.
    public var attempts = 3
    /// Series of a study looked at to find the mosaic's tiles.
    public var seriesExamined = 12
    /// Most tiles of a study mosaic.
    public static let mosaicTiles = 4

    public init(source: any ThumbnailSource, renderer: ThumbnailRenderer = ThumbnailRenderer()) {
        self.source = source
        self.renderer = renderer
    }

    enum Representative {
        case image(RenderedImage)
        case none(NoThumbnail)
    }

    /// The thumbnail of a series. Throws `.unknownSeries` when the source has no instance of it.
    public func series(_ seriesInstanceUID: String, size: Int) throws(ThumbnailError) -> ThumbnailOutcome {
        switch try representative(series: seriesInstanceUID, maxSize: size) {
        case .image(let image): return .image(try renderer.encode(image))
        case .none(let none): return .none(none)
        }
    }

    /// The mosaic of a study. Throws `.unknownStudy` when the source has no series of it.
    public func study(_ studyInstanceUID: String, size: Int) throws(ThumbnailError) -> ThumbnailOutcome {
        let members = try source.series(inStudy: studyInstanceUID)
        guard !members.isEmpty else { throw ThumbnailError(.unknownStudy, "no study \(studyInstanceUID) in the index") }
        let ordered = members.enumerated().sorted {
            ($0.element.seriesNumber ?? Int.max, $0.offset) < ($1.element.seriesNumber ?? Int.max, $1.offset)
        }.map(\.element.seriesInstanceUID)

        let cell = max(1, size / 2)
        var tiles: [(series: String, image: RenderedImage)] = []
        var firstNone: NoThumbnail?
        var firstError: ThumbnailError?
        for series in ordered.prefix(seriesExamined) where tiles.count < Self.mosaicTiles {
            do throws(ThumbnailError) {
                switch try representative(series: series, maxSize: ordered.count == 1 ? size : cell) {
                case .image(let image): tiles.append((series, image))
                case .none(let none): firstNone = firstNone ?? none
                }
            } catch {
                if error.code == .unknownSeries { continue }  // removed meanwhile
                if error.code == .sourceUnavailable { throw error }
                firstError = firstError ?? error
            }
        }
        guard let first = tiles.first else {
            if let firstNone { return .none(firstNone) }
            if let firstError { throw firstError }
            return .none(NoThumbnail(.noPixels, detail: "no series of the study has images"))
        }
        if ordered.count == 1 { return .image(try renderer.encode(first.image)) }
        if tiles.count == 1 {
            // One series with images among several: its thumbnail at full size.
            return try series(first.series, size: size)
        }
        return .image(try renderer.encode(Self.mosaic(tiles.map(\.image), cell: cell)))
    }

    /// Renders the representative instance of a series at `maxSize`.
    func representative(series seriesInstanceUID: String, maxSize: Int) throws(ThumbnailError) -> Representative {
        let members = try source.instances(inSeries: seriesInstanceUID)
        guard !members.isEmpty else {
            throw ThumbnailError(.unknownSeries, "no series \(seriesInstanceUID) in the index")
        }
        var firstNone: NoThumbnail?
        var firstError: ThumbnailError?
        for member in Self.candidates(members).prefix(max(1, attempts)) {
            do throws(ThumbnailError) {
                let image = try renderer.image(file: member.path, size: maxSize)
                if let none = NoThumbnail(image) {
                    firstNone = firstNone ?? none
                } else {
                    return .image(image)
                }
            } catch {
                switch error.code {
                case .undecodable: firstNone = firstNone ?? NoThumbnail(.undecodable, detail: error.message)
                case .invalidArgument, .internal, .unreadable: firstError = firstError ?? error
                default: throw error
                }
            }
        }
        // A file that cannot be read now may be readable later: only recorded outcomes are returned.
        if let firstNone { return .none(firstNone) }
        throw firstError ?? ThumbnailError(.internal, "series \(seriesInstanceUID): nothing could be rendered")
    }

    /// The instances in the order they are tried: the middle one by InstanceNumber (instances
    /// without a number last, in the source's order), then its neighbours alternately after and
    /// before it.
    public static func candidates(_ members: [SeriesMember]) -> [SeriesMember] {
        let sorted = members.enumerated().sorted {
            ($0.element.instanceNumber ?? Int.max, $0.offset) < ($1.element.instanceNumber ?? Int.max, $1.offset)
        }.map(\.element)
        guard !sorted.isEmpty else { return [] }
        let middle = sorted.count / 2
        var order = [sorted[middle]]
        var step = 1
        while order.count < sorted.count {
            if middle + step < sorted.count { order.append(sorted[middle + step]) }
            if middle - step >= 0 { order.append(sorted[middle - step]) }
            step += 1
        }
        return order
    }
}
