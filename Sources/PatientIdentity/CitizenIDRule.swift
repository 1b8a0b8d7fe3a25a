import DicomCore

/// Where a sending hospital may put the citizen ID in its DICOM objects.
public enum CitizenIDLocation: String, Sendable, Codable, CaseIterable, Hashable {
    /// PatientID (0010,0020), when its IssuerOfPatientID is the rule's `patientIDIssuer`
    /// (any issuer when the rule sets none).
    case patientID
    /// An OtherPatientIDsSequence (0010,1002) item whose IssuerOfPatientID is the national
    /// issuer, or whose IssuerOfPatientIDQualifiersSequence says identifier type `NI` or names a
    /// national universal entity ID.
    case otherPatientIDsSequence
    /// The retired OtherPatientIDs (0010,1000), which some PACS still fill.
    case retiredOtherPatientIDs
}

/// How one sending hospital identifies its patients. Matched by calling AE title or by
/// InstitutionName (case- and diacritic-insensitive).
public struct CitizenIDRule: Sendable, Codable, Hashable {
    /// A name for logs, the link's source and review entries ("Chợ Rẫy").
    public var name: String
    public var callingAETitles: [String]
    public var institutionNames: [String]
    /// Places to look, in order. Empty: this hospital never sends a citizen ID.
    public var locations: [CitizenIDLocation]
    /// For `.patientID`: the issuer PatientID must carry; nil accepts any issuer (also none).
    public var patientIDIssuer: String?
    /// The issuer recorded for this hospital's local patients when IssuerOfPatientID is empty,
    /// so that two hospitals' identical local numbers stay two patients.
    public var localIssuer: String?

    public init(name: String, callingAETitles: [String] = [], institutionNames: [String] = [],
                locations: [CitizenIDLocation], patientIDIssuer: String? = nil, localIssuer: String? = nil) {
        self.name = name
        self.callingAETitles = callingAETitles
        self.institutionNames = institutionNames
        self.locations = locations
        self.patientIDIssuer = patientIDIssuer
        self.localIssuer = localIssuer
    }

    func matches(callingAETitle: String?, institutionName: String?) -> Bool {
        if let ae = callingAETitle, callingAETitles.contains(where: { $0 == ae }) { return true }
        if let institution = institutionName.map(PersonName.foldedKey), !institution.isEmpty,
           institutionNames.contains(where: { PersonName.foldedKey($0) == institution }) {
            return true
        }
        return false
    }
}

/// What the rules found in one instance's patient module.
public struct CitizenIDExtraction: Sendable, Hashable, Codable {
    /// The citizen ID, when exactly one valid number was found (all places agreeing).
    public var citizenID: CitizenID?
    /// Where it was found ("PatientID", "OtherPatientIDsSequence", "OtherPatientIDs").
    public var location: String?
    /// The rule applied ("default" when no configured rule matched).
    public var rule: String
    /// Valid but different citizen IDs in one object: nothing is linked, a reviewer decides.
    public var disagreeing: [String]
    /// Values in a citizen-ID place that are not citizen IDs (why, never the value itself).
    public var problems: [String]

    public init(citizenID: CitizenID? = nil, location: String? = nil, rule: String, disagreeing: [String] = [],
                problems: [String] = []) {
        self.citizenID = citizenID
        self.location = location
        self.rule = rule
        self.disagreeing = disagreeing
        self.problems = problems
    }
}

/// The configured rules, the national issuer and the default rule.
public struct CitizenIDRules: Sendable, Hashable {
    /// IssuerOfPatientID of the national citizen ID (e.g. "VN-CCCD").
    public var nationalIssuer: String
    /// UniversalEntityIDs (e.g. an OID) that name the national registry in issuer qualifiers.
    public var nationalUniversalEntityIDs: [String]
    public var rules: [CitizenIDRule]

    public init(nationalIssuer: String = "VN-CCCD", nationalUniversalEntityIDs: [String] = [],
                rules: [CitizenIDRule] = []) {
        self.nationalIssuer = nationalIssuer
        self.nationalUniversalEntityIDs = nationalUniversalEntityIDs
        self.rules = rules
    }

    /// Used when no configured rule matches: the national issuer on PatientID, a national item
    /// of OtherPatientIDsSequence, or a valid citizen ID in the retired OtherPatientIDs.
    public var defaultRule: CitizenIDRule {
        CitizenIDRule(name: "default", locations: [.patientID, .otherPatientIDsSequence, .retiredOtherPatientIDs],
                      patientIDIssuer: nationalIssuer)
    }

