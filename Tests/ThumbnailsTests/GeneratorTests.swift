import Foundation
import Logging
import Synchronization
import ServiceLifecycle
import Testing
import DicomTestSupport
@testable import Thumbnails

/// The background generator, with an in-memory source and real files. Waits poll the cache with a
/// timeout; nothing asserts on how long anything took.
@Suite struct GeneratorTests {
    let folder = TemporaryDirectory("thumbnail-generator")

    func generator(_ source: FakeSource, quiet: Double = 0.05, maxDelay: Double = 1, maxPending: Int = 100,
                   workers: Int = 2, size: Int = 64) throws -> ThumbnailGenerator {
        let settings = ThumbnailSettings(size: size, workers: workers, quietPeriod: quiet, maxDelay: maxDelay,
                                         maxPending: maxPending)
        return ThumbnailGenerator(maker: ThumbnailMaker(source: source), cache: try ThumbnailCache(root: folder.url),
                                  settings: settings)
    }

    /// Runs the generator until `body` returns, then stops it as a ServiceGroup would.
    func running<T>(_ generator: ThumbnailGenerator, _ body: () async throws -> T) async throws -> T {
        let task = Task { try await generator.run() }
        defer { task.cancel() }
        _ = await eventually { generator.isRunning }
        let value = try await body()
        task.cancel()
        try await task.value
        return value
    }

    static let ctSeries = ["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm", "bachmai/ct-head-3.dcm"]

    @Test func makesTheSeriesAndThenTheStudyAfterAChange() async throws {
        let source = FakeSource()
        let g = try generator(source)
        let cache = g.cache
        try await running(g) {
            source.add(corpusSeries("2.1.1", study: "2.1", number: 1, Self.ctSeries))
            source.add(corpusSeries("2.1.2", study: "2.1", number: 2, ["choray/us-abdomen-rgb.dcm"]))
            g.seriesChanged(seriesInstanceUID: "2.1.1", studyInstanceUID: "2.1")
            g.seriesChanged(seriesInstanceUID: "2.1.2", studyInstanceUID: "2.1")
            #expect(await eventually { cache.contains(.study("2.1"), size: 64) && g.statistics.studiesMade >= 1 })
        }
        let series = try #require(cache.outcome(for: .series("2.1.1"), size: 64)?.thumbnail)
        let expected = try ThumbnailRenderer().thumbnail(file: TestImages.url("bachmai/ct-head-2.dcm").path, size: 64)
        #expect(.image(series) == expected, "the middle instance")
        let study = try #require(cache.outcome(for: .study("2.1"), size: 64)?.thumbnail)
        #expect((study.width, study.height, study.channels) == (64, 32, 3), "two series side by side, in colour")
        #expect(g.statistics.seriesMade == 2)
        #expect(g.statistics.failures == 0)
    }

    @Test func manyChangesToOneSeriesMakeItOnce() async throws {
        let source = FakeSource([corpusSeries("2.2.1", study: "2.2", Self.ctSeries)])
        // A quiet period long enough for the burst below; the first make is the scan's at start.
        let g = try generator(source, quiet: 1.5, maxDelay: 60)
        try await running(g) {
            #expect(await eventually { g.statistics.studiesMade == 1 && g.pendingCount == 0 })
            let before = g.statistics
            for _ in 0..<50 { g.seriesChanged(seriesInstanceUID: "2.2.1", studyInstanceUID: "2.2") }
            #expect(await eventually { g.statistics.studiesMade == before.studiesMade + 1 && g.pendingCount == 0 })
            #expect(g.statistics.seriesMade == before.seriesMade + 1)
        }
    }

