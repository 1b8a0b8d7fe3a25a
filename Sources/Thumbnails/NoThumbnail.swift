/// Why an object, a series or a study has no thumbnail. Recorded in the cache like a thumbnail, so
/// that it is not tried again until the series changes.
public struct NoThumbnail: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// No Pixel Data: SR, PDF, RT structure set, presentation state, raw data...
        case noPixels
        /// A video transfer syntax (MPEG-2, MPEG-4, HEVC).
        case video
        /// Pixels the renderer cannot show (float pixel data, an unknown compression...).
        case unsupported
        /// The file is damaged or its pixel data cannot be decoded.
        case undecodable
    }

    public var reason: Reason
    /// A short explanation without patient data, e.g. "no Pixel Data (SOP class BasicTextSRStorage)".
    public var detail: String

    public init(_ reason: Reason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String {
        let what = switch reason {
        case .noPixels: "the object has no pixel data"
        case .video: "the object is a video"
        case .unsupported: "the pixel data cannot be shown"
        case .undecodable: "the pixel data cannot be decoded"
        }
        return detail.isEmpty ? what : detail
    }
}
