import Foundation

/// 8-bit grey or RGB pixels read from a binary PGM/PPM file (dcmj2pnm's output, or a decoded PNG),
/// for pixel-by-pixel comparisons.
public struct Raster: Sendable, Hashable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a P5 (grey) or P6 (RGB) file with maxval 255.
    public init(pnm url: URL) throws {
        let data = [UInt8](try Data(contentsOf: url))
        var fields: [String] = []
        var i = 0
        while fields.count < 4 && i < data.count {
            while i < data.count && (data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { i += 1 }
            if i < data.count && data[i] == UInt8(ascii: "#") {
                while i < data.count && data[i] != 0x0A { i += 1 }
                continue
            }
            let start = i
            while i < data.count && !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { i += 1 }
            fields.append(String(decoding: data[start..<i], as: UTF8.self))
        }
        i += 1  // the single whitespace after maxval
        guard fields.count == 4, fields[0] == "P5" || fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]),
              fields[3] == "255" else {
            throw FormatError(description: "\(url.path): not an 8-bit binary PGM/PPM")
        }
        let channels = fields[0] == "P5" ? 1 : 3
        guard data.count - i == w * h * channels else {
            throw FormatError(description: "\(url.path): \(data.count - i) pixel bytes for \(w) x \(h) x \(channels)")
        }
        self.init(width: w, height: h, channels: channels, pixels: Array(data[i...]))
    }

    /// The largest absolute difference of two rasters of the same shape (nil when shapes differ).
    public func maxDifference(_ other: Raster) -> Int? {
        guard width == other.width, height == other.height, channels == other.channels else { return nil }
        var worst = 0
        for (a, b) in zip(pixels, other.pixels) { worst = max(worst, abs(Int(a) - Int(b))) }
        return worst
    }

    /// The mean absolute difference (nil when shapes differ).
    public func meanDifference(_ other: Raster) -> Double? {
        guard width == other.width, height == other.height, channels == other.channels, !pixels.isEmpty else { return nil }
        var sum = 0
        for (a, b) in zip(pixels, other.pixels) { sum += abs(Int(a) - Int(b)) }
        return Double(sum) / Double(pixels.count)
    }

    /// Decodes PNG files with `Tests/tools/png_to_pnm.py` (one Python run for all of them).
    public static func decodePNGs(_ urls: [URL]) throws -> [Raster] {
        guard !urls.isEmpty else { return [] }
        let script = TestImages.packageRoot.appendingPathComponent("Tests/tools/png_to_pnm.py").path
        let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script] + urls.map(\.path))
        guard result.status == 0 else { throw FormatError(description: "PNG decoding failed: \(result.stderr)") }
        return try urls.map { try Raster(pnm: URL(fileURLWithPath: $0.path + ".pnm")) }
    }

    public static func decodePNG(_ data: Data, in folder: URL) throws -> Raster {
        let url = folder.appendingPathComponent("decoded-\(UUID().uuidString.prefix(8)).png")
        try data.write(to: url)
        return try decodePNGs([url])[0]
    }
}
