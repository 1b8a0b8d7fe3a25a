import DicomCore

/// A local patient's demographics, as compared when linking it to a citizen ID.
public struct Demographics: Sendable, Hashable, Codable {
    public var name: String?
    public var birthDate: String?
    public var sex: String?

    public init(name: String? = nil, birthDate: String? = nil, sex: String? = nil) {
        self.name = name
        self.birthDate = birthDate
        self.sex = sex
    }
}

/// The link a local patient record (PatientID + issuer) has now.
public struct ExistingLink: Sendable, Hashable {
    public enum State: String, Sendable, Codable { case linked, unlinked }
    public var citizenID: String?
    public var state: State
    /// "auto" (made at ingest) or "admin".
    public var origin: String

    public init(citizenID: String?, state: State, origin: String) {
        self.citizenID = citizenID
        self.state = state
        self.origin = origin
    }
}

/// Why a candidate link went to the review list instead of being made.
public enum LinkConflictKind: String, Sendable, Codable, CaseIterable {
    /// One local patient arriving with a citizen ID other than the one it is linked to.
    case otherCitizenID = "other-citizen-id"
    /// The citizen ID's other records have another birth date or sex.
    case demographics
    /// One object carrying two different valid citizen IDs.
    case disagreeingIDs = "disagreeing-ids"
}

/// What to do with the citizen ID found in an incoming instance.
public enum LinkDecision: Sendable, Hashable {
    /// No citizen ID found: nothing to do.
    case none
    /// Already linked to this citizen ID.
    case unchanged
    /// Link the local patient; warnings are flagged on the link (not reasons to refuse it).
    case link(warnings: [String])
    /// Leave as is and put the case on the review list.
    case review(LinkConflictKind, detail: String)
    /// An admin unlinked this local patient: automatic links stay off.
    case keptUnlinked
}

/// The linking rules: the same person is linked across hospitals, never two people merged.
/// Names are not compared for the decision (hospitals write them with or without diacritics,
/// in upper case, in another order); a birth date or sex that disagrees sends the case to review.
public enum LinkPolicy {
    public static func decide(_ extraction: CitizenIDExtraction, existing: ExistingLink?, patient: Demographics,
                              otherRecordsOfPerson: [Demographics]) -> LinkDecision {
        if !extraction.disagreeing.isEmpty {
            return .review(.disagreeingIDs, detail: "the object carries \(extraction.disagreeing.count) different citizen IDs")
        }
        guard let citizenID = extraction.citizenID else { return .none }
        if let existing {
            switch existing.state {
            case .unlinked where existing.origin == "admin":
                return .keptUnlinked
            case .linked where existing.citizenID == citizenID.value:
                return .unchanged
            case .linked:
                return .review(.otherCitizenID, detail: "the local patient is linked to another citizen ID")
            case .unlinked:
                break
            }
        }
        for other in otherRecordsOfPerson {
            if let a = normalizedDate(patient.birthDate), let b = normalizedDate(other.birthDate), a != b {
                return .review(.demographics, detail: "birth date differs from another record of this citizen ID")
            }
            if let a = normalizedSex(patient.sex), let b = normalizedSex(other.sex), a != b {
                return .review(.demographics, detail: "sex differs from another record of this citizen ID")
            }
        }
        var warnings = citizenID.inconsistencies(birthDate: normalizedDate(patient.birthDate), sex: normalizedSex(patient.sex))
        if let name = patient.name.map(PersonName.foldedKey), !name.isEmpty,
           otherRecordsOfPerson.contains(where: { other in
               other.name.map(PersonName.foldedKey).map { !$0.isEmpty && $0 != name } ?? false
           }) {
            warnings.append("name differs (beyond case and diacritics) from another record of this citizen ID")
        }
        return .link(warnings: warnings)
    }

    static func normalizedDate(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return DicomDateTime.normalizedDate(text) ?? text
    }

    static func normalizedSex(_ text: String?) -> String? {
        guard let s = text?.uppercased(), s == "M" || s == "F" else { return nil }
        return s
    }
}
