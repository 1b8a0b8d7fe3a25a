/// A transfer syntax UID with what ImagingIndex needs to know about it.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    public let uid: String
    public let name: String
    public let isCompressed: Bool

    public init(uid: String, name: String, isCompressed: Bool) {
        self.uid = uid
        self.name = name
        self.isCompressed = isCompressed
    }

    public var description: String { name }

    /// The known syntax for a UID, or an unnamed one (treated as compressed: stored as received).
    public static func lookup(_ uid: String) -> TransferSyntax {
        known.first { $0.uid == uid } ?? TransferSyntax(uid: uid, name: uid, isCompressed: true)
    }

    public static let implicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian", isCompressed: false)
    public static let explicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian", isCompressed: false)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian", isCompressed: false)
    public static let explicitVRBigEndian = TransferSyntax(uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian", isCompressed: false)
    public static let jpegBaseline = TransferSyntax(uid: "1.2.840.10008.1.2.4.50", name: "JPEG Baseline (Process 1)", isCompressed: true)
    public static let jpegExtended = TransferSyntax(uid: "1.2.840.10008.1.2.4.51", name: "JPEG Extended (Process 2 & 4)", isCompressed: true)
    public static let jpegLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.57", name: "JPEG Lossless (Process 14)", isCompressed: true)
    public static let jpegLosslessSV1 = TransferSyntax(uid: "1.2.840.10008.1.2.4.70", name: "JPEG Lossless SV1", isCompressed: true)
    public static let jpegLSLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.80", name: "JPEG-LS Lossless", isCompressed: true)
    public static let jpegLSNearLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.81", name: "JPEG-LS Near-Lossless", isCompressed: true)
    public static let jpeg2000Lossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.90", name: "JPEG 2000 Lossless", isCompressed: true)
    public static let jpeg2000 = TransferSyntax(uid: "1.2.840.10008.1.2.4.91", name: "JPEG 2000", isCompressed: true)
    public static let rleLossless = TransferSyntax(uid: "1.2.840.10008.1.2.5", name: "RLE Lossless", isCompressed: true)
    public static let mpeg2 = TransferSyntax(uid: "1.2.840.10008.1.2.4.100", name: "MPEG2 Main Profile", isCompressed: true)
    public static let mpeg4 = TransferSyntax(uid: "1.2.840.10008.1.2.4.102", name: "MPEG-4 AVC/H.264 High Profile", isCompressed: true)
    public static let hevc = TransferSyntax(uid: "1.2.840.10008.1.2.4.107", name: "HEVC/H.265 Main Profile", isCompressed: true)

    public static let known: [TransferSyntax] = [
        .implicitVRLittleEndian, .explicitVRLittleEndian, .deflatedExplicitVRLittleEndian, .explicitVRBigEndian,
        .jpegBaseline, .jpegExtended, .jpegLossless, .jpegLosslessSV1, .jpegLSLossless, .jpegLSNearLossless,
        .jpeg2000Lossless, .jpeg2000, .rleLossless, .mpeg2, .mpeg4, .hevc,
    ]
}
