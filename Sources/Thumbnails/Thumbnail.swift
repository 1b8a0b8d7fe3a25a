import Foundation

/// A PNG thumbnail: its bytes and, read from its header, its size and number of channels.
public struct Thumbnail: Sendable, Hashable {
    public let png: Data
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// nil when `png` does not start with a PNG signature and an 8-bit grey or RGB IHDR chunk, or
    /// lacks the closing IEND chunk (a damaged cache file).
    public init?(png: Data) {
        let bytes = [UInt8](png.prefix(33))
        guard bytes.count == 33, Array(bytes[0..<8]) == Thumbnail.signature,
              Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        let width = be32(16), height = be32(20)
        let bitDepth = bytes[24], colourType = bytes[25]
        guard width > 0, height > 0, bitDepth == 8, colourType == 0 || colourType == 2 else { return nil }
        guard png.count >= 45, Array(png.suffix(8).prefix(4)) == Array("IEND".utf8) else { return nil }
        self.png = png
        self.width = width
        self.height = height
        self.channels = colourType == 0 ? 1 : 3
    }
}
