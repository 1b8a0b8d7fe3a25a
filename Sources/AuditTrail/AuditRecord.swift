import Foundation

/// One access or change: who, when, from where, what, with which outcome. Patient and study
/// identifiers are recorded here (the audit trail is where they belong), never in logs.
public struct AuditRecord: Sendable, Hashable, Codable {
    public var id: Int64?
    public var at: Date
    /// The identity: an AE title (`ae:CHORAY_VIEW`), a token id, `cli:<user>`, `anonymous`.
    public var actor: String
    public var hospital: String?
    /// `dimse`, `http` or `cli`.
    public var via: String
    /// The peer's address, when there is one.
    public var address: String?
    /// `query`, `retrieve`, `store`, `link`, `unlink`, `admin` …
    public var action: String
    public var patients: [String]
    public var studies: [String]
    /// The request: query keys, the HTTP path, a reason.
    public var detail: String
    /// `ok`, `refused`, `failed`, or a status (`0xA700`, `HTTP 404`).
    public var outcome: String
    public var results: Int
    /// The reason given for an emergency override (issue 7; nil: none).
    public var override: String?

    public init(id: Int64? = nil, at: Date = Date(), actor: String, hospital: String? = nil, via: String, address: String? = nil,
                action: String, patients: [String] = [], studies: [String] = [], detail: String = "", outcome: String,
                results: Int = 0, override: String? = nil) {
        self.id = id
        self.at = at
        self.actor = actor
        self.hospital = hospital
        self.via = via
        self.address = address
        self.action = action
        self.patients = patients
        self.studies = studies
        self.detail = detail
        self.outcome = outcome
        self.results = results
        self.override = override
    }

    /// The text the hash chain covers: every field but the id, in a fixed order and format.
    var canonical: String {
        let fields: [String] = [
            String(format: "%.6f", at.timeIntervalSince1970), actor, hospital ?? "", via, address ?? "", action,
            patients.joined(separator: "\\"), studies.joined(separator: "\\"), detail, outcome, String(results),
            override ?? "",
        ]
        // Lengths first, so that no field boundary can be moved without changing the text.
        return fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
    }
}
