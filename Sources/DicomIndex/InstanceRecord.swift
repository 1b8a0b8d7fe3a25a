import Foundation

/// One stored instance: its identifying attributes and where and how its file is kept.
public struct InstanceRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var instanceNumber: Int?
    public var transferSyntaxUID: String
    public var rows: Int?
    public var columns: Int?
    public var numberOfFrames: Int?
    public var photometricInterpretation: String?
    public var fileSize: Int64
    /// Path of the file relative to the store's root.
    public var path: String
    /// SHA-256 of the stored file, lower-case hex.
    public var checksum: String
    public var receivedAt: Date
    public var sourceAETitle: String?
    /// Where it came from: `import`, `dimse`, `stow`, `reindex`.
    public var origin: String
    /// The indexing policy fingerprint the row was made under.
    public var policy: String
    public var extra: [String: String]

    public init(id: Int64, sopInstanceUID: String, sopClassUID: String, instanceNumber: Int?, transferSyntaxUID: String,
                rows: Int?, columns: Int?, numberOfFrames: Int?, photometricInterpretation: String?, fileSize: Int64,
                path: String, checksum: String, receivedAt: Date, sourceAETitle: String?, origin: String, policy: String,
                extra: [String: String] = [:]) {
        self.id = id
        self.sopInstanceUID = sopInstanceUID
        self.sopClassUID = sopClassUID
        self.instanceNumber = instanceNumber
        self.transferSyntaxUID = transferSyntaxUID
        self.rows = rows
        self.columns = columns
        self.numberOfFrames = numberOfFrames
        self.photometricInterpretation = photometricInterpretation
        self.fileSize = fileSize
        self.path = path
        self.checksum = checksum
        self.receivedAt = receivedAt
        self.sourceAETitle = sourceAETitle
        self.origin = origin
        self.policy = policy
        self.extra = extra
    }
}
