import Foundation
import DicomCore
import PatientIdentity

/// What the ingest pipeline asks the index to record for one durably stored instance.
public struct InstanceWrite: Sendable {
    public enum Mode: Sendable {
        /// Insert; if the SOP Instance UID is already indexed, leave the row as it is.
        case insertIfAbsent
        /// Insert or replace the instance's row (and refresh its parents).
        case upsert
        /// As `insertIfAbsent` for a new instance (it does not move a study or series to another
        /// parent); as `upsert` when the SOP Instance UID is indexed (the `replace` duplicate policy).
        case replaceIfPresent
    }

    public var metadata: InstanceMetadata
    public var path: String
    public var fileSize: Int64
    public var checksum: String
    public var receivedAt: Date
    public var sourceAETitle: String?
    /// The hospital that sent it (its studies stay visible to it under an opt-out); nil: unknown.
    public var hospital: String?
    /// The temporary file that becomes `path`: the group committer's `CommitBarrier` makes it
    /// durable and puts it in place before the rows are committed. nil: the file is in place.
    public var stagedFrom: String?
    public var origin: String
    public var policy: String
    public var mode: Mode
    /// The citizen ID the hospital's rule found (nil: no linking for this write).
    public var citizen: CitizenIDExtraction?

    public init(metadata: InstanceMetadata, path: String, fileSize: Int64, checksum: String, receivedAt: Date,
                sourceAETitle: String?, origin: String, policy: String, mode: Mode, citizen: CitizenIDExtraction? = nil,
                hospital: String? = nil) {
        self.citizen = citizen
        self.hospital = hospital
        self.metadata = metadata
        self.path = path
        self.fileSize = fileSize
        self.checksum = checksum
        self.receivedAt = receivedAt
        self.sourceAETitle = sourceAETitle
        self.origin = origin
        self.policy = policy
        self.mode = mode
    }
}

/// The outcome of one `InstanceWrite` once its transaction committed.
public enum InstanceWriteResult: Sendable, Hashable {
    case inserted(id: Int64)
    case updated(id: Int64)
    /// `insertIfAbsent` found the SOP Instance UID already indexed (with this file path).
    case alreadyPresent(id: Int64, path: String)
}
