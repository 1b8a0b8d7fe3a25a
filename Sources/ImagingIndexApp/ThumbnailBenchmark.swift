import Foundation
import Synchronization
import DcmtkBridge
import DicomStorage
import Thumbnails

/// Series thumbnails per second over every series of a data directory (`Scripts/bench thumbnails`,
/// through the hidden `thumbnail --bench`): `uncached` makes each one (index query, representative
/// instance, decode, window, scale, PNG) without touching the cache; `cached` reads each one from
/// the cache (filled first, untimed), as a server answering a request would. Passes over the series
/// repeat until `minSeconds` have gone by.
public struct ThumbnailBenchmark: Sendable {
    public struct Result: Sendable, Codable, Hashable {
        public var mode: String
        public var series: Int
        public var jobs: Int
        public var size: Int
        public var thumbnails: Int
        public var seconds: Double
        public var perSecond: Double
        public var noThumbnail: Int
        public var failures: Int
        public var averageBytes: Int
    }

    public let configuration: Configuration
    public let size: Int
    public let jobs: Int
    public let minSeconds: Double

    public init(configuration: Configuration, size: Int, jobs: Int, minSeconds: Double = 3) {
        self.configuration = configuration
        self.size = size
        self.jobs = jobs
        self.minSeconds = minSeconds
    }

    public func run(cached: Bool) throws(ImagingIndexError) -> Result {
        do {
            try Dcmtk.initialize()
        } catch {
            throw ImagingIndexError(.configuration, "DCMTK cannot start: \(error.message)", underlying: error)
        }
        let index = try ImagingIndexReader.open(configuration)
        let store: FileStore
        let cache: ThumbnailCache
        do {
            store = try FileStore(root: configuration.dataDirectory)
        } catch {
            throw ImagingIndexError(.io, error.message, underlying: error)
        }
        do {
            cache = try ThumbnailCache(root: configuration.thumbnailCacheDirectory)
        } catch {
            throw ImagingIndexError(.io, error.message, underlying: error)
        }
        let source = IndexThumbnailSource(index: index, store: store)
        let maker = ThumbnailMaker(source: source,
                                   renderer: ThumbnailRenderer(compressionLevel: configuration.thumbnails.compressionLevel))
        var series: [String] = []
        do {
            while true {
                let page = try source.seriesReferences(offset: series.count, limit: 1000)
                series += page.map(\.seriesInstanceUID)
                if page.count < 1000 { break }
            }
        } catch {
            throw ImagingIndexError(error)
        }
        guard !series.isEmpty else { throw ImagingIndexError(.notFound, "no series in the index to make thumbnails of") }
        let all = series
        let size = self.size

        if cached {  // fill the cache first (not timed)
            WorkerThreads.forEach(count: all.count, workers: jobs, name: "bench-fill") { i in
                if !cache.contains(.series(all[i]), size: size), let outcome = try? maker.series(all[i], size: size) {
                    try? cache.store(outcome, for: .series(all[i]), size: size)
                }
            }
        }
        struct Tally { var thumbnails = 0, none = 0, failures = 0, bytes = 0 }
        let tally = Mutex(Tally())
        let started = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            WorkerThreads.forEach(count: all.count, workers: jobs, name: "bench") { i in
                var t = Tally()
                if cached {
                    switch cache.outcome(for: .series(all[i]), size: size) {
                    case .image(let thumbnail)?: t.thumbnails = 1; t.bytes = thumbnail.png.count
                    case .none?: t.none = 1
                    case nil: t.failures = 1
                    }
                } else {
                    do {
                        switch try maker.series(all[i], size: size) {
                        case .image(let thumbnail): t.thumbnails = 1; t.bytes = thumbnail.png.count
                        case .none: t.none = 1
                        }
                    } catch {
                        t.failures = 1
                    }
                }
                tally.withLock {
                    $0.thumbnails += t.thumbnails
                    $0.none += t.none
                    $0.failures += t.failures
                    $0.bytes += t.bytes
                }
            }
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        } while elapsed < minSeconds
        let t = tally.withLock { $0 }
        let done = t.thumbnails + t.none + t.failures
        return Result(mode: cached ? "cached" : "uncached", series: all.count, jobs: jobs, size: size,
                      thumbnails: t.thumbnails, seconds: elapsed, perSecond: Double(done - t.failures) / elapsed,
                      noThumbnail: t.none, failures: t.failures,
                      averageBytes: t.thumbnails > 0 ? t.bytes / t.thumbnails : 0)
    }
}
