import Foundation
import Testing
import DicomCore
import DicomTestSupport
@testable import DcmtkBridge

/// JPEG 2000 (and HTJ2K) pixel data decoded to native for those who cannot take it compressed
/// (WADO-RS in an uncompressed syntax, WADO-RS frames, C-MOVE / C-GET sub-operations): DCMTK has no
/// JPEG 2000 codec, the shim decodes every frame with OpenJPEG. Lossless copies must come back equal,
/// byte for byte, to the native file they were made from (`make-render-fixtures.py`).
@Suite struct Jpeg2000TranscodingTests {
    static let explicitLittle = "1.2.840.10008.1.2.1"
    static let pixelRepresentation = DicomTag(0x0028, 0x0103)
    static let bitsStored = DicomTag(0x0028, 0x0101)
    static let planarConfiguration = DicomTag(0x0028, 0x0006)

    /// (JPEG 2000 copy, its native reference): signed 16-bit CT, a signed data set whose codestream
    /// is unsigned, 12-bit MONOCHROME1, PALETTE COLOR indexes, 60 frames found through the Basic
    /// Offset Table and through SOC markers (two fragments per frame, no table).
    static let lossless: [(String, String)] = [
        ("ct512-j2k-lossless.dcm", "ct512.dcm"),
        ("ct512-j2k-unsigned-codestream.dcm", "ct512.dcm"),
        ("cr2048-j2k.dcm", "cr2048.dcm"),
        ("ct512-monochrome1-j2k.dcm", "ct512-monochrome1.dcm"),
        ("palette-8bit-j2k.dcm", "palette-8bit.dcm"),
        ("multiframe-60-j2k-bot.dcm", "multiframe-60.dcm"),
        ("multiframe-60-j2k-2fragments.dcm", "multiframe-60.dcm"),
    ]

    @Test(arguments: lossless)
    func aLosslessCopyDecodesToItsSource(copy: String, source: String) throws {
        let reference = try DicomFile(path: try RenderFixtures.url(source).path)
        let decoded = try DicomFile(data: try DicomFile(path: try RenderFixtures.url(copy).path, options: [.keepOriginalCharacterSet])
            .part10Data(transferSyntax: Self.explicitLittle))
        #expect(decoded.transferSyntaxUID == Self.explicitLittle)
        let pixels = try #require(try decoded.elementBytes(.pixelData))
        #expect(pixels == (try reference.elementBytes(.pixelData)), "\(copy): \(pixels.count) bytes")
        for tag in [DicomTag.photometricInterpretation, Self.pixelRepresentation, Self.bitsStored, .numberOfFrames] {
            #expect(decoded.string(tag) == reference.string(tag), "\(copy) \(tag)")
        }
    }

    /// A reversible colour transform (YBR_RCT) is undone: the samples are RGB again, interleaved.
    @Test(arguments: ["us-rgb-j2k-rct.dcm", "us-rgb-j2k-nomct.dcm"])
    func colourComesBackAsInterleavedRGB(copy: String) throws {
        let reference = try DicomFile(path: TestImages.url("choray/us-abdomen-rgb.dcm").path)
        let decoded = try DicomFile(data: try DicomFile(path: try RenderFixtures.url(copy).path, options: [.keepOriginalCharacterSet])
            .part10Data(transferSyntax: "1.2.840.10008.1.2"))
        #expect(decoded.transferSyntaxUID == "1.2.840.10008.1.2")
        #expect(decoded.string(.photometricInterpretation) == "RGB")
        #expect(decoded.string(Self.planarConfiguration) == "0")
        #expect(try decoded.elementBytes(.pixelData) == (try reference.elementBytes(.pixelData)), "\(copy)")
    }

    /// Under an HTJ2K transfer syntax (unknown to DCMTK 3.6.7, which then keeps the pixel data as a
    /// pixel sequence under another representation key): a Part 1 codestream, which HTJ2K decoders take.
    @Test func anHTJ2KTransferSyntaxIsDecodedToo() throws {
        let file = try DicomFile(path: try RenderFixtures.url("ct512-labelled-htj2k.dcm").path, options: [.keepOriginalCharacterSet])
        #expect(file.transferSyntaxUID == "1.2.840.10008.1.2.4.201")
        let reference = try DicomFile(path: try RenderFixtures.url("ct512.dcm").path)
        let bytes = try file.part10Data(transferSyntax: Self.explicitLittle)
        let decoded = try DicomFile(data: bytes)
        #expect(try decoded.elementBytes(.pixelData) == (try reference.elementBytes(.pixelData)))
        // The handle keeps its decoded pixels: asking again gives the same file, not an error.
        #expect(try file.part10Data(transferSyntax: Self.explicitLittle) == bytes)
    }

    /// WADO-RS frames: a frame asked for is decoded alone, uncompressed: 12-bit frames found by SOC
    /// markers or by the offset table, and an 8-bit RGB frame whose colour transform is undone.
    @Test func framesAreDecodedOneByOne() throws {
        let multiframe = try DicomFile(path: try RenderFixtures.url("multiframe-60.dcm").path)
        let rgb = try DicomFile(path: TestImages.url("choray/us-abdomen-rgb.dcm").path)
        let cases: [(String, DicomFile, [Int])] = [
            ("multiframe-60-j2k-nobot.dcm", multiframe, [0, 29, 59]),
            ("multiframe-60-j2k-2fragments-bot.dcm", multiframe, [30]),
            ("us-rgb-j2k-rct.dcm", rgb, [0]),
        ]
        for (name, reference, frames) in cases {
            let file = try DicomFile(path: try RenderFixtures.url(name).path)
            for index in frames {
                let frame = try #require(try file.frame(index), "\(name) frame \(index + 1)")
                #expect(frame == (try reference.frame(index)), "\(name) frame \(index + 1)")
            }
        }
        let last = try DicomFile(path: try RenderFixtures.url("multiframe-60-j2k-bot.dcm").path)
        #expect(try last.frame(60) == nil)
    }

    /// A codestream that does not match its data set (Rows edited) is an error that says so, never
    /// a crash or pixels cut to the wrong size.
    @Test func aCodestreamThatDoesNotMatchItsDataSetIsAClearError() throws {
        let file = try DicomFile(path: try RenderFixtures.url("ct512-j2k-lossless.dcm").path, options: [.keepOriginalCharacterSet])
        try file.put("256", for: DicomTag(0x0028, 0x0010))
        do {
            _ = try file.part10Data(transferSyntax: Self.explicitLittle)
            Issue.record("a JPEG 2000 codestream of 512 rows was transcoded as 256")
        } catch {
            #expect("\(error)".contains("JPEG 2000") && "\(error)".contains("Rows"), "\(error)")
        }
        #expect(throws: DcmtkError.self) { try file.frame(0) }
    }
}
