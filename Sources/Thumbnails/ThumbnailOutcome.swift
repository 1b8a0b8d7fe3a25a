/// A thumbnail, or the recorded reason there is none.
public enum ThumbnailOutcome: Sendable, Hashable {
    case image(Thumbnail)
    case none(NoThumbnail)

    public var thumbnail: Thumbnail? {
        if case .image(let t) = self { return t }
        return nil
    }
}
