import Foundation
import Testing
import DcmtkBridge
import DicomTestSupport
@testable import Thumbnails

/// Exact checks on synthetic images whose rendering is known without a reference renderer.
@Suite struct KnownValueTests {
    let renderer = ThumbnailRenderer()

    func pixels(_ file: URL, size: Int = 256) throws -> Raster {
        guard case .image(let thumbnail) = try renderer.thumbnail(file: file.path, size: size) else {
            throw ThumbnailError(.internal, "\(file.lastPathComponent): no thumbnail")
        }
        return try decode(thumbnail)
    }

    /// stored = 16 * column + 1024, intercept -1024, window 2040.5 / 4081: DICOM's linear VOI
    /// function gives exactly grey level = column. Rows 12-15 lie far outside the window.
    @Test func gradientUnderAKnownWindow() throws {
        let url = try RenderFixtures.url("gradient-window.dcm")
        let image = try renderer.image(file: url.path, size: 256)
        #expect(image.windowSource == .file)
        #expect(image.window == RenderedImage.Window(center: 2040.5, width: 4081))
        let raster = try pixels(url)
        #expect((raster.width, raster.height, raster.channels) == (256, 16, 1))
        for row in 0..<12 {
            #expect(Array(raster.pixels[row * 256..<(row + 1) * 256]) == (0...255).map { UInt8($0) }, "row \(row)")
        }
        for row in 12..<16 {
            let line = Array(raster.pixels[row * 256..<(row + 1) * 256])
            #expect(line == Array(repeating: 0, count: 128) + Array(repeating: 255, count: 128), "row \(row)")
        }
    }

    @Test func monochrome1IsTheInverseOfTheSameDataAsMonochrome2() throws {
        let m2 = try pixels(try RenderFixtures.url("gradient-window.dcm"))
        let m1 = try pixels(try RenderFixtures.url("gradient-window-monochrome1.dcm"))
        #expect(m1.pixels == m2.pixels.map { 255 - $0 })

        // A 512 x 512 CT, scaled to 256: DCMTK's inverted output may round one level apart.
        let ct = try pixels(try RenderFixtures.url("ct512.dcm"))
        let ct1 = try pixels(try RenderFixtures.url("ct512-monochrome1.dcm"))
        let inverted = Raster(width: ct.width, height: ct.height, channels: 1, pixels: ct.pixels.map { 255 - $0 })
        #expect(try #require(ct1.maxDifference(inverted)) <= 1)
        #expect(Set(ct.pixels).count > 20, "not a flat image")
    }

    /// Lossless copies made by DCMTK (JPEG lossless, JPEG-LS, RLE) and JPEG 2000 lossless copies
    /// give byte-identical thumbnails.
    @Test(arguments: [
        ("bachmai/ct-head-1.dcm", "compressed/ct-head-1-jpeg-lossless-sv1.dcm"),
        ("bachmai/ct-head-1.dcm", "compressed/ct-head-1-jpegls-lossless.dcm"),
        ("bachmai/ct-head-1.dcm", "compressed/ct-head-1-rle.dcm"),
        ("choray/us-abdomen-rgb.dcm", "compressed/us-abdomen-rgb-jpeg-lossless-sv1.dcm"),
        ("choray/us-abdomen-rgb.dcm", "compressed/us-abdomen-rgb-jpegls-lossless.dcm"),
        ("choray/us-abdomen-rgb.dcm", "compressed/us-abdomen-rgb-rle.dcm"),
        ("bachmai/mr-lspine-1.dcm", "compressed/mr-lspine-1-deflated.dcm"),
        ("bachmai/mr-lspine-1.dcm", "encodings/mr-lspine-1-explicit-big-endian.dcm"),
    ])
    func losslessCopiesAreIdentical(_ source: String, _ copy: String) throws {
        for size in [256, 64] {
            let a = try renderer.thumbnail(file: TestImages.url(source).path, size: size)
            let b = try renderer.thumbnail(file: TestImages.url(copy).path, size: size)
            #expect(a.thumbnail != nil)
            #expect(a == b, "\(copy) @\(size)")
        }
    }

