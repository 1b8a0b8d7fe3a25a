import Foundation

/// A person's choice about sharing their imaging across hospitals, as an admin recorded it.
public struct SharingConsent: Sendable, Hashable, Codable {
    public var citizenID: String
    /// true: the person opted out; a hospital then sees only its own studies of them.
    public var optedOut: Bool
    public var actor: String
    public var reason: String
    public var updatedAt: Date

    public init(citizenID: String, optedOut: Bool, actor: String, reason: String, updatedAt: Date) {
        self.citizenID = citizenID
        self.optedOut = optedOut
        self.actor = actor
        self.reason = reason
        self.updatedAt = updatedAt
    }
}

/// The per-citizen sharing flags (kept apart from the patient rows, so they survive reindexing)
/// and their history. Queries honour them through `IndexQuery.sharingRestriction`.
public protocol SharingConsentStore: Sendable {
    /// Records an opt-out (`optedOut` true) or its withdrawal, with who and why (history kept).
    func setSharingConsent(citizenID: String, optedOut: Bool, actor: String, reason: String) throws(IndexError)
    /// nil: the person never opted out (sharing is the default).
    func sharingConsent(citizenID: String) throws(IndexError) -> SharingConsent?
    /// Every person opted out now.
    func optedOutCitizens() throws(IndexError) -> [SharingConsent]
    /// Every change for a person, oldest first.
    func sharingConsentHistory(citizenID: String) throws(IndexError) -> [SharingConsent]
    /// Gives studies of no known hospital the hospital of the AE title that sent them; returns
    /// how many changed.
    func assignHospitals(bySourceAETitle hospitals: [String: String]) throws(IndexError) -> Int
}
