import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Makes series and study thumbnails in the background, after instances are stored, and keeps the
/// cache complete: a swift-service-lifecycle `Service` with its own worker threads (rendering is
/// blocking C work, kept off Swift's cooperative pool).
///
/// - `seriesChanged` is cheap and never blocks on rendering: it only schedules (see `ThumbnailQueue`
///   for the debounce and the bound). The study is remade after each of its series.
/// - Overload: beyond `maxPending` waiting keys a change is deferred, never silently dropped: the
///   series' and study's cached thumbnails are removed, a warning is logged (once per episode),
///   `thumbnails_deferred_total` counts it, and a scan of the index makes everything missing once
///   there is room again.
/// - Start: a scan makes every thumbnail missing from the cache (after a restart, a crash, a
///   `reindex`, or an import done while no server ran).
/// - Stop (graceful shutdown or cancellation): the workers finish what they are rendering; the
///   cached thumbnails of keys still waiting are removed, so that the next start remakes them.
/// - While not running (the `import` and `reindex` commands), a change removes the series' and study's
///   cached thumbnails, for the next server start to remake.
public final class ThumbnailGenerator: Service, Sendable {
    public struct Statistics: Sendable, Hashable {
        /// Thumbnails written (series, studies), and "no thumbnail" outcomes recorded.
        public var seriesMade = 0
        public var studiesMade = 0
        public var noThumbnail = 0
        /// Makes that failed (not recorded: tried again at the next change or start).
        public var failures = 0
        /// Changes deferred to a scan because the queue was full.
        public var deferred = 0
        /// Scan passes completed, and series looked at by them.
        public var scans = 0
        public var scannedSeries = 0
    }

    public let maker: ThumbnailMaker
    public let cache: ThumbnailCache
    public let settings: ThumbnailSettings
    let logger: Logger
    let state: GeneratorState

    let madeCounters: [String: Counter]
    let failureCounter = Counter(label: "thumbnails_failures_total")
    let deferredCounter = Counter(label: "thumbnails_deferred_total")
    let pendingGauge = Gauge(label: "thumbnails_pending")
    let renderTimer = Metrics.Timer(label: "thumbnails_make_duration_seconds")

    public init(maker: ThumbnailMaker, cache: ThumbnailCache, settings: ThumbnailSettings,
                logger: Logger = Logger(label: "imaging-index.thumbnails")) {
        self.maker = maker
        self.cache = cache
        self.settings = settings
        self.logger = logger
        state = GeneratorState(ThumbnailQueue(quietPeriod: settings.quietPeriod, maxDelay: settings.maxDelay,
                                              maxPending: settings.maxPending))
        var counters: [String: Counter] = [:]
        for level in ThumbnailKey.Level.allCases {
            for outcome in ["image", "none"] {
                counters["\(level.rawValue).\(outcome)"] = Counter(label: "thumbnails_made_total",
                                                                   dimensions: [("level", level.rawValue), ("outcome", outcome)])
            }
        }
        madeCounters = counters
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }
    public var pendingCount: Int { state.withLock { $0.queue.pending.count + $0.queue.inProgress.count } }
    public var isRunning: Bool { state.withLock { $0.running } }

    /// An instance of the series was stored (or replaced, or reindexed). Never blocks on rendering.
    public func seriesChanged(seriesInstanceUID: String, studyInstanceUID: String) {
        let key = ThumbnailKey.series(seriesInstanceUID)
        let admission: ThumbnailQueue.Admission? = state.withLock { s in
            guard s.running else {
                // Not serving: make sure the next start remakes it (once per series and process).
                if s.invalidatedWhileStopped.count > 100_000 { s.invalidatedWhileStopped.removeAll() }
                return s.invalidatedWhileStopped.insert(seriesInstanceUID).inserted ? .deferred : nil
            }
            let admission = s.queue.request(key, study: studyInstanceUID, now: Self.now())
            if admission == .deferred { s.statistics.deferred += 1 }
            return admission
        }
        switch admission {
        case .queued?:
            state.signal()
            pendingGauge.record(pendingCount)
        case .deferred?:
            cache.invalidate(key)
            cache.invalidate(.study(studyInstanceUID))
            if isRunning { deferred() }
        case .coalesced?, nil:
            break
        }
    }

    /// Asks for a pass over every series of the source, making what is missing from the cache.
    public func requestScan() {
        state.withLock { $0.queue.requestScan() }
        state.signal()
    }

