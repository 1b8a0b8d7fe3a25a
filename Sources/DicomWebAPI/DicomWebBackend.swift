import Foundation
import DicomIndex
import DicomStorage

/// What STOW-RS reports for one part of the request.
public enum StowOutcome: Sendable, Hashable {
    case stored(sopClassUID: String, sopInstanceUID: String)
    /// A second copy that was kept out (the duplicate policy): a warning, not a failure.
    case duplicate(sopClassUID: String, sopInstanceUID: String)
    /// `reason`: the PS3.4 status of the failure (0xA700, 0xA900, 0xC000 ...).
    case failed(sopClassUID: String?, sopInstanceUID: String?, reason: UInt16, message: String)
}

/// One HTTP request as the audit trail records it.
public struct WebAccess: Sendable {
    public var address: String?
    public var method: String
    /// Path and query string.
    public var target: String
    public var status: Int
    /// `query`, `retrieve`, `store`, `admin`.
    public var action: String
    /// StudyInstanceUIDs the path names (none for searches).
    public var studies: [String]

    public init(address: String?, method: String, target: String, status: Int, action: String, studies: [String]) {
        self.address = address
        self.method = method
        self.target = target
        self.status = status
        self.action = action
        self.studies = studies
    }
}

/// What the DICOMweb layer needs from the rest of ImagingIndex (implemented by the app, which
/// owns the ingest pipeline and the DICOM toolkit). Calls are blocking: the server runs them on
/// its thread pool.
public protocol DicomWebBackend: Sendable {
    var index: any IndexStore { get }
    var store: FileStore { get }
    /// Ingests a received part already written to `path` in the store's temporary folder
    /// (consumed whatever the outcome). `expectedStudy`: the study the URL names, if any.
    func ingest(partAt path: String, expectedStudy: String?, source: String) -> StowOutcome
    /// One stored file's data set as DICOM JSON; binary values of more than a few bytes as
    /// `BulkDataURI`s under `bulkDataBase` (the instance's URL).
    func metadata(ofFileAt path: String, bulkDataBase: String) throws -> Data
    /// A top-level element's value (bulk data); nil when the file has none.
    func bulkData(ofFileAt path: String, tag: UInt32) throws -> Data?
    /// Frames (1-based numbers) uncompressed; nil when a number is beyond the last frame.
    func frames(ofFileAt path: String, numbers: [Int]) throws -> [Data]?
    /// A stored file re-encoded as a Part 10 file in an uncompressed transfer syntax; throws when
    /// its pixel data cannot be decoded here.
    func transcoded(fileAt path: String, transferSyntax: String) throws -> Data
    /// Audit records as JSON (an array), filtered; nil `since`/`actor`/`patient`: any.
    func auditRecords(since: Date?, actor: String?, patient: String?, limit: Int) throws -> Data
    /// Records an access in the audit trail (never fails the request).
    func record(_ access: WebAccess)
    /// Prometheus text exposition of the process's metrics.
    func metricsText() -> String
}
