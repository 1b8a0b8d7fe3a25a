import Foundation
import Testing
import DcmtkBridge
import DicomTestSupport
@testable import Thumbnails

/// Series thumbnails from the representative instance, study mosaics.
@Suite struct MakerTests {
    let renderer = ThumbnailRenderer()

    @Test func representativeIsTheMiddleByInstanceNumber() {
        func member(_ n: Int?, _ name: String) -> SeriesMember { SeriesMember(sopInstanceUID: name, path: name, instanceNumber: n) }
        let members = [member(5, "e"), member(1, "a"), member(nil, "x"), member(3, "c"), member(2, "b"), member(4, "d")]
        let order = ThumbnailMaker.candidates(members).map(\.sopInstanceUID)
        // Sorted: a b c d e x -> the middle (index 3) first, then after/before alternately.
        #expect(order == ["d", "e", "c", "x", "b", "a"])
        #expect(ThumbnailMaker.candidates([member(nil, "p"), member(nil, "q"), member(nil, "r")]).map(\.sopInstanceUID)
                == ["q", "r", "p"])
        #expect(ThumbnailMaker.candidates([]).isEmpty)
    }

    @Test func seriesThumbnailIsItsMiddleInstance() throws {
        let source = FakeSource([corpusSeries("1.9.1", study: "1.9", ["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm",
                                                                     "bachmai/ct-head-3.dcm"])])
        let maker = ThumbnailMaker(source: source)
        let outcome = try maker.series("1.9.1", size: 256)
        #expect(outcome == (try renderer.thumbnail(file: TestImages.url("bachmai/ct-head-2.dcm").path, size: 256)))
        #expect(outcome != (try renderer.thumbnail(file: TestImages.url("bachmai/ct-head-1.dcm").path, size: 256)))
    }

    @Test func aNeighbourStandsInForAMiddleInstanceWithoutPixels() throws {
        let sr = try RenderFixtures.url("sr-basic-text.dcm").path
        let series = FakeSource.Series(uid: "1.9.2", study: "1.9", number: 1, members: [
            SeriesMember(sopInstanceUID: "a", path: TestImages.url("bachmai/mr-lspine-1.dcm").path, instanceNumber: 1),
            SeriesMember(sopInstanceUID: "b", path: sr, instanceNumber: 2),
            SeriesMember(sopInstanceUID: "c", path: TestImages.url("bachmai/mr-lspine-2.dcm").path, instanceNumber: 3),
        ])
        let outcome = try ThumbnailMaker(source: FakeSource([series])).series("1.9.2", size: 128)
        #expect(outcome == (try renderer.thumbnail(file: TestImages.url("bachmai/mr-lspine-2.dcm").path, size: 128)))
    }

    @Test func seriesWithoutImagesHasNoThumbnail() throws {
        let source = FakeSource([
            try fixtureSeries("1.9.3", study: "1.9", ["sr-basic-text.dcm", "sr-basic-text.dcm"]),
            try fixtureSeries("1.9.4", study: "1.9", ["video-mpeg4.dcm"]),
            corpusSeries("1.9.5", study: "1.9", ["bad/truncated-in-pixel-data.dcm"]),
        ])
        let maker = ThumbnailMaker(source: source)
        #expect(try maker.series("1.9.3", size: 256) == .none(NoThumbnail(.noPixels, detail: "no Pixel Data (SOP class BasicTextSRStorage)")))
        guard case .none(let video) = try maker.series("1.9.4", size: 256) else { Issue.record("video"); return }
        #expect(video.reason == .video)
        guard case .none(let broken) = try maker.series("1.9.5", size: 256) else { Issue.record("broken"); return }
        #expect(broken.reason == .undecodable)
    }

    @Test func unknownSeriesAndStudyAreErrors() throws {
        let maker = ThumbnailMaker(source: FakeSource())
        #expect(throws: ThumbnailError.self) { try maker.series("1.2.3", size: 256) }
        do {
            _ = try maker.series("1.2.3", size: 256)
        } catch {
            #expect(error.code == .unknownSeries)
        }
        do {
            _ = try maker.study("1.2.3", size: 256)
        } catch {
            #expect(error.code == .unknownStudy)
        }
        // Files that cannot be read (gone from the store) are errors, not recorded outcomes.
        let gone = FakeSource([FakeSource.Series(uid: "1.9.6", study: "1.9", number: nil, members: [
            SeriesMember(sopInstanceUID: "z", path: "/nonexistent/z.dcm", instanceNumber: 1)])])
        do {
            _ = try ThumbnailMaker(source: gone).series("1.9.6", size: 256)
            Issue.record("a missing file gave an outcome")
        } catch {
            #expect(error.code == .unreadable)
        }
    }

    @Test func studyOfOneSeriesIsThatSeriesThumbnail() throws {
        let source = FakeSource([corpusSeries("1.8.1", study: "1.8", ["vietduc/dx-chest.dcm"])])
        let maker = ThumbnailMaker(source: source)
        #expect(try maker.study("1.8", size: 200) == (try maker.series("1.8.1", size: 200)))
    }

    @Test func studyOfTwoSeriesIsSideBySideInSeriesNumberOrder() throws {
        let source = FakeSource([
            corpusSeries("1.7.2", study: "1.7", number: 2, ["vietduc/us-thyroid-grey.dcm"]),
            corpusSeries("1.7.1", study: "1.7", number: 1, ["bachmai/ct-head-1.dcm"]),
            try fixtureSeries("1.7.3", study: "1.7", number: 3, ["sr-basic-text.dcm"]),  // skipped: no image
        ])
        guard case .image(let mosaic) = try ThumbnailMaker(source: source).study("1.7", size: 256) else {
            Issue.record("no mosaic")
            return
        }
        #expect((mosaic.width, mosaic.height, mosaic.channels) == (256, 128, 1))
        let pixels = try decode(mosaic)
        // Left cell: series 1 (CT, 128 x 128 fills it); right cell: series 2 (160 x 128 -> 128 x 102, centred).
        let ct = try renderer.image(file: TestImages.url("bachmai/ct-head-1.dcm").path, size: 128)
        let us = try renderer.image(file: TestImages.url("vietduc/us-thyroid-grey.dcm").path, size: 128)
        #expect((us.width, us.height) == (128, 102))
        #expect(crop(pixels, x: 0, y: 0, width: 128, height: 128) == raster(ct))
        #expect(crop(pixels, x: 128, y: 13, width: 128, height: 102) == raster(us))
        #expect(crop(pixels, x: 128, y: 0, width: 128, height: 13).pixels.allSatisfy { $0 == 0 }, "black above")
        #expect(crop(pixels, x: 128, y: 115, width: 128, height: 13).pixels.allSatisfy { $0 == 0 }, "black below")
    }

    @Test func studyOfManySeriesIsATwoByTwoGridInColourWhenAnyTileIs() throws {
        let source = FakeSource([
            corpusSeries("1.6.1", study: "1.6", number: 1, ["bachmai/ct-head-1.dcm"]),
            corpusSeries("1.6.2", study: "1.6", number: 2, ["choray/us-abdomen-rgb.dcm"]),
            corpusSeries("1.6.3", study: "1.6", number: 3, ["bachmai/mr-lspine-1.dcm"]),
            corpusSeries("1.6.4", study: "1.6", number: 4, ["choray/cr-chest.dcm"]),
            corpusSeries("1.6.5", study: "1.6", number: 5, ["vietduc/dx-knee.dcm"]),  // a fifth: not shown
        ])
        guard case .image(let mosaic) = try ThumbnailMaker(source: source).study("1.6", size: 256) else {
            Issue.record("no mosaic")
            return
        }
        #expect((mosaic.width, mosaic.height, mosaic.channels) == (256, 256, 3))
        let pixels = try decode(mosaic)
        let rgb = try renderer.image(file: TestImages.url("choray/us-abdomen-rgb.dcm").path, size: 128)
        #expect(crop(pixels, x: 128, y: 0, width: 128, height: 128) == raster(rgb))
        let cr = try renderer.image(file: TestImages.url("choray/cr-chest.dcm").path, size: 128)
        let grey = crop(pixels, x: 128, y: 128, width: 128, height: 128)
        #expect(grey.pixels.enumerated().allSatisfy { $0.element == cr.pixels[$0.offset / 3] }, "grey tile as RGB")
    }

    @Test func studyWithoutImagesHasNoThumbnail() throws {
        let source = FakeSource([try fixtureSeries("1.5.1", study: "1.5", ["sr-basic-text.dcm"]),
                                 try fixtureSeries("1.5.2", study: "1.5", ["encapsulated-pdf.dcm"])])
        guard case .none(let none) = try ThumbnailMaker(source: source).study("1.5", size: 256) else {
            Issue.record("a study of SR and PDF got a thumbnail")
            return
        }
        #expect(none.reason == .noPixels)
    }
}

func crop(_ r: Raster, x: Int, y: Int, width: Int, height: Int) -> Raster {
    var out: [UInt8] = []
    for row in y..<(y + height) {
        let start = (row * r.width + x) * r.channels
        out += r.pixels[start..<start + width * r.channels]
    }
    return Raster(width: width, height: height, channels: r.channels, pixels: out)
}
