import Foundation

/// A file the store holds: where (relative to the store root), how big, and its SHA-256.
public struct StoredFile: Sendable, Hashable {
    public var relativePath: String
    public var size: Int64
    public var checksum: String
    /// The file's modification time: when it was stored (reindex reads it back as the
    /// instance's received time).
    public var modified: Date

    public init(relativePath: String, size: Int64, checksum: String, modified: Date) {
        self.relativePath = relativePath
        self.size = size
        self.checksum = checksum
        self.modified = modified
    }
}
