/// One frame of a DICOM object rendered to 8-bit pixels by `DicomRenderer`, or why it could not be.
/// Pixels only when `outcome` is `.image`: row-major, top row first, grey (1 channel) or RGB
/// interleaved (3 channels), already windowed, MONOCHROME1 inverted, scaled to square pixels.
public struct RenderedImage: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// Pixels rendered.
        case image
        /// No Pixel Data: SR, PDF, RT structure set, presentation state, raw data...
        case noPixels
        /// A video transfer syntax (MPEG-2, MPEG-4/H.264, HEVC/H.265).
        case video
        /// Pixels the renderer cannot show (float pixel data, an unknown compression...).
        case unsupported
    }

    /// Where the VOI window came from (grey images; colour images have none).
    public enum WindowSource: Sendable, Hashable {
        /// A colour image, or a flat frame shown without a window.
        case none
        /// The caller's `DicomRenderer.Options.window`.
        case caller
        /// The file's first WindowCenter / WindowWidth (or its functional groups').
        case file
        /// The file's first VOI LUT.
        case voiLUT
        /// Computed: 1st to 99th percentile of the frame, padding excluded.
        case automatic
    }

    /// A linear VOI window in modality units (e.g. HU).
    public struct Window: Sendable, Hashable {
        public var center: Double
        public var width: Double
        public init(center: Double, width: Double) {
            self.center = center
            self.width = width
        }
    }

    public var outcome: Outcome
    /// Why the outcome is not `.image` (e.g. "no Pixel Data (SOP class BasicTextSRStorage)");
    /// never patient data. Empty for images.
    public var detail: String
    public var width: Int
    public var height: Int
    /// 1 (grey) or 3 (RGB); 0 without pixels.
    public var channels: Int
    public var pixels: [UInt8]
    /// Size of the stored image (0 when unknown or without pixels).
    public var sourceColumns: Int
    public var sourceRows: Int
    /// NumberOfFrames (1 for single-frame images, 0 without pixels).
    public var frameCount: Int
    /// 0-based index of the frame shown.
    public var frameRendered: Int
    public var windowSource: WindowSource
    /// The window applied when `windowSource` is `.caller`, `.file` or `.automatic`.
    public var window: Window?

    public init(outcome: Outcome, detail: String = "", width: Int = 0, height: Int = 0, channels: Int = 0,
                pixels: [UInt8] = [], sourceColumns: Int = 0, sourceRows: Int = 0, frameCount: Int = 0,
                frameRendered: Int = 0, windowSource: WindowSource = .none, window: Window? = nil) {
        self.outcome = outcome
        self.detail = detail
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.sourceColumns = sourceColumns
        self.sourceRows = sourceRows
        self.frameCount = frameCount
        self.frameRendered = frameRendered
        self.windowSource = windowSource
        self.window = window
    }
}