    @Test(arguments: [
        ("ct512.dcm", "ct512-j2k-lossless.dcm"),
        ("ct512.dcm", "ct512-j2k-unsigned-codestream.dcm"),
        ("ct512-monochrome1.dcm", "ct512-monochrome1-j2k.dcm"),
        ("bits12of16-unsigned-junk.dcm", "bits12of16-j2k.dcm"),
        ("multiframe-60.dcm", "multiframe-60-j2k-bot.dcm"),
        ("multiframe-60.dcm", "multiframe-60-j2k-2fragments.dcm"),
        ("palette-8bit.dcm", "palette-8bit-j2k.dcm"),
    ])
    func jpeg2000LosslessCopiesAreIdentical(_ source: String, _ copy: String) throws {
        let a = try renderer.thumbnail(file: try RenderFixtures.url(source).path, size: 256)
        let b = try renderer.thumbnail(file: try RenderFixtures.url(copy).path, size: 256)
        #expect(a.thumbnail != nil)
        #expect(a == b, "\(copy)")
    }

    /// Lossy JPEG 2000 (10:1), and a 2048 x 2048 CR decoded at a reduced resolution for a 256 px
    /// thumbnail: close to the source's thumbnail, not equal.
    @Test(arguments: [
        ("ct512.dcm", "ct512-j2k-lossy.dcm", 256, 12, 1.0),
        ("cr2048.dcm", "cr2048-j2k.dcm", 256, 40, 2.5),
        ("cr2048.dcm", "cr2048-j2k.dcm", 128, 40, 2.5),
    ])
    func jpeg2000CopiesAreCloseToTheirSource(_ source: String, _ copy: String, size: Int, maxDifference: Int,
                                             meanDifference: Double) throws {
        let a = try pixels(try RenderFixtures.url(source), size: size)
        let b = try pixels(try RenderFixtures.url(copy), size: size)
        #expect((a.width, a.height) == (b.width, b.height))
        let worst = try #require(a.maxDifference(b))
        let mean = try #require(a.meanDifference(b))
        #expect(worst <= maxDifference, "\(copy) @\(size): max difference \(worst)")
        #expect(mean <= meanDifference, "\(copy) @\(size): mean difference \(mean)")
    }

    /// Aspect ratio: Pixel Spacing 1.0 \ 0.5 on 256 x 128 -> 256 x 256; Pixel Aspect Ratio 2:1 on
    /// 100 x 50 -> 100 x 100.
    @Test func nonSquarePixelsAreShownSquare() throws {
        let a = try pixels(try RenderFixtures.url("aspect-pixelspacing.dcm"))
        #expect((a.width, a.height) == (256, 256))
        let b = try pixels(try RenderFixtures.url("aspect-ratio-2to1.dcm"))
        #expect((b.width, b.height) == (100, 100))
        let c = try pixels(try RenderFixtures.url("aspect-pixelspacing.dcm"), size: 64)
        #expect((c.width, c.height) == (64, 64))
    }
}

/// Objects without pixels and videos: no thumbnail, recorded as such, never an error; broken
/// files are errors that say which kind.
@Suite struct NoThumbnailTests {
    @Test(arguments: [
        ("sr-basic-text.dcm", NoThumbnail.Reason.noPixels), ("encapsulated-pdf.dcm", .noPixels),
        ("rt-structure-set.dcm", .noPixels), ("presentation-state.dcm", .noPixels), ("raw-data.dcm", .noPixels),
        ("video-mpeg4.dcm", .video), ("video-hevc.dcm", .video), ("video-mpeg2.dcm", .video),
        ("float-pixel-data.dcm", .unsupported), ("unknown-encapsulated-jpegxl.dcm", .unsupported),
    ])
    func noThumbnail(_ file: String, _ reason: NoThumbnail.Reason) throws {
        let outcome = try ThumbnailRenderer().thumbnail(file: try RenderFixtures.url(file).path, size: 256)
        guard case .none(let none) = outcome else {
            Issue.record("\(file): a thumbnail was made")
            return
        }
        #expect(none.reason == reason)
        #expect(!none.detail.isEmpty)
        #expect(!none.description.contains("Render^Fixture"), "no patient data")
    }

    @Test func brokenFilesAreErrors() throws {
        func code(_ path: String) -> ThumbnailError.Code? {
            do {
                _ = try ThumbnailRenderer().thumbnail(file: path, size: 256)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code("/nonexistent/x.dcm") == .unreadable)
        #expect(code(TestImages.url("bad/random.dcm").path) == .undecodable)
        #expect(code(TestImages.url("bad/notes.dcm").path) == .undecodable)
        #expect(code(TestImages.url("bad/truncated-in-pixel-data.dcm").path) == .undecodable)
        #expect(code(try RenderFixtures.url("ct512-j2k-truncated.dcm").path) == .undecodable)
        #expect(code(TestImages.url("bachmai/ct-head-1.dcm").path) == nil)
        do {
            _ = try ThumbnailRenderer().thumbnail(file: TestImages.url("bachmai/ct-head-1.dcm").path, size: 0)
            Issue.record("size 0 accepted")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }
}