    public func run() async throws {
        let alreadyRunning = state.withLock { s -> Bool in
            if s.running { return true }
            s.running = true
            s.stopping = false
            s.invalidatedWhileStopped.removeAll()
            s.queue.requestScan()
            return false
        }
        guard !alreadyRunning else { throw ThumbnailError(.invalidArgument, "the thumbnail generator is already running") }
        let workers = max(1, settings.workers)
        logger.info("thumbnail generator started", metadata: [
            "thumbnails.workers": "\(workers)", "thumbnails.size": "\(settings.size)",
            "thumbnails.cache": "\(cache.root.path)"])
        let group = DispatchGroup()
        for i in 0..<workers {
            group.enter()
            let thread = Thread { [self] in
                // Below the receiving threads: on a busy node, ingest keeps the CPU and thumbnails
                // catch up when it is quiet (Linux: a thread's own nice value).
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // who = 0: this thread only, on Linux
                work()
                group.leave()
            }
            thread.name = "thumbnails-\(i)"
            thread.stackSize = 4 << 20
            thread.start()
        }

        try? await gracefulShutdown()  // returns on graceful shutdown, throws on cancellation: stop either way

        state.withLock { $0.stopping = true }
        state.broadcast()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
        let leftovers = state.withLock { s -> [ThumbnailKey: ThumbnailQueue.Entry] in
            s.running = false
            s.invalidatedWhileStopped.removeAll()  // made since: a change must remove them again
            return s.queue.drain()
        }
        for (key, entry) in leftovers {
            cache.invalidate(key)
            if let study = entry.study { cache.invalidate(.study(study)) }
        }
        pendingGauge.record(0)
        logger.info("thumbnail generator stopped", metadata: ["thumbnails.left_for_next_start": "\(leftovers.count)"])
    }

    // MARK: Workers

    private func work() {
        while let job = state.nextWork() {
            switch job {
            case .make(let key, let study):
                make(key, study: study)
            case .scan(let offset, let limit):
                scan(offset: offset, limit: limit)
            }
        }
    }

    private func make(_ key: ThumbnailKey, study: String?) {
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            renderTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            state.withLock { $0.queue.finished(key) }
            state.broadcast()
            pendingGauge.record(pendingCount)
        }
        do throws(ThumbnailError) {
            let outcome = key.level == .series ? try maker.series(key.uid, size: settings.size)
                                               : try maker.study(key.uid, size: settings.size)
            try cache.store(outcome, for: key, size: settings.size)
            let isImage = outcome.thumbnail != nil
            madeCounters["\(key.level.rawValue).\(isImage ? "image" : "none")"]?.increment()
            state.withLock { s in
                if !isImage { s.statistics.noThumbnail += 1 }
                else if key.level == .series { s.statistics.seriesMade += 1 }
                else { s.statistics.studiesMade += 1 }
            }
            if case .none(let none) = outcome {
                logger.debug("no thumbnail", metadata: ["thumbnails.key": "\(key)", "thumbnails.reason": "\(none.reason.rawValue)"])
            }
        } catch {
            if error.code == .unknownSeries || error.code == .unknownStudy {
                cache.invalidate(key)  // gone from the index meanwhile
            } else {
                failureCounter.increment()
                state.withLock { $0.statistics.failures += 1 }
                logger.warning("thumbnail not made", metadata: ["thumbnails.key": "\(key)", "error": "\(error.message)"])
            }
        }
        if key.level == .series, let study {
            let admission = state.withLock { s -> ThumbnailQueue.Admission in
                let admission = s.queue.request(.study(study), now: Self.now())
                if admission == .deferred { s.statistics.deferred += 1 }
                return admission
            }
            if admission == .deferred {
                cache.invalidate(.study(study))
                deferred()
            }
        }
    }

    private func scan(offset: Int, limit: Int) {
        var fetched = 0
        do throws(ThumbnailError) {
            let references = try maker.source.seriesReferences(offset: offset, limit: limit)
            fetched = references.count
            var wanted: [(ThumbnailKey, String?)] = []
            var studiesChecked = Set<String>()
            for reference in references {
                if !cache.contains(.series(reference.seriesInstanceUID), size: settings.size) {
                    // The study is remade after the series.
                    wanted.append((.series(reference.seriesInstanceUID), reference.studyInstanceUID))
                    studiesChecked.insert(reference.studyInstanceUID)
                } else if studiesChecked.insert(reference.studyInstanceUID).inserted,
                          !cache.contains(.study(reference.studyInstanceUID), size: settings.size) {
                    wanted.append((.study(reference.studyInstanceUID), nil))
                }
            }
            state.withLock { s in
                for (key, study) in wanted { _ = s.queue.request(key, study: study, now: Self.now(), immediately: true) }
                s.statistics.scannedSeries += fetched
            }
            if !wanted.isEmpty {
                logger.debug("thumbnail scan found missing thumbnails", metadata: ["count": "\(wanted.count)"])
            }
        } catch {
            logger.warning("thumbnail scan stopped: the index cannot be read", metadata: ["error": "\(error.message)"])
            fetched = 0
        }
        let passDone = state.withLock { s -> Bool in
            s.queue.scanFinished(offset: offset, fetched: fetched, limit: limit)
            if s.queue.scanCursor == nil {
                s.statistics.scans += 1
                s.backlogLogged = false
                return true
            }
            return false
        }
        if passDone {
            logger.info("thumbnail scan done", metadata: ["thumbnails.series_seen": "\(offset + fetched)"])
        }
        state.broadcast()
    }

    private func deferred() {
        deferredCounter.increment()
        let first = state.withLock { s -> Bool in
            defer { s.backlogLogged = true }
            return !s.backlogLogged
        }
        if first {
            logger.warning("thumbnail queue full: further changes are deferred to a scan of the index",
                           metadata: ["thumbnails.max_pending": "\(settings.maxPending)"])
        }
    }

    static func now() -> Double { ProcessInfo.processInfo.systemUptime }
}
