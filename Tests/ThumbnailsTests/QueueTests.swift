import Testing
@testable import Thumbnails

/// The generator's schedule, with the time given explicitly.
@Suite struct QueueTests {
    let a = ThumbnailKey.series("1.1"), b = ThumbnailKey.series("1.2"), c = ThumbnailKey.series("1.3")

    @Test func aSeriesIsMadeOnceItGoesQuiet() {
        var q = ThumbnailQueue(quietPeriod: 2, maxDelay: 30, maxPending: 10)
        #expect(q.request(a, study: "9", now: 0) == .queued)
        #expect(q.next(now: 1.9) == nil)
        #expect(q.request(a, study: "9", now: 1.5) == .coalesced)   // more instances: pushed back
        #expect(q.next(now: 3.0) == nil)
        #expect(q.nextDue == 3.5)
        #expect(q.next(now: 3.5) == .make(a, study: "9"))
        #expect(q.next(now: 100) == nil)
    }

    @Test func aBusySeriesIsStillMadeAtMostMaxDelayAfterItsFirstChange() {
        var q = ThumbnailQueue(quietPeriod: 2, maxDelay: 10, maxPending: 10)
        _ = q.request(a, study: "9", now: 0)
        var t = 0.0
        while t < 9.5 {  // a change every half second: never quiet
            t += 0.5
            #expect(q.next(now: t) == nil || t >= 10)
            _ = q.request(a, study: "9", now: t)
        }
        #expect(q.next(now: 10) == .make(a, study: "9"))
    }

    @Test func aKeyBeingMadeIsNotHandedOutAgainButIsRemadeAfter() {
        var q = ThumbnailQueue(quietPeriod: 1, maxDelay: 5, maxPending: 10)
        _ = q.request(a, study: "9", now: 0)
        #expect(q.next(now: 1) == .make(a, study: "9"))
        #expect(q.request(a, study: "9", now: 1.1) == .queued)  // changed while being made
        #expect(q.next(now: 5) == nil, "still being made")
        q.finished(a)
        #expect(q.next(now: 5) == .make(a, study: "9"))
    }

    @Test func theLongestWaitingComesFirst() {
        var q = ThumbnailQueue(quietPeriod: 1, maxDelay: 5, maxPending: 10)
        _ = q.request(b, now: 0.5)
        _ = q.request(a, now: 0)
        _ = q.request(c, now: 0.2, immediately: true)
        #expect(q.next(now: 2) == .make(c, study: nil))
        #expect(q.next(now: 2) == .make(a, study: nil))
        #expect(q.next(now: 2) == .make(b, study: nil))
    }

    @Test func beyondTheBoundChangesAreDeferredToAScan() {
        var q = ThumbnailQueue(quietPeriod: 1, maxDelay: 5, maxPending: 2, scanPage: 100)
        #expect(!q.isScanWanted)
        #expect(q.request(a, now: 0) == .queued)
        #expect(q.request(b, now: 0) == .queued)
        #expect(q.request(c, now: 0) == .deferred)
        #expect(q.request(a, now: 0.5) == .coalesced, "a waiting key still takes changes")
        #expect(q.isScanWanted)
        #expect(q.pending.count == 2)
        // No room: no scan yet; the waiting keys first.
        #expect(q.next(now: 0.1) == nil)
        #expect(q.next(now: 2) == .make(b, study: nil))
        #expect(q.next(now: 2) == .make(a, study: nil))
        // Room again: a scan page no larger than the room.
        #expect(q.next(now: 2) == .scan(offset: 0, limit: 2))
        #expect(q.next(now: 2) == nil, "one scan page at a time")
        q.scanFinished(offset: 0, fetched: 2, limit: 2)
        #expect(q.next(now: 2) == .scan(offset: 2, limit: 2))
        q.scanFinished(offset: 2, fetched: 1, limit: 2)
        #expect(!q.isScanWanted, "a short page ends the pass")
    }

    @Test func changesDeferredDuringAScanStartAnotherPass() {
        var q = ThumbnailQueue(quietPeriod: 1, maxDelay: 5, maxPending: 1, scanPage: 100)
        q.requestScan()
        #expect(q.next(now: 0) == .scan(offset: 0, limit: 1))
        #expect(q.request(a, now: 0) == .queued)
        #expect(q.request(b, now: 0) == .deferred)
        q.scanFinished(offset: 0, fetched: 0, limit: 1)
        #expect(q.isScanWanted, "b may lie before the scan's position: start again")
        #expect(q.next(now: 2) == .make(a, study: nil))
        #expect(q.next(now: 2) == .scan(offset: 0, limit: 1))
        q.scanFinished(offset: 0, fetched: 0, limit: 1)
        #expect(!q.isScanWanted)
    }

    @Test func drainEmptiesTheQueue() {
        var q = ThumbnailQueue(quietPeriod: 1, maxDelay: 5, maxPending: 10)
        _ = q.request(a, study: "9", now: 0)
        _ = q.request(b, now: 0)
        let left = q.drain()
        #expect(Set(left.keys) == [a, b])
        #expect(left[a]?.study == "9")
        #expect(q.pending.isEmpty)
        #expect(q.next(now: 100) == nil)
    }
}
