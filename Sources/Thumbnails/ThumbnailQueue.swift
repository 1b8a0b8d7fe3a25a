/// The background generator's schedule: what waits to be made, since when, what is being made, and
/// whether the index must be scanned for series without a thumbnail. Pure state: no threads and no
/// clock (the time is passed in), so the rules are tested directly.
///
/// - Debounce: a change schedules the key `quietPeriod` after it; another change before then pushes
///   it back, but never beyond `maxDelay` after the first change not yet shown.
/// - A key being made is never handed out twice; a change meanwhile schedules it again.
/// - Bound: at most `maxPending` keys wait. A change beyond is *deferred*: it is not kept here, a
///   scan is asked for instead (the caller removes the stale cache entries, so the scan finds them).
/// - Scan: pages of the index's series, taken only when there is room for a page, from the start
///   again after a pass during which more changes were deferred.
struct ThumbnailQueue: Sendable {
    struct Entry: Sendable, Hashable {
        var due: Double
        var firstChange: Double
        /// For a series: its study, remade after it.
        var study: String?
    }

    enum Admission: Sendable, Hashable {
        case queued
        case coalesced
        case deferred
    }

    enum Work: Sendable, Hashable {
        case make(ThumbnailKey, study: String?)
        case scan(offset: Int, limit: Int)
    }

    let quietPeriod: Double
    let maxDelay: Double
    let maxPending: Int
    let scanPage: Int

    private(set) var pending: [ThumbnailKey: Entry] = [:]
    private(set) var inProgress: Set<ThumbnailKey> = []
    /// The next offset of a scan pass under way (nil: no scan wanted).
    private(set) var scanCursor: Int?
    private(set) var scanBusy = false
    private var rescan = false

    init(quietPeriod: Double, maxDelay: Double, maxPending: Int, scanPage: Int = 500) {
        self.quietPeriod = max(0, quietPeriod)
        self.maxDelay = max(self.quietPeriod, maxDelay)
        self.maxPending = max(1, maxPending)
        self.scanPage = max(1, scanPage)
    }

    var room: Int { max(0, maxPending - pending.count) }
    var isScanWanted: Bool { scanCursor != nil }

    /// Something changed for `key` at `now`; `immediately` skips the quiet period (scan results).
    mutating func request(_ key: ThumbnailKey, study: String? = nil, now: Double, immediately: Bool = false) -> Admission {
        if var entry = pending[key] {
            entry.due = immediately ? min(entry.due, now) : min(now + quietPeriod, entry.firstChange + maxDelay)
            if let study { entry.study = study }
            pending[key] = entry
            return .coalesced
        }
        guard pending.count < maxPending else {
            requestScan()
            return .deferred
        }
        pending[key] = Entry(due: immediately ? now : now + quietPeriod, firstChange: now, study: study)
        return .queued
    }

    /// Asks for a pass over every series (at start, and after deferred changes).
    mutating func requestScan() {
        if scanCursor == nil { scanCursor = 0 } else { rescan = true }
    }

    /// The work to do at `now`: the key due the longest, else a page of the scan when there is
    /// room for it; nil when nothing is due yet.
    mutating func next(now: Double) -> Work? {
        var best: (key: ThumbnailKey, entry: Entry)?
        for (key, entry) in pending where entry.due <= now && !inProgress.contains(key) {
            if best == nil || entry.due < best!.entry.due { best = (key, entry) }
        }
        if let best {
            pending[best.key] = nil
            inProgress.insert(best.key)
            return .make(best.key, study: best.entry.study)
        }
        if let cursor = scanCursor, !scanBusy, room >= min(scanPage, max(1, maxPending / 2)) {
            scanBusy = true
            return .scan(offset: cursor, limit: min(scanPage, room))
        }
        return nil
    }

    /// When a worker should look again (the earliest due time of a key not being made).
    var nextDue: Double? {
        pending.lazy.filter { !self.inProgress.contains($0.key) }.map(\.value.due).min()
    }

    mutating func finished(_ key: ThumbnailKey) {
        inProgress.remove(key)
    }

    /// A scan page came back with `fetched` series out of the `limit` asked for.
    mutating func scanFinished(offset: Int, fetched: Int, limit: Int) {
        scanBusy = false
        guard scanCursor != nil else { return }
        if fetched < limit {
            if rescan {
                rescan = false
                scanCursor = 0
            } else {
                scanCursor = nil
            }
        } else {
            scanCursor = offset + fetched
        }
    }

    /// Everything still waiting (at shutdown), removed from the queue.
    mutating func drain() -> [ThumbnailKey: Entry] {
        defer { pending = [:] }
        return pending
    }
}
