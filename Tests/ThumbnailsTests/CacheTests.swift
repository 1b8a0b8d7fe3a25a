import Foundation
import Testing
import DicomTestSupport
@testable import Thumbnails

@Suite struct CacheTests {
    let folder = TemporaryDirectory("thumbnail-cache")

    func sample() throws -> Thumbnail {
        try #require(try ThumbnailRenderer().thumbnail(file: TestImages.url("bachmai/ct-head-1.dcm").path, size: 64).thumbnail)
    }

    @Test func storesLooksUpAndReplaces() throws {
        let cache = try ThumbnailCache(root: folder.url)
        let key = ThumbnailKey.series("1.2.840.99.1")
        #expect(cache.outcome(for: key, size: 256) == nil)
        #expect(!cache.contains(key, size: 256))
        let thumbnail = try sample()
        try cache.store(.image(thumbnail), for: key, size: 256)
        #expect(cache.outcome(for: key, size: 256) == .image(thumbnail))
        #expect(cache.contains(key, size: 256))
        #expect(!cache.contains(key, size: 128))
        #expect(!cache.contains(.study("1.2.840.99.1"), size: 256), "series and studies are apart")

        // Where it is: thumbnails/series/ab/cd/<uid>-<size>.png.
        let path = cache.path(key, size: 256, kind: .png)
        #expect(path.hasPrefix(folder.path + "/series/"))
        #expect(path.hasSuffix("/1.2.840.99.1-256.png"))
        #expect(path.dropFirst(folder.path.count + "/series/".count).split(separator: "/").map(\.count) == [2, 2, 20])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == thumbnail.png)

        // "No thumbnail" replaces the image, and the other way round.
        let none = NoThumbnail(.noPixels, detail: "no Pixel Data (SOP class BasicTextSRStorage)")
        try cache.store(.none(none), for: key, size: 256)
        #expect(cache.outcome(for: key, size: 256) == .none(none))
        #expect(!FileManager.default.fileExists(atPath: path))
        try cache.store(.image(thumbnail), for: key, size: 256)
        #expect(cache.outcome(for: key, size: 256) == .image(thumbnail))
        #expect(!FileManager.default.fileExists(atPath: cache.path(key, size: 256, kind: .absent)))
        // Nothing left behind in tmp/.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/tmp").isEmpty)
    }

    @Test func invalidateRemovesEverySizeOfThatKeyOnly() throws {
        let cache = try ThumbnailCache(root: folder.url)
        let thumbnail = try sample()
        let key = ThumbnailKey.study("1.2.3")
        try cache.store(.image(thumbnail), for: key, size: 256)
        try cache.store(.image(thumbnail), for: key, size: 64)
        try cache.store(.none(NoThumbnail(.video, detail: "")), for: key, size: 32)
        // Same folder by construction would be needed for a prefix clash; check the rule directly.
        let other = ThumbnailKey.study("1.2.3-4")
        try cache.store(.image(thumbnail), for: other, size: 256)
        try cache.store(.image(thumbnail), for: .series("1.2.3"), size: 256)
        cache.invalidate(key)
        for size in [256, 64, 32] { #expect(!cache.contains(key, size: size)) }
        #expect(cache.contains(other, size: 256))
        #expect(cache.contains(.series("1.2.3"), size: 256))
        cache.removeAll()
        #expect(!cache.contains(other, size: 256))
        #expect(!cache.contains(.series("1.2.3"), size: 256))
    }

    @Test func damagedFilesReadAsMissing() throws {
        let cache = try ThumbnailCache(root: folder.url)
        let key = ThumbnailKey.series("1.2.4")
        let thumbnail = try sample()
        try cache.store(.image(thumbnail), for: key, size: 256)
        let path = cache.path(key, size: 256, kind: .png)
        try thumbnail.png.prefix(thumbnail.png.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(cache.outcome(for: key, size: 256) == nil)
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(cache.outcome(for: key, size: 256) == nil)
    }

    @Test func oddUIDsMakeSafeFileNames() {
        #expect(ThumbnailCache.fileStem("1.2.840.10008.1") == "1.2.840.10008.1")
        #expect(ThumbnailCache.fileStem("../../etc/passwd") == "%2E.%2F..%2Fetc%2Fpasswd")  // one path component
        #expect(!ThumbnailCache.fileStem("a/b\\c").contains("/"))
        #expect(ThumbnailCache.fileStem("") == "%")
        #expect(ThumbnailCache.fileStem("a b") == "a%20b")
        // Folders spread even for UIDs that differ in their last digit.
        let folders = Set((0..<1000).map { ThumbnailCache.fnv1a32("1.2.826.0.1.3680043.10.1337.2.\($0)") >> 24 })
        #expect(folders.count > 200)
    }

    @Test func pngHeaderIsRead() throws {
        let thumbnail = try sample()
        #expect((thumbnail.width, thumbnail.height, thumbnail.channels) == (64, 64, 1))
        #expect(Thumbnail(png: Data("not a png".utf8)) == nil)
        #expect(Thumbnail(png: thumbnail.png.dropLast(12)) == nil)
    }
}
