/// What a cached thumbnail is of: a series (its representative instance) or a study (a mosaic).
public struct ThumbnailKey: Sendable, Hashable, CustomStringConvertible {
    public enum Level: String, Sendable, Hashable, CaseIterable {
        case series
        case study
    }

    public let level: Level
    public let uid: String

    public init(_ level: Level, _ uid: String) {
        self.level = level
        self.uid = uid
    }

    public static func series(_ uid: String) -> ThumbnailKey { ThumbnailKey(.series, uid) }
    public static func study(_ uid: String) -> ThumbnailKey { ThumbnailKey(.study, uid) }

    public var description: String { "\(level.rawValue) \(uid)" }
}