    @Test func objectsWithoutImagesAreRecordedAndNotRetried() async throws {
        let source = FakeSource([try fixtureSeries("2.3.1", study: "2.3", ["sr-basic-text.dcm"])])
        let g = try generator(source)
        try await running(g) {
            #expect(await eventually { g.cache.contains(.study("2.3"), size: 64) })
        }
        guard case .none(let none)? = g.cache.outcome(for: .series("2.3.1"), size: 64) else {
            Issue.record("no recorded absence")
            return
        }
        #expect(none.reason == .noPixels)
        #expect(g.statistics.noThumbnail == 2)  // the series and its study
        // A restart does not try them again.
        let again = try generator(source)
        try await running(again) {
            #expect(await eventually { again.statistics.scans >= 1 })
        }
        #expect(again.statistics.noThumbnail == 0)
        #expect(again.statistics.seriesMade == 0)
    }

    @Test func aRestartMakesWhatIsMissing() async throws {
        let source = FakeSource([corpusSeries("2.4.1", study: "2.4", ["bachmai/mr-lspine-1.dcm"]),
                                 corpusSeries("2.4.2", study: "2.4", ["vietduc/dx-knee.dcm"]),
                                 corpusSeries("2.5.1", study: "2.5", ["choray/cr-chest.dcm"])])
        let first = try generator(source)
        try await running(first) {
            #expect(await eventually { first.statistics.studiesMade == 2 && first.pendingCount == 0 })
        }
        // Lost since: one series' thumbnail and the other study's.
        first.cache.invalidate(.series("2.4.2"))
        first.cache.invalidate(.study("2.5"))
        let second = try generator(source)
        try await running(second) {
            #expect(await eventually { second.cache.contains(.series("2.4.2"), size: 64) && second.cache.contains(.study("2.5"), size: 64)
                                       && second.cache.contains(.study("2.4"), size: 64) && second.pendingCount == 0 })
        }
        #expect(second.statistics.seriesMade == 1)
        #expect(second.statistics.studiesMade == 2)  // 2.5 (missing) and 2.4 (after its series)
    }

    @Test func overloadDefersToAScanAndNothingIsLost() async throws {
        // Six series with stale thumbnails in the cache; room for two waiting keys only.
        var series: [FakeSource.Series] = []
        for i in 1...6 { series.append(corpusSeries("2.6.\(i)", study: "2.6.\(i)", ["vietduc/dx-chest.dcm"])) }
        let source = FakeSource(series)
        let g = try generator(source, quiet: 1, maxDelay: 5, maxPending: 2, workers: 1)
        let stale = try #require(try ThumbnailRenderer().thumbnail(file: TestImages.url("bachmai/ct-head-1.dcm").path,
                                                                   size: 16).thumbnail)
        for i in 1...6 {
            try g.cache.store(.image(stale), for: .series("2.6.\(i)"), size: 64)
            try g.cache.store(.image(stale), for: .study("2.6.\(i)"), size: 64)
        }
        let fresh = try ThumbnailRenderer().thumbnail(file: TestImages.url("vietduc/dx-chest.dcm").path, size: 64)
        try await running(g) {
            #expect(await eventually { g.statistics.scans >= 1 })
            for i in 1...6 { g.seriesChanged(seriesInstanceUID: "2.6.\(i)", studyInstanceUID: "2.6.\(i)") }
            #expect(g.statistics.deferred >= 1)
            #expect(await eventually {
                (1...6).allSatisfy { i in
                    g.cache.outcome(for: .series("2.6.\(i)"), size: 64) == fresh
                        && g.cache.outcome(for: .study("2.6.\(i)"), size: 64) == fresh
                }
            }, "every stale thumbnail remade: \(g.statistics)")
        }
        #expect(g.statistics.seriesMade == 6)
        #expect(g.statistics.scans >= 2, "the start-up scan and the one after the deferrals")
    }

    @Test func stoppingLeavesWaitingSeriesForTheNextStart() async throws {
        let source = FakeSource([corpusSeries("2.7.1", study: "2.7", ["bachmai/ct-head-1.dcm"])])
        let g = try generator(source, quiet: 3600, maxDelay: 3600)
        try await running(g) {
            #expect(await eventually { g.cache.contains(.series("2.7.1"), size: 64) })  // start-up scan
            g.seriesChanged(seriesInstanceUID: "2.7.1", studyInstanceUID: "2.7")     // waits an hour
        }
        #expect(!g.cache.contains(.series("2.7.1"), size: 64), "removed at stop, so the next start remakes it")
        #expect(!g.cache.contains(.study("2.7"), size: 64))
        #expect(!g.isRunning)
    }

    @Test func whileNotRunningAChangeRemovesTheCachedThumbnails() throws {
        let source = FakeSource([corpusSeries("2.8.1", study: "2.8", ["bachmai/ct-head-1.dcm"])])
        let g = try generator(source)
        let t = try #require(try ThumbnailRenderer().thumbnail(file: TestImages.url("bachmai/ct-head-1.dcm").path, size: 64).thumbnail)
        try g.cache.store(.image(t), for: .series("2.8.1"), size: 64)
        try g.cache.store(.image(t), for: .study("2.8"), size: 64)
        g.seriesChanged(seriesInstanceUID: "2.8.1", studyInstanceUID: "2.8")
        #expect(!g.cache.contains(.series("2.8.1"), size: 64))
        #expect(!g.cache.contains(.study("2.8"), size: 64))
        #expect(g.pendingCount == 0)
    }

    /// A change is only scheduled: it returns while every worker is stuck making another thumbnail.
    @Test func aChangeNeverWaitsForRendering() async throws {
        let gate = DispatchSemaphore(value: 0)
        let source = GatedSource(FakeSource([corpusSeries("2.10.1", study: "2.10", ["bachmai/ct-head-1.dcm"]),
                                             corpusSeries("2.10.2", study: "2.10", ["bachmai/ct-head-2.dcm"])]), gate: gate)
        let g = ThumbnailGenerator(maker: ThumbnailMaker(source: source), cache: try ThumbnailCache(root: folder.url),
                                   settings: ThumbnailSettings(size: 64, workers: 1, quietPeriod: 0, maxDelay: 0))
        try await running(g) {
            #expect(await eventually { source.waiting.withLock { $0 } > 0 }, "the only worker is stuck in the source")
            let returned = DispatchSemaphore(value: 0)
            Thread {
                for _ in 0..<1000 { g.seriesChanged(seriesInstanceUID: "2.10.2", studyInstanceUID: "2.10") }
                returned.signal()
            }.start()
            #expect(returned.wait(timeout: .now() + 20) == .success)
            gate.signal()
            source.open()
            #expect(await eventually { g.cache.contains(.series("2.10.2"), size: 64) })
        }
    }

    @Test func runsInAServiceGroupAndStopsOnGracefulShutdown() async throws {
        let source = FakeSource([corpusSeries("2.9.1", study: "2.9", ["bachmai/ct-head-1.dcm"])])
        let g = try generator(source)
        let group = ServiceGroup(configuration: .init(services: [.init(service: g)], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        #expect(await eventually { g.cache.contains(.study("2.9"), size: 64) })
        await group.triggerGracefulShutdown()
        try await task.value
        #expect(!g.isRunning)
    }
}

/// A source whose calls block until it is opened.
final class GatedSource: ThumbnailSource {
    let inner: FakeSource
    let gate: DispatchSemaphore
    let waiting = Mutex(0)
    let isOpen = Mutex(false)

    init(_ inner: FakeSource, gate: DispatchSemaphore) {
        self.inner = inner
        self.gate = gate
    }

    func open() { isOpen.withLock { $0 = true } }

    private func pass() {
        guard !isOpen.withLock({ $0 }) else { return }
        waiting.withLock { $0 += 1 }
        gate.wait()
        gate.signal()
    }

    func instances(inSeries uid: String) throws(ThumbnailError) -> [SeriesMember] {
        pass()
        return try inner.instances(inSeries: uid)
    }

    func series(inStudy uid: String) throws(ThumbnailError) -> [StudyMember] {
        pass()
        return try inner.series(inStudy: uid)
    }

    func seriesReferences(offset: Int, limit: Int) throws(ThumbnailError) -> [SeriesReference] {
        try inner.seriesReferences(offset: offset, limit: limit)
    }
}
