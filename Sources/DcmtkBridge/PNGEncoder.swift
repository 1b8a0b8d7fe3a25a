import Foundation
internal import CDcmtkShim

/// 8-bit grey or RGB pixels to PNG (libpng in the shim, not interlaced). Blocking CPU work:
/// call from a worker thread.
public enum PNGEncoder {
    /// libpng's default level (with the shim's one cheap filter, SUB, up to level 6).
    public static let defaultCompressionLevel = 6

    /// `pixels` row-major, top row first, `channels` 1 (grey) or 3 (RGB interleaved);
    /// `compressionLevel` 0 (none) ... 9 (smallest); 1 is the fastest that still compresses.
    public static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int,
                              compressionLevel: Int = defaultCompressionLevel) throws(DcmtkError) -> Data {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max), channels == 1 || channels == 3,
              pixels.count == width * height * channels else {
            throw DcmtkError(code: .argument,
                             message: "PNG encoding: \(pixels.count) bytes do not make a \(width) x \(height) image of \(channels) channel(s)")
        }
        guard (0...9).contains(compressionLevel) else {
            throw DcmtkError(code: .argument, message: "PNG encoding: the compression level must be 0 ... 9")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        var error = cdcm_error()
        let status = pixels.withUnsafeBufferPointer { p in
            cdcm_png_encode(p.baseAddress, UInt32(width), UInt32(height), UInt32(channels), Int32(compressionLevel),
                            &out, &length, &error)
        }
        guard status == 0, let out else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_png_free(out) }
        return Data(bytes: out, count: length)
    }

    /// The pixels of a rendered image (its outcome must be `.image`).
    public static func encode(_ image: RenderedImage, compressionLevel: Int = defaultCompressionLevel) throws(DcmtkError) -> Data {
        guard image.outcome == .image else {
            throw DcmtkError(code: .argument, message: "PNG encoding: the rendered object has no pixels (\(image.detail))")
        }
        return try encode(pixels: image.pixels, width: image.width, height: image.height, channels: image.channels,
                          compressionLevel: compressionLevel)
    }
}

/// 8-bit grey or RGB pixels to JPEG (libjpeg in the shim), for rendered resources.
public enum JPEGEncoder {
    public static func encode(_ image: RenderedImage, quality: Int = 90) throws(DcmtkError) -> Data {
        guard image.outcome == .image else {
            throw DcmtkError(code: .argument, message: "JPEG encoding: the rendered object has no pixels (\(image.detail))")
        }
        guard (1...100).contains(quality) else { throw DcmtkError(code: .argument, message: "JPEG quality must be 1 ... 100") }
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        var error = cdcm_error()
        let status = image.pixels.withUnsafeBufferPointer { p in
            cdcm_jpeg_encode(p.baseAddress, UInt32(image.width), UInt32(image.height), UInt32(image.channels), Int32(quality),
                             &out, &length, &error)
        }
        guard status == 0, let out else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_png_free(out) }
        return Data(bytes: out, count: length)
    }
}
