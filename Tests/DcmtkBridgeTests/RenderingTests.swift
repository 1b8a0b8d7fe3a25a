import Foundation
import Testing
import DicomTestSupport
@testable import DcmtkBridge

/// The Swift face of the shim's renderer and PNG encoder: what it reports, and its errors. The
/// pixels themselves are checked against dcmj2pnm and known values in ThumbnailsTests.
@Suite struct RenderingTests {
    @Test func ctWithItsOwnWindow() throws {
        let image = try DicomRenderer.render(file: TestImages.url("bachmai/ct-head-1.dcm").path)
        #expect(image.outcome == .image)
        #expect(image.detail.isEmpty)
        #expect((image.width, image.height, image.channels) == (128, 128, 1))
        #expect(image.pixels.count == 128 * 128)
        #expect((image.sourceColumns, image.sourceRows) == (128, 128))
        #expect((image.frameCount, image.frameRendered) == (1, 0))
        #expect(image.windowSource == .file)
        #expect(image.window == RenderedImage.Window(center: 40, width: 80))
    }

    @Test func scaledToTheLongSideWithTheAspectRatioKept() throws {
        // us-thyroid-grey is 160 columns x 128 rows.
        let image = try DicomRenderer.render(file: TestImages.url("vietduc/us-thyroid-grey.dcm").path,
                                             options: .init(maxSize: 80))
        #expect((image.width, image.height) == (80, 64))
        #expect(image.pixels.count == 80 * 64)
        // Never enlarged.
        let full = try DicomRenderer.render(file: TestImages.url("vietduc/us-thyroid-grey.dcm").path,
                                            options: .init(maxSize: 1000))
        #expect((full.width, full.height) == (160, 128))
    }

    @Test func multiFrameShowsTheMiddleFrameUnlessAskedOtherwise() throws {
        let path = TestImages.url("choray/us-abdomen-cine-5frames.dcm").path
        let middle = try DicomRenderer.render(file: path)
        #expect((middle.frameCount, middle.frameRendered) == (5, 2))
        #expect(middle.channels == 3)
        #expect(middle.windowSource == .none)
        #expect(middle.window == nil)
        let last = try DicomRenderer.render(file: path, options: .init(frame: 4))
        #expect(last.frameRendered == 4)
        #expect(last.pixels != middle.pixels)
        #expect(throws: DcmtkError.self) { try DicomRenderer.render(file: path, options: .init(frame: 5)) }
    }

    @Test func callersWindowWins() throws {
        let image = try DicomRenderer.render(file: TestImages.url("bachmai/ct-head-1.dcm").path,
                                             options: .init(window: .init(center: 400, width: 2000)))
        #expect(image.windowSource == .caller)
        #expect(image.window == RenderedImage.Window(center: 400, width: 2000))
        let own = try DicomRenderer.render(file: TestImages.url("bachmai/ct-head-1.dcm").path)
        #expect(image.pixels != own.pixels)
        do {
            _ = try DicomRenderer.render(file: TestImages.url("bachmai/ct-head-1.dcm").path,
                                         options: .init(window: .init(center: 40, width: 0.5)))
            Issue.record("a window narrower than 1 must be refused")
        } catch {
            #expect(error.code == .argument)
        }
    }

    @Test func memoryAndFileGiveTheSamePixels() throws {
        for path in ["bachmai/mr-lspine-1.dcm", "choray/us-abdomen-ybr-full.dcm", "compressed/ct-head-1-rle.dcm"] {
            let url = TestImages.url(path)
            let fromFile = try DicomRenderer.render(file: url.path, options: .init(maxSize: 100))
            let fromMemory = try DicomRenderer.render(data: try Data(contentsOf: url), options: .init(maxSize: 100))
            #expect(fromFile == fromMemory, "\(path)")
        }
    }

    @Test func objectsWithoutPixelsAndVideosAreOutcomesNotErrors() throws {
        let sr = try DicomRenderer.render(file: try RenderFixtures.url("sr-basic-text.dcm").path)
        #expect(sr.outcome == .noPixels)
        #expect(sr.pixels.isEmpty)
        #expect(sr.detail.contains("no Pixel Data"))
        let pdf = try DicomRenderer.render(file: try RenderFixtures.url("encapsulated-pdf.dcm").path)
        #expect(pdf.outcome == .noPixels)
        let video = try DicomRenderer.render(file: try RenderFixtures.url("video-mpeg4.dcm").path)
        #expect(video.outcome == .video)
        #expect(video.detail.contains("1.2.840.10008.1.2.4.102"))
        let float = try DicomRenderer.render(file: try RenderFixtures.url("float-pixel-data.dcm").path)
        #expect(float.outcome == .unsupported)
    }

    @Test func errorsSayWhatWentWrong() throws {
        func code(_ path: String) -> DcmtkError.Code? {
            do {
                _ = try DicomRenderer.render(file: path)
                return nil
            } catch {
                #expect(error.source == path)
                return error.code
            }
        }
        #expect(code("/nonexistent/file.dcm") == .io)
        #expect(code(TestImages.url("bad/random.dcm").path) == .parse)
        #expect(code(TestImages.url("bad/truncated-in-pixel-data.dcm").path) == .parse)
        #expect(code(try RenderFixtures.url("ct512-j2k-truncated.dcm").path) == .parse)
    }

    @Test func pngEncoding() throws {
        let pixels = (0..<(7 * 5 * 3)).map { UInt8($0 % 256) }
        let png = try PNGEncoder.encode(pixels: pixels, width: 7, height: 5, channels: 3, compressionLevel: 1)
        let bytes = [UInt8](png)
        #expect(Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(Array(bytes[12..<16]) == Array("IHDR".utf8))
        #expect(Array(bytes[16..<24]) == [0, 0, 0, 7, 0, 0, 0, 5])
        #expect(bytes[24] == 8 && bytes[25] == 2)  // 8 bits, RGB
        let folder = TemporaryDirectory("png")
        #expect(try Raster.decodePNG(png, in: folder.url) == Raster(width: 7, height: 5, channels: 3, pixels: pixels))

        #expect(throws: DcmtkError.self) { try PNGEncoder.encode(pixels: pixels, width: 7, height: 5, channels: 1) }
        #expect(throws: DcmtkError.self) { try PNGEncoder.encode(pixels: [], width: 0, height: 0, channels: 1) }
        #expect(throws: DcmtkError.self) { try PNGEncoder.encode(pixels: pixels, width: 7, height: 5, channels: 3, compressionLevel: 10) }
        let sr = try DicomRenderer.render(file: try RenderFixtures.url("sr-basic-text.dcm").path)
        #expect(throws: DcmtkError.self) { try PNGEncoder.encode(sr) }
    }
}
