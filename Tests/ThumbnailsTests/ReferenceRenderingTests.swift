import Foundation
import Testing
import DcmtkBridge
import DicomTestSupport
@testable import Thumbnails

/// Thumbnails compared pixel by pixel with DCMTK's own rendering (`dcmj2pnm`, `dcml2pnm` for
/// JPEG-LS) of the same frame, window and size: at most 2 grey levels apart. The PNG written is
/// decoded and must hold exactly the rendered pixels.
@Suite struct ReferenceRenderingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let file: String
        let fixture: Bool
        let size: Int
        var testDescription: String { "\(file) @\(size)" }

        func url() throws -> URL { fixture ? try RenderFixtures.url(file) : TestImages.url(file) }
    }

    static let cases: [Case] = [
        ("bachmai/ct-head-1.dcm", 256), ("bachmai/ct-head-1.dcm", 64),            // CT, file window 40/80
        ("bachmai/mr-lspine-1.dcm", 256), ("bachmai/mr-lspine-1.dcm", 100),       // MR
        ("choray/cr-chest.dcm", 256), ("choray/cr-chest.dcm", 100),               // CR MONOCHROME1, automatic window
        ("vietduc/dx-chest.dcm", 256), ("vietduc/dx-knee.dcm", 64),               // DX, 12 of 16 bits
        ("vietduc/us-thyroid-grey.dcm", 128),                                     // 8-bit grey, not square
        ("choray/us-abdomen-rgb.dcm", 256), ("choray/us-abdomen-rgb.dcm", 48),    // RGB
        ("choray/us-abdomen-ybr-full.dcm", 256),                                  // YBR_FULL, planar configuration 1
        ("choray/us-abdomen-cine-5frames.dcm", 256),                              // multi-frame: the middle frame
        ("compressed/us-abdomen-cine-5frames-jpeg-baseline.dcm", 64),             // JPEG baseline YBR_FULL_422, multi-frame
        ("compressed/us-abdomen-rgb-jpeg-baseline.dcm", 256),
        ("compressed/us-thyroid-grey-jpeg-baseline.dcm", 100),
        ("compressed/ct-head-1-jpegls-lossless.dcm", 100),
        ("compressed/ct-head-1-rle.dcm", 64),
        ("compressed/mr-lspine-1-deflated.dcm", 256),
        ("encodings/mr-lspine-1-explicit-big-endian.dcm", 256),
        ("encodings/cr-chest-implicit-little-endian.dcm", 128),
    ].map { Case(file: $0.0, fixture: false, size: $0.1) } + [
        ("ct512.dcm", 256), ("ct512.dcm", 100),              // 512 x 512 signed CT, padding, first of two windows
        ("ct512-nowindow.dcm", 256),                         // automatic window without the padding
        ("ct512-voilut.dcm", 256),                           // VOI LUT
        ("bits12of16-signed-junk.dcm", 256),                 // signed, junk in the unused high bits
        ("palette-8bit.dcm", 256), ("palette-16bit.dcm", 100),
        ("ybr-full-422-native.dcm", 256),
        ("multiframe-60.dcm", 128),                          // frame 30 of 60
        ("signed8.dcm", 256),
    ].map { Case(file: $0.0, fixture: true, size: $0.1) }

    @Test(arguments: cases)
    func matchesDcmj2pnm(_ c: Case) throws {
        let folder = TemporaryDirectory("reference")
        let url = try c.url()
        let renderer = ThumbnailRenderer()
        let image = try renderer.image(file: url.path, size: c.size)
        #expect(image.outcome == .image)
        #expect(max(image.width, image.height) <= c.size)
        let thumbnail = try renderer.encode(image)
        #expect((thumbnail.width, thumbnail.height, thumbnail.channels) == (image.width, image.height, image.channels))
        #expect(try decode(thumbnail) == raster(image), "the PNG holds exactly the rendered pixels")
        // The whole path (file -> PNG) gives the same bytes.
        #expect(try renderer.thumbnail(file: url.path, size: c.size) == .image(thumbnail))

        var arguments = ["+F", "\(image.frameRendered + 1)", "-O"]
        switch image.windowSource {
        case .file: arguments += ["+Wi", "1"]
        case .voiLUT: arguments += ["+Wl", "1"]
        case .automatic, .caller:
            let window = try #require(image.window)
            arguments += ["+Ww", "\(window.center)", "\(window.width)"]
        case .none: break
        }
        if (image.width, image.height) != (image.sourceColumns, image.sourceRows) {
            // The long side is exact; DCMTK works out the other one.
            arguments += image.width >= image.height ? ["+Sxv", "\(image.width)", "+i", "1"]
                                                     : ["+Syv", "\(image.height)", "+i", "1"]
        }
        let reference = folder.appending("reference.pnm")
        let tool = c.file.contains("jpegls") ? "dcml2pnm" : "dcmj2pnm"
        let run = try DcmtkTool.run(tool, ["-q"] + arguments + ["+op", url.path, reference.path])
        #expect(run.status == 0, "\(tool): \(run.stderr)")
        let expected = try Raster(pnm: reference)
        let difference = try #require(raster(image).maxDifference(expected),
                                      "size \(image.width)x\(image.height)x\(image.channels) vs dcmj2pnm's \(expected.width)x\(expected.height)x\(expected.channels)")
        #expect(difference <= 2, "\(c.file) @\(c.size): max difference \(difference) from \(tool) \(arguments.joined(separator: " "))")
    }
}
