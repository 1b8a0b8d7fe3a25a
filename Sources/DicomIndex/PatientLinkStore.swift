import Foundation
import PatientIdentity

/// A local patient record (PatientID + issuer) and its link to a citizen ID.
public struct PatientLink: Sendable, Hashable, Codable {
    public var patientID: String
    public var issuer: String
    /// The linked citizen ID; for an unlinked record, the one it was unlinked from.
    public var citizenID: String?
    public var state: ExistingLink.State
    /// "auto" (made at ingest by a rule) or "admin".
    public var origin: String
    /// The rule and place the citizen ID came from, or the admin's reason.
    public var source: String?
    public var warnings: [String]
    public var updatedAt: Date
    /// From the index (nil when the local patient has no stored study now).
    public var demographics: Demographics?
    /// InstitutionName of the patient's studies (the hospital), most recent first.
    public var institutions: [String]
    public var numberOfStudies: Int

    public init(patientID: String, issuer: String, citizenID: String?, state: ExistingLink.State, origin: String,
                source: String?, warnings: [String], updatedAt: Date, demographics: Demographics? = nil,
                institutions: [String] = [], numberOfStudies: Int = 0) {
        self.patientID = patientID
        self.issuer = issuer
        self.citizenID = citizenID
        self.state = state
        self.origin = origin
        self.source = source
        self.warnings = warnings
        self.updatedAt = updatedAt
        self.demographics = demographics
        self.institutions = institutions
        self.numberOfStudies = numberOfStudies
    }
}

/// A case on the review list: a link that was not made automatically.
public struct LinkConflict: Sendable, Hashable, Codable {
    public var id: Int64
    public var at: Date
    public var patientID: String
    public var issuer: String
    /// The citizen ID the instance brought (for `disagreeingIDs`: all of them, `\`-separated).
    public var citizenID: String
    public var kind: LinkConflictKind
    public var detail: String
    public var resolvedAt: Date?
    public var resolvedBy: String?
    public var resolution: String?

    public init(id: Int64, at: Date, patientID: String, issuer: String, citizenID: String, kind: LinkConflictKind,
                detail: String, resolvedAt: Date? = nil, resolvedBy: String? = nil, resolution: String? = nil) {
        self.id = id
        self.at = at
        self.patientID = patientID
        self.issuer = issuer
        self.citizenID = citizenID
        self.kind = kind
        self.detail = detail
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.resolution = resolution
    }
}

/// One entry of the link history: link, unlink, relink, review — who, when, why.
public struct LinkEvent: Sendable, Hashable, Codable {
    public var id: Int64
    public var at: Date
    public var patientID: String
    public var issuer: String
    public var citizenID: String?
    public var action: String
    public var actor: String
    public var reason: String

    public init(id: Int64, at: Date, patientID: String, issuer: String, citizenID: String?, action: String,
                actor: String, reason: String) {
        self.id = id
        self.at = at
        self.patientID = patientID
        self.issuer = issuer
        self.citizenID = citizenID
        self.action = action
        self.actor = actor
        self.reason = reason
    }
}

/// Person (citizen ID) ↔ local patient records. Links are kept apart from the patient rows
/// (keyed by PatientID + issuer), so they survive reindexing and a patient's studies being
/// removed and stored again; linking re-points look-ups without touching files.
public protocol PatientLinkStore: Sendable {
    /// The local patient records linked to a citizen ID (state `linked`).
    func patientLinks(citizenID: String) throws(IndexError) -> [PatientLink]
    func patientLink(patientID: String, issuer: String) throws(IndexError) -> PatientLink?
    /// Links (citizenID non-nil) or unlinks a local patient by an admin, with a reason, and
    /// closes its open review cases. Automatic linking never undoes an admin's unlink.
    func setLink(patientID: String, issuer: String, citizenID: String?, actor: String, reason: String) throws(IndexError)
    func linkConflicts(includeResolved: Bool) throws(IndexError) -> [LinkConflict]
    func resolveConflict(id: Int64, actor: String, resolution: String) throws(IndexError)
    /// History, newest last; filters are ANDed (nil: any).
    func linkEvents(patientID: String?, issuer: String?, citizenID: String?) throws(IndexError) -> [LinkEvent]
}
