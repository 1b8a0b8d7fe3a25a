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
    /// `token:<id>`, `jwt:<subject>`, `development`; `anonymous` when authentication failed.
    public var actor: String
    public var hospital: String?
    public var address: String?
    public var method: String
    /// Path and query string.
    public var target: String
    public var status: Int
    /// `query`, `retrieve`, `store`, `admin`.
    public var action: String
    /// Patients (PatientID, or the citizen ID looked up) and studies the answer revealed, or the
    /// path named.
    public var patients: [String]
    public var studies: [String]
    public var results: Int
    /// The reason of an emergency override, if the request made one.
    public var override: String?

    public init(actor: String, hospital: String?, address: String?, method: String, target: String, status: Int,
                action: String, patients: [String] = [], studies: [String], results: Int = 0, override: String? = nil) {
        self.actor = actor
        self.hospital = hospital
        self.address = address
        self.method = method
        self.target = target
        self.status = status
        self.action = action
        self.patients = patients
        self.studies = studies
        self.results = results
        self.override = override
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
    func ingest(partAt path: String, expectedStudy: String?, hospital: String?, source: String) -> StowOutcome
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
    /// `overridesOnly`: emergency overrides alone (the report for admins).
    func auditRecords(since: Date?, actor: String?, patient: String?, overridesOnly: Bool, limit: Int) throws -> Data
    /// Records an access in the audit trail (never fails the request).
    func record(_ access: WebAccess)
    /// Prometheus text exposition of the process's metrics.
    func metricsText() -> String
}
