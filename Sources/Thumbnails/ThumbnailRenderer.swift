import Foundation
import DcmtkBridge

/// One DICOM file to a PNG thumbnail: the middle frame, the file's window (else its VOI LUT, else
/// a percentile window), no larger than `size` on its long side, square pixels. Objects without
/// pixels and videos give `.none`, not an error.
///
/// Blocking (file reading, decoding, PNG encoding): call from a worker thread.
public struct ThumbnailRenderer: Sendable {
    /// PNG compression level, 0 ... 9.
    public var compressionLevel: Int

    /// zlib level 4: measured on 256 px thumbnails here, a third less CPU than level 6 (half for
    /// RGB ultrasound) for files 7 % (CR), 11 % (US) to 20 % (CT) larger.
    public static let defaultCompressionLevel = 4

    public init(compressionLevel: Int = defaultCompressionLevel) {
        self.compressionLevel = compressionLevel
    }

    /// The thumbnail of the file at `path`, or why it has none. Throws `.unreadable` when the file
    /// cannot be read and `.undecodable` when it is not DICOM or its pixel data cannot be decoded.
    public func thumbnail(file path: String, size: Int) throws(ThumbnailError) -> ThumbnailOutcome {
        let image = try image(file: path, size: size)
        if let none = NoThumbnail(image) { return .none(none) }
        return .image(try encode(image))
    }

    /// The rendered pixels (the outcome tells whether there are any).
    public func image(file path: String, size: Int) throws(ThumbnailError) -> RenderedImage {
        guard size > 0 else { throw ThumbnailError(.invalidArgument, "the thumbnail size must be at least 1 pixel") }
        do {
            return try DicomRenderer.render(file: path, options: .init(maxSize: size))
        } catch {
            throw ThumbnailError(error)
        }
    }

    public enum Format: Sendable { case png, jpeg(quality: Int) }

    /// A rendered frame (WADO-RS `rendered`): `frame` 0-based (nil: the middle one), `window`
    /// instead of the file's, fitted inside `box` (nil: full size), aspect ratio kept. Nil when the
    /// object has no image.
    public func rendered(file path: String, frame: Int?, window: (center: Double, width: Double)?,
                         box: (width: Int, height: Int)?, format: Format) throws(ThumbnailError) -> Data? {
        if let box, box.width < 1 || box.height < 1 {
            throw ThumbnailError(.invalidArgument, "the viewport must be at least 1 pixel")
        }
        let voi = window.map { RenderedImage.Window(center: $0.center, width: $0.width) }
        func render(_ maxSize: Int) throws(ThumbnailError) -> RenderedImage {
            do {
                return try DicomRenderer.render(file: path, options: .init(maxSize: maxSize, frame: frame, window: voi))
            } catch {
                throw ThumbnailError(error)
            }
        }
        var image = try render(box.map { max($0.width, $0.height) } ?? 0)
        if NoThumbnail(image) != nil { return nil }
        // The long side fits the larger dimension; shrink once more when the other one overflows.
        if let box, image.width > box.width || image.height > box.height {
            let scale = min(Double(box.width) / Double(image.width), Double(box.height) / Double(image.height))
            image = try render(max(1, Int((Double(max(image.width, image.height)) * scale).rounded(.down))))
        }
        switch format {
        case .png: return try encode(image).png
        case .jpeg(let quality):
            do {
                return try JPEGEncoder.encode(image, quality: quality)
            } catch {
                throw ThumbnailError(error)
            }
        }
    }

    /// PNG-encodes rendered pixels.
    public func encode(_ image: RenderedImage) throws(ThumbnailError) -> Thumbnail {
        let png: Data
        do {
            png = try PNGEncoder.encode(image, compressionLevel: compressionLevel)
        } catch {
            throw ThumbnailError(error)
        }
        guard let thumbnail = Thumbnail(png: png) else {
            throw ThumbnailError(.internal, "the PNG encoder produced an unreadable image")
        }
        return thumbnail
    }
}
