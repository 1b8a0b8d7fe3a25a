import Foundation
import Testing
import DicomIndex
import DicomTestSupport
import Thumbnails
@testable import ImagingIndexApp

/// Thumbnails wired to the ingest pipeline and the index: made after instances are stored, made
/// again after a restart or a reindex; the `thumbnail` command's lookups; the configuration.
@Suite struct ThumbnailWiringTests {
    static let ctSeries = "1.2.826.0.1.3680043.10.1337.2.1"
    static let mrSeries = "1.2.826.0.1.3680043.10.1337.2.2"
    static let rleSeries = "1.2.826.0.1.3680043.10.1337.2.16"
    static let study = "1.2.826.0.1.3680043.10.1337.1.1"  // the CT's; the MR is in another study

    static func configure(_ c: inout Configuration) {
        c.thumbnails.size = 64
        c.thumbnails.quietPeriod = 0.05
        c.thumbnails.maxDelay = 1
        c.thumbnails.workers = 2
    }

    func waitFor(_ node: ImagingIndexNode, _ keys: [ThumbnailKey]) async throws -> Bool {
        let generator = try #require(node.thumbnails)
        return await eventually { keys.allSatisfy { generator.cache.contains($0, size: 64) } && generator.pendingCount == 0 }
    }

    func withGenerator<T>(_ node: ImagingIndexNode, _ body: () async throws -> T) async throws -> T {
        let generator = try #require(node.thumbnails)
        let task = Task { try await generator.run() }
        defer { task.cancel() }
        _ = await eventually { generator.isRunning }
        let value = try await body()
        task.cancel()
        try await task.value
        return value
    }

