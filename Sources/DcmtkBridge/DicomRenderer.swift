import Foundation
internal import CDcmtkShim

/// Renders one frame of a DICOM object to 8-bit grey or RGB pixels through the shim
/// (`cdcm_render.h`): Modality LUT, VOI (the caller's window, else the file's first window, else
/// its first VOI LUT, else a percentile window), MONOCHROME1 inverted, colour models to RGB, area
/// averaging down to `maxSize` on the long side with square pixels. DCMTK decodes native, deflated,
/// JPEG, JPEG-LS and RLE pixel data; OpenJPEG decodes JPEG 2000 and HTJ2K.
///
/// Blocking (reads the file, decodes the frame): call from a worker thread, never from Swift's
/// cooperative pool. Calls are independent and may run concurrently.
public enum DicomRenderer {
    public struct Options: Sendable, Hashable {
        /// Long side of the output in pixels; 0 = full size. Never enlarges.
        public var maxSize: Int
        /// 0-based frame; nil = the middle frame (NumberOfFrames / 2).
        public var frame: Int?
        /// A window to use instead of the file's (grey images only; modality units, width >= 1).
        public var window: RenderedImage.Window?

        public init(maxSize: Int = 256, frame: Int? = nil, window: RenderedImage.Window? = nil) {
            self.maxSize = maxSize
            self.frame = frame
            self.window = window
        }
    }

    /// Renders a frame of the file at `path` (reads only what the frame needs).
    /// Throws `.io` when the file cannot be opened, `.parse` when it is not DICOM, is truncated or its
    /// pixel data cannot be decoded, `.argument` for a frame out of range or a window narrower than 1.
    public static func render(file path: String, options: Options = Options()) throws(DcmtkError) -> RenderedImage {
        var shimOptions = try options.shim()
        var out = cdcm_rendered()
        var error = cdcm_error()
        let status = cdcm_render_file(path, &shimOptions, &out, &error)
        defer { cdcm_rendered_free(&out) }
        guard status == 0 else { throw DcmtkError(status: status, error: error, source: path) }
        return RenderedImage(out)
    }

    /// Renders a frame of a DICOM object (Part 10 file or bare data set) held in memory.
    public static func render(data: Data, options: Options = Options(), source: String? = nil) throws(DcmtkError) -> RenderedImage {
        var shimOptions = try options.shim()
        var out = cdcm_rendered()
        var error = cdcm_error()
        let status = data.withUnsafeBytes { raw in
            cdcm_render_memory(raw.baseAddress, raw.count, &shimOptions, &out, &error)
        }
        defer { cdcm_rendered_free(&out) }
        guard status == 0 else { throw DcmtkError(status: status, error: error, source: source) }
        return RenderedImage(out)
    }
}

extension DicomRenderer.Options {
    func shim() throws(DcmtkError) -> cdcm_render_options {
        guard maxSize >= 0, maxSize <= Int(UInt32.max) else {
            throw DcmtkError(code: .argument, message: "maxSize must be 0 (full size) or a positive number of pixels")
        }
        guard (frame ?? 0) >= 0, (frame ?? 0) <= Int(Int32.max) else {
            throw DcmtkError(code: .argument, message: "frame must not be negative")
        }
        var o = cdcm_render_options()
        cdcm_render_options_init(&o)
        o.max_size = UInt32(maxSize)
        o.frame = frame.map { Int32($0) } ?? -1
        if let window {
            o.use_window = 1
            o.window_center = window.center
            o.window_width = window.width
        }
        return o
    }
}

extension RenderedImage {
    init(_ r: cdcm_rendered) {
        let outcome: Outcome = switch r.outcome {
        case Int32(CDCM_RENDER_IMAGE.rawValue): .image
        case Int32(CDCM_RENDER_NO_PIXELS.rawValue): .noPixels
        case Int32(CDCM_RENDER_VIDEO.rawValue): .video
        default: .unsupported
        }
        let windowSource: WindowSource = switch r.window_source {
        case Int32(CDCM_WINDOW_CALLER.rawValue): .caller
        case Int32(CDCM_WINDOW_FILE.rawValue): .file
        case Int32(CDCM_WINDOW_VOI_LUT.rawValue): .voiLUT
        case Int32(CDCM_WINDOW_AUTO.rawValue): .automatic
        default: .none
        }
        let detail = withUnsafeBytes(of: r.detail) { raw -> String in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        var pixels: [UInt8] = []
        let count = Int(r.width) * Int(r.height) * Int(r.channels)
        if outcome == .image, let p = r.pixels, count > 0 {
            pixels = Array(UnsafeBufferPointer(start: p, count: count))
        }
        let hasWindow = windowSource == .caller || windowSource == .file || windowSource == .automatic
        self.init(outcome: outcome, detail: detail, width: Int(r.width), height: Int(r.height),
                  channels: Int(r.channels), pixels: pixels, sourceColumns: Int(r.source_columns),
                  sourceRows: Int(r.source_rows), frameCount: Int(r.frame_count), frameRendered: Int(r.frame_rendered),
                  windowSource: windowSource,
                  window: hasWindow ? Window(center: r.window_center, width: r.window_width) : nil)
    }
}
