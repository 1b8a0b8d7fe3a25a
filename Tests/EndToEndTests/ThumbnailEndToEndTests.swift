import Foundation
import Testing
import DicomTestSupport

/// `imaging-index serve` makes thumbnails of what storescu sends, and `imaging-index thumbnail`
/// writes them; a restart makes the ones missing.
@Suite(.serialized) struct ThumbnailEndToEndTests {
    static let config = """
        { "dicom": { "acceptAnyPeer": true },
          "thumbnails": { "size": 128, "quietSeconds": 0.2, "maxDelaySeconds": 2, "workers": 2 } }
        """
    static let ctSeries = "1.2.826.0.1.3680043.10.1337.2.1"
    static let usSeries = "1.2.826.0.1.3680043.10.1337.2.5"
    static let ctStudy = "1.2.826.0.1.3680043.10.1337.1.1"

    let dir = TemporaryDirectory("thumbnails-e2e")

    func cachedFiles(_ data: URL) -> [String] {
        let root = data.appendingPathComponent("thumbnails")
        let walker = FileManager.default.enumerator(atPath: root.path)
        var out: [String] = []
        while let path = walker?.nextObject() as? String { if path.hasSuffix(".png") || path.hasSuffix(".none") { out.append(path) } }
        return out.sorted()
    }

    func cached(_ data: URL, _ level: String, _ uid: String) -> Bool {
        cachedFiles(data).contains { $0.hasPrefix(level + "/") && $0.hasSuffix("/\(uid)-128.png") }
    }

    /// Width and height from a PNG's IHDR chunk (nil when it is not a PNG).
    func pngSize(_ data: Data) -> (Int, Int)? {
        let b = [UInt8](data.prefix(24))
        guard b.count == 24, b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], b[12..<16] == [0x49, 0x48, 0x44, 0x52] else {
            return nil
        }
        func be32(_ i: Int) -> Int { b[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    @Test func storedSeriesGetThumbnailsAndTheCommandWritesThem() throws {
        let data = dir.appending("data")
        let server = try ServerProcess(dataDirectory: data, config: Self.config)
        let files = ["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm", "bachmai/ct-head-3.dcm",
                     "choray/us-abdomen-cine-5frames.dcm"].map { TestImages.url($0).path }
        let store = try DcmtkTool.run("storescu", ["-aec", "IMAGINGINDEX", "127.0.0.1", "\(server.port)"] + files)
        #expect(store.status == 0, "\(store.stderr)")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !(cached(data, "series", Self.ctSeries) && cached(data, "series", Self.usSeries)
                                     && cached(data, "study", Self.ctStudy)) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(cached(data, "series", Self.ctSeries), "\(cachedFiles(data))\n\(server.log)")
        #expect(cached(data, "series", Self.usSeries))
        #expect(cached(data, "study", Self.ctStudy))
        #expect(server.stop() == 0)
        #expect(server.log.contains("thumbnail generator stopped"))

        // The command: from the cache (the server's size; its configuration file lies elsewhere), to a file.
        let out = dir.appending("series.png")
        let run = try ProcessRunner.imagingIndex(["thumbnail", "--data-dir", data.path, "--series", Self.ctSeries,
                                                  "--size", "128", "-o", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("(from the cache)"))
        let png = try Data(contentsOf: out)
        #expect(pngSize(png).map { [$0.0, $0.1] } == [128, 128])
        // Another size is made on demand; the colour US (128 x 96) is never enlarged.
        let us = dir.appending("us.png")
        let usRun = try ProcessRunner.imagingIndex(["thumbnail", "--data-dir", data.path, "--series", Self.usSeries,
                                                    "--size", "64", "-o", us.path])
        #expect(usRun.status == 0, "\(usRun.stderr)")
        #expect(pngSize(try Data(contentsOf: us)).map { [$0.0, $0.1] } == [64, 48])
        // A file, to standard output.
        let file = try ProcessRunner.imagingIndex(["thumbnail", TestImages.url("vietduc/dx-knee.dcm").path, "--size", "80"])
        #expect(file.status == 0, "\(file.stderr)")
        #expect(file.stdout.hasPrefix("\u{FFFD}PNG\r\n"), "a PNG (read back as text: its first byte is not UTF-8)")
        #expect(file.stdout.contains("IHDR"))
        // Unknown UID, object without pixels, damaged file: distinct exit statuses and clear messages.
        let unknown = try ProcessRunner.imagingIndex(["thumbnail", "--data-dir", data.path, "--study", "1.2.3.4", "-o",
                                                      dir.appending("x.png").path])
        #expect(unknown.status == 4)
        #expect(unknown.stderr.contains("no study 1.2.3.4"))
        let sr = try ProcessRunner.imagingIndex(["thumbnail", try RenderFixtures.url("sr-basic-text.dcm").path, "-o",
                                                 dir.appending("sr.png").path])
        #expect(sr.status == 3)
        #expect(sr.stderr.contains("no thumbnail: no Pixel Data"))
        #expect(!FileManager.default.fileExists(atPath: dir.appending("sr.png").path))
        let bad = try ProcessRunner.imagingIndex(["thumbnail", TestImages.url("bad/random.dcm").path, "-o",
                                                  dir.appending("bad.png").path])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("random.dcm"))
    }

    @Test func aRestartMakesThumbnailsMissingFromTheCache() throws {
        let data = dir.appending("data")
        // Imported with no server running: no thumbnails yet.
        let imported = try ProcessRunner.imagingIndex(["import", "--quiet", "--data-dir", data.path,
                                                       TestImages.url("bachmai").path])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(cachedFiles(data).isEmpty)
        let server = try ServerProcess(dataDirectory: data, config: Self.config)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !(cached(data, "series", Self.ctSeries) && cached(data, "study", Self.ctStudy)) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(cached(data, "series", Self.ctSeries), "\(server.log)")
        #expect(cached(data, "study", Self.ctStudy))
        #expect(server.stop() == 0)
    }
}
