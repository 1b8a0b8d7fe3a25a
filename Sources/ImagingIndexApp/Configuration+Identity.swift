import Foundation
import PatientIdentity

extension Configuration {
    static let knownIdentityKeys: Set<String> = ["nationalIssuer", "nationalUniversalEntityIDs", "hospitals"]
    static let knownHospitalRuleKeys: Set<String> = ["name", "callingAETitles", "institutionNames", "citizenIDIn",
                                                     "patientIDIssuer", "localIssuer"]

    /// The `identity` section: the national issuer and, per sending hospital, where its citizen
    /// IDs are (README, "Patients and citizen IDs").
    static func parseIdentity(_ object: [String: Any], file: String) throws(ImagingIndexError) -> CitizenIDRules {
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(file): 'identity.\(key)' must be \(expected)")
        }
        try rejectUnknown(object, known: knownIdentityKeys, section: "identity", file: file)
        var rules = CitizenIDRules()
        if let value = object["nationalIssuer"] {
            guard let text = value as? String, !text.isEmpty, text.count <= 64 else { throw fail("nationalIssuer", "a non-empty text (LO)") }
            rules.nationalIssuer = text
        }
        if let value = object["nationalUniversalEntityIDs"] {
            guard let list = value as? [String] else { throw fail("nationalUniversalEntityIDs", "a list of texts") }
            rules.nationalUniversalEntityIDs = list
        }
        if let value = object["hospitals"] {
            guard let list = value as? [[String: Any]] else { throw fail("hospitals", "a list of objects") }
            for (i, h) in list.enumerated() {
                try rejectUnknown(h, known: knownHospitalRuleKeys, section: "identity.hospitals[\(i)]", file: file)
                guard let name = h["name"] as? String, !name.isEmpty else { throw fail("hospitals[\(i)].name", "a non-empty text") }
                let aes = h["callingAETitles"] as? [String] ?? []
                let institutions = h["institutionNames"] as? [String] ?? []
                if h["callingAETitles"] != nil && !(h["callingAETitles"] is [String]) {
                    throw fail("hospitals[\(i)].callingAETitles", "a list of AE titles")
                }
                if h["institutionNames"] != nil && !(h["institutionNames"] is [String]) {
                    throw fail("hospitals[\(i)].institutionNames", "a list of texts")
                }
                if aes.isEmpty && institutions.isEmpty {
                    throw fail("hospitals[\(i)]", "matched by callingAETitles or institutionNames (neither is given)")
                }
                let places = CitizenIDLocation.allCases.map(\.rawValue).joined(separator: ", ")
                guard let names = h["citizenIDIn"] as? [String] else {
                    throw fail("hospitals[\(i)].citizenIDIn", "a list of \(places) (empty: the hospital sends none)")
                }
                var locations: [CitizenIDLocation] = []
                for n in names {
                    guard let location = CitizenIDLocation(rawValue: n) else {
                        throw fail("hospitals[\(i)].citizenIDIn", "a list of \(places) ('\(n)' is not one)")
                    }
                    locations.append(location)
                }
                var patientIDIssuer: String? = nil
                if let value = h["patientIDIssuer"] {
                    guard let text = value as? String else { throw fail("hospitals[\(i)].patientIDIssuer", "a text") }
                    patientIDIssuer = text
                }
                var localIssuer: String? = nil
                if let value = h["localIssuer"] {
                    guard let text = value as? String, !text.isEmpty, text.count <= 64 else {
                        throw fail("hospitals[\(i)].localIssuer", "a non-empty text (LO)")
                    }
                    localIssuer = text
                }
                rules.rules.append(CitizenIDRule(name: name, callingAETitles: aes, institutionNames: institutions,
                                                 locations: locations, patientIDIssuer: patientIDIssuer,
                                                 localIssuer: localIssuer))
            }
        }
        return rules
    }
}
