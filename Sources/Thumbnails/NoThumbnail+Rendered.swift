import DcmtkBridge

extension NoThumbnail {
    /// nil for a rendered image; the reason otherwise.
    init?(_ image: RenderedImage) {
        switch image.outcome {
        case .image: return nil
        case .noPixels: self.init(.noPixels, detail: image.detail)
        case .video: self.init(.video, detail: image.detail)
        case .unsupported: self.init(.unsupported, detail: image.detail)
        }
    }
}