    @Test func storedInstancesGetThumbnailsInTheBackground() async throws {
        let t = try TestNode(Self.configure)
        defer { t.node.shutdown() }
        let generator = try #require(t.node.thumbnails)
        try await withGenerator(t.node) { () async throws in
            for file in ["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm", "bachmai/ct-head-3.dcm", "bachmai/mr-lspine-1.dcm",
                         "compressed/ct-head-1-rle.dcm"] {
                let outcome = try t.node.pipeline.ingest(try corpusData(file), origin: .dimse, source: file)
                guard case .stored = outcome else { Issue.record("\(file): \(outcome)"); return }
            }
            #expect(try await waitFor(t.node, [.series(Self.ctSeries), .series(Self.mrSeries), .series(Self.rleSeries),
                                               .study(Self.study)]))
        }
        let ct = try #require(generator.cache.outcome(for: .series(Self.ctSeries), size: 64))
        #expect(ct == (try ThumbnailRenderer().thumbnail(file: TestImages.url("bachmai/ct-head-2.dcm").path, size: 64)))
        let study = try #require(generator.cache.outcome(for: .study(Self.study), size: 64)?.thumbnail)
        #expect((study.width, study.height) == (64, 32), "the CT series and its RLE copy side by side")
        // Cached next to the store.
        #expect(FileManager.default.fileExists(atPath: t.dir.url.appendingPathComponent("thumbnails/series").path))
    }

    @Test func aRestartAndAReindexMakeThemAgain() async throws {
        let t = try TestNode(Self.configure)
        defer { t.node.shutdown() }
        // Imported while no server runs: nothing is made, and nothing waits in memory.
        let summary = ImportJob(node: t.node, paths: [TestImages.url("bachmai").path], progress: .silent).run()
        #expect(summary.imported == 5)
        let generator = try #require(t.node.thumbnails)
        #expect(generator.pendingCount == 0)
        #expect(!generator.cache.contains(.series(Self.ctSeries), size: 64))
        // The server starts: its scan makes what is missing.
        try await withGenerator(t.node) { () async throws in
            #expect(try await waitFor(t.node, [.series(Self.ctSeries), .series(Self.mrSeries), .study(Self.study)]))
        }
        // A reindex (no server running) removes them; the next start makes them again.
        _ = try ReindexJob(node: t.node, mode: .all, progress: .silent).run()
        #expect(!generator.cache.contains(.series(Self.ctSeries), size: 64))
        #expect(!generator.cache.contains(.study(Self.study), size: 64))
        try await withGenerator(t.node) { () async throws in
            #expect(try await waitFor(t.node, [.series(Self.ctSeries), .series(Self.mrSeries), .study(Self.study)]))
        }
    }

    @Test func theThumbnailCommandsLookups() throws {
        let t = try TestNode(Self.configure)
        defer { t.node.shutdown() }
        _ = ImportJob(node: t.node, paths: [TestImages.url("bachmai").path], progress: .silent).run()
        let job = ThumbnailJob(configuration: t.node.configuration, size: 100)
        guard case .image(let png, let width, let height, let fromCache) = try job.run(.series(Self.ctSeries)) else {
            Issue.record("no series thumbnail")
            return
        }
        #expect((width, height, fromCache) == (100, 100, false))
        guard case .image(let again, _, _, let cachedNow) = try job.run(.series(Self.ctSeries)) else { return }
        #expect(again == png)
        #expect(cachedNow)
        guard case .image(_, let w, let h, _) = try job.run(.study(Self.study)) else {
            Issue.record("no study thumbnail")
            return
        }
        #expect((w, h) == (100, 100), "a study of one series: that series' thumbnail")
        guard case .image(_, let fw, _, _) = try job.run(.file(TestImages.url("choray/cr-chest.dcm").path)) else {
            Issue.record("no file thumbnail")
            return
        }
        #expect(fw == 100)
        for target in [ThumbnailJob.Target.series("1.2.3"), .study("1.2.3"), .series("1.2.3\\4.5.6"), .series("*")] {
            do {
                _ = try job.run(target)
                Issue.record("\(target) found")
            } catch {
                #expect(error.code == .notFound, "\(target)")
            }
        }
        let sr = try RenderFixtures.url("sr-basic-text.dcm")
        guard case .noThumbnail(let reason) = try job.run(.file(sr.path)) else {
            Issue.record("an SR got a thumbnail")
            return
        }
        #expect(reason.contains("no Pixel Data"))
        do {
            _ = try job.run(.file(TestImages.url("bad/random.dcm").path))
            Issue.record("random bytes rendered")
        } catch {
            #expect(error.code == .corrupt)
        }
    }

    @Test func configuration() throws {
        let dir = TemporaryDirectory("config")
        func load(_ json: String) throws(ImagingIndexError) -> Configuration {
            try? Data(json.utf8).write(to: dir.appending("imaging-index.json"))
            return try Configuration.load(dataDirectory: dir.url, file: nil)
        }
        let defaults = try load("{}")
        #expect(defaults.thumbnailsEnabled)
        #expect(defaults.thumbnails.size == 256)
        #expect(defaults.thumbnails.workers == ProcessInfo.processInfo.activeProcessorCount)
        #expect(defaults.thumbnailCacheDirectory == dir.url.appendingPathComponent("thumbnails", isDirectory: true))
        let set = try load("""
            {"thumbnails": {"enabled": false, "size": 128, "workers": 3, "quietSeconds": 0.5, "maxDelaySeconds": 20,
                            "maxPending": 500, "pngCompression": 1}}
            """)
        #expect(!set.thumbnailsEnabled)
        #expect(set.thumbnails == ThumbnailSettings(size: 128, workers: 3, quietPeriod: 0.5, maxDelay: 20, maxPending: 500,
                                                    compressionLevel: 1))
        for bad in [#"{"thumbnails": {"sise": 128}}"#, #"{"thumbnails": {"size": 8}}"#, #"{"thumbnails": {"enabled": "yes"}}"#,
                    #"{"thumbnails": {"quietSeconds": 5, "maxDelaySeconds": 1}}"#, #"{"thumbnails": 3}"#,
                    #"{"thumbnails": {"pngCompression": 10}}"#] {
            #expect(throws: ImagingIndexError.self, "\(bad)") { try load(bad) }
        }
        // Disabled: no generator, and storing touches no thumbnails.
        var configuration = Configuration(dataDirectory: dir.url)
        configuration.thumbnailsEnabled = false
        let node = try ImagingIndexNode(configuration: configuration)
        defer { node.shutdown() }
        #expect(node.thumbnails == nil)
    }
}
