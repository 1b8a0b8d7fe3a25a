import Foundation

/// How thumbnails are made and scheduled.
public struct ThumbnailSettings: Sendable, Hashable {
    /// Long side of series and study thumbnails, in pixels.
    public var size: Int = 256
    /// Worker threads of the background generator.
    public var workers: Int = ProcessInfo.processInfo.activeProcessorCount
    /// A series is remade once it has received nothing for this long (seconds)...
    public var quietPeriod: Double = 2
    /// ...or at the latest this long after the first change it has not yet shown (seconds).
    public var maxDelay: Double = 30
    /// Most series and studies waiting to be made. Beyond it, changes are deferred: their cached
    /// thumbnails are removed and a scan of the index makes them once there is room again.
    public var maxPending: Int = 10_000
    /// PNG compression level, 0 ... 9 (see `ThumbnailRenderer.defaultCompressionLevel`).
    public var compressionLevel: Int = ThumbnailRenderer.defaultCompressionLevel

    public init() {}

    public init(size: Int = 256, workers: Int = ProcessInfo.processInfo.activeProcessorCount, quietPeriod: Double = 2,
                maxDelay: Double = 30, maxPending: Int = 10_000,
                compressionLevel: Int = ThumbnailRenderer.defaultCompressionLevel) {
        self.size = size
        self.workers = workers
        self.quietPeriod = quietPeriod
        self.maxDelay = maxDelay
        self.maxPending = maxPending
        self.compressionLevel = compressionLevel
    }
}