    public func rule(callingAETitle: String?, institutionName: String?) -> CitizenIDRule {
        rules.first { $0.matches(callingAETitle: callingAETitle, institutionName: institutionName) } ?? defaultRule
    }

    /// The issuer to record for a local patient whose IssuerOfPatientID is empty (nil: keep it empty).
    public func localIssuer(callingAETitle: String?, institutionName: String?) -> String? {
        rules.first { $0.matches(callingAETitle: callingAETitle, institutionName: institutionName) }?.localIssuer
    }

    /// A look-up by citizen ID (C-FIND, C-MOVE/C-GET, QIDO-RS): PatientID holds a valid citizen ID
    /// and IssuerOfPatientID is the national issuer — or, with `acceptingNoIssuer` (below PATIENT
    /// level with a Study Instance UID given), no issuer at all.
    public func lookup(_ keys: [DicomTag: String], acceptingNoIssuer: Bool = false) -> CitizenID? {
        guard let text = keys[.patientID], !text.isEmpty, let id = CitizenID(text) else { return nil }
        let issuer = keys[.issuerOfPatientID] ?? ""
        return issuer == nationalIssuer || (acceptingNoIssuer && issuer.isEmpty) ? id : nil
    }

    public func extract(_ patient: InstanceMetadata.Patient, callingAETitle: String?,
                        institutionName: String?) -> CitizenIDExtraction {
        let rule = rule(callingAETitle: callingAETitle, institutionName: institutionName)
        var result = CitizenIDExtraction(rule: rule.name)
        var found: [(id: CitizenID, location: String)] = []

        func consider(_ text: String, location: String, strict: Bool) {
            do {
                found.append((try CitizenID(validating: text), location))
            } catch {
                // A value in a place that holds only citizen IDs is reported; elsewhere it is
                // just another identifier (an old 9-digit card number, a local number).
                if strict { result.problems.append("\(location): \(error.description)") }
            }
        }

        for location in rule.locations {
            switch location {
            case .patientID:
                guard let id = patient.patientID, !id.isEmpty else { continue }
                let issuer = patient.issuerOfPatientID ?? ""
                if let required = rule.patientIDIssuer {
                    guard issuer == required || isNational(universalEntityID: patient.universalEntityID,
                                                           typeCode: patient.identifierTypeCode) else { continue }
                    consider(id, location: "PatientID", strict: true)
                } else {
                    consider(id, location: "PatientID", strict: true)
                }
            case .otherPatientIDsSequence:
                for other in patient.otherPatientIDs where (other.issuer ?? "") == nationalIssuer
                    || isNational(universalEntityID: other.universalEntityID, typeCode: other.identifierTypeCode) {
                    consider(other.id, location: "OtherPatientIDsSequence", strict: true)
                }
            case .retiredOtherPatientIDs:
                // No issuer here: only values with a citizen ID's structure count, and only a
                // rule that names this place makes a malformed value a problem.
                let strict = rule.name != defaultRule.name
                for value in patient.retiredOtherPatientIDs where !value.isEmpty {
                    consider(value, location: "OtherPatientIDs", strict: strict && !CitizenID.isLegacyCardNumber(value))
                }
            }
        }
        let distinct = Array(Set(found.map(\.id.value))).sorted()
        if distinct.count == 1 {
            result.citizenID = found[0].id
            result.location = found[0].location
        } else if distinct.count > 1 {
            result.disagreeing = distinct
        }
        return result
    }

    private func isNational(universalEntityID: String?, typeCode: String?) -> Bool {
        if let typeCode, typeCode.uppercased() == "NI" { return true }
        if let uid = universalEntityID, !uid.isEmpty, nationalUniversalEntityIDs.contains(uid) { return true }
        return false
    }
}

extension CitizenID {
    /// An old 9-digit identity card number (chứng minh nhân dân): kept as another identifier,
    /// never taken for a citizen ID.
    public static func isLegacyCardNumber(_ text: String) -> Bool {
        let trimmed = text.split(separator: " ", omittingEmptySubsequences: true)
        guard trimmed.count == 1 else { return false }
        return trimmed[0].count == 9 && trimmed[0].allSatisfy { $0.isASCII && $0.isNumber }
    }
}
