import Testing
import DicomCore
@testable import PatientIdentity

/// The citizen-ID extraction rules, table-driven: one row per hospital convention.
@Suite struct ExtractionRuleTests {
    static let national = "VN-CCCD"
    static let person = "001085012345"

    static let rules = CitizenIDRules(nationalIssuer: national, nationalUniversalEntityIDs: ["2.16.704.1.1"], rules: [
        CitizenIDRule(name: "Bạch Mai", callingAETitles: ["BACHMAI"], locations: [.patientID], patientIDIssuer: national),
        CitizenIDRule(name: "Việt Đức", institutionNames: ["Bệnh viện Hữu nghị Việt Đức"],
                      locations: [.otherPatientIDsSequence], localIssuer: "VIETDUC"),
        CitizenIDRule(name: "Chợ Rẫy", callingAETitles: ["CHORAY"], locations: [.retiredOtherPatientIDs]),
        CitizenIDRule(name: "Huế", callingAETitles: ["TWHUE"], locations: [.patientID]),
        CitizenIDRule(name: "Phòng khám", callingAETitles: ["CLINIC"], locations: []),
    ])

    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let ae: String?
        let institution: String?
        let patient: InstanceMetadata.Patient
        let expected: String?
        let rule: String
        var testDescription: String { label }
    }

    static func patient(id: String?, issuer: String? = nil, others: [InstanceMetadata.OtherPatientID] = [],
                        retired: [String] = []) -> InstanceMetadata.Patient {
        var p = InstanceMetadata.Patient()
        p.patientID = id
        p.issuerOfPatientID = issuer
        p.otherPatientIDs = others
        p.retiredOtherPatientIDs = retired
        return p
    }

    static let cases: [Case] = [
        Case(label: "citizen ID in PatientID with the national issuer", ae: "BACHMAI", institution: nil,
             patient: patient(id: person, issuer: national), expected: person, rule: "Bạch Mai"),
        Case(label: "PatientID rule that requires the issuer: a local number is not taken", ae: "BACHMAI", institution: nil,
             patient: patient(id: person, issuer: "BACHMAI"), expected: nil, rule: "Bạch Mai"),
        Case(label: "rule matched by InstitutionName, folded", ae: "OTHER", institution: "BENH VIEN HUU NGHI VIET DUC",
             patient: patient(id: "VD-1", issuer: "VIETDUC", others: [.init(id: person, issuer: national)]),
             expected: person, rule: "Việt Đức"),
        Case(label: "OtherPatientIDsSequence item typed NI (no issuer)", ae: "X", institution: "Bệnh viện Hữu nghị Việt Đức",
             patient: patient(id: "VD-1", others: [.init(id: "VD-9"), .init(id: person, identifierTypeCode: "NI")]),
             expected: person, rule: "Việt Đức"),
        Case(label: "OtherPatientIDsSequence item with the national universal entity ID", ae: nil,
             institution: "Bệnh viện Hữu nghị Việt Đức",
             patient: patient(id: "VD-1", others: [.init(id: person, universalEntityID: "2.16.704.1.1")]),
             expected: person, rule: "Việt Đức"),
        Case(label: "an item of another issuer is not the citizen ID", ae: nil, institution: "Bệnh viện Hữu nghị Việt Đức",
             patient: patient(id: "VD-1", others: [.init(id: person, issuer: "BHYT")]), expected: nil, rule: "Việt Đức"),
        Case(label: "retired OtherPatientIDs", ae: "CHORAY", institution: nil,
             patient: patient(id: "CR-1", issuer: "CHORAY", retired: ["123456789", person]), expected: person, rule: "Chợ Rẫy"),
        Case(label: "PatientID with any issuer (rule without one)", ae: "TWHUE", institution: nil,
             patient: patient(id: person), expected: person, rule: "Huế"),
        Case(label: "a hospital that sends none", ae: "CLINIC", institution: nil,
             patient: patient(id: person, issuer: national), expected: nil, rule: "Phòng khám"),
        Case(label: "default rule: national issuer on PatientID", ae: "UNKNOWN", institution: nil,
             patient: patient(id: person, issuer: national), expected: person, rule: "default"),
        Case(label: "default rule: a 12-digit local number without the national issuer is not taken", ae: "UNKNOWN",
             institution: nil, patient: patient(id: person, issuer: "HOSP"), expected: nil, rule: "default"),
        Case(label: "default rule: national item of the sequence", ae: nil, institution: nil,
             patient: patient(id: "L1", issuer: "H", others: [.init(id: person, issuer: national)]), expected: person,
             rule: "default"),
        Case(label: "default rule: retired OtherPatientIDs beside an old 9-digit card number", ae: nil, institution: nil,
             patient: patient(id: "L1", issuer: "H", retired: ["012345678", person]), expected: person, rule: "default"),
        Case(label: "default rule: an old 9-digit card number alone is never a citizen ID", ae: nil, institution: nil,
             patient: patient(id: "L1", issuer: "H", retired: ["012345678"]), expected: nil, rule: "default"),
    ]

    @Test(arguments: cases)
    func extraction(_ c: Case) {
        let result = Self.rules.extract(c.patient, callingAETitle: c.ae, institutionName: c.institution)
        #expect(result.citizenID?.value == c.expected)
        #expect(result.rule == c.rule)
    }

    @Test(arguments: ["00108501234", "0010850123456", "00108501234A", "003085012345", "001 085012345"])
    func malformedNumbersInACitizenIDPlaceAreProblemsNotLinks(_ text: String) {
        for patient in [Self.patient(id: text, issuer: Self.national),
                        Self.patient(id: "L", issuer: "H", others: [.init(id: text, issuer: Self.national)])] {
            let result = Self.rules.extract(patient, callingAETitle: nil, institutionName: nil)
            #expect(result.citizenID == nil)
            #expect(result.problems.count == 1)
            #expect(!result.problems[0].contains(text), "a problem never repeats the value")
        }
    }

    @Test func twoDifferentCitizenIDsInOneObjectAreNotLinked() {
        let patient = Self.patient(id: Self.person, issuer: Self.national,
                                   others: [.init(id: "079195000123", issuer: Self.national)])
        let result = Self.rules.extract(patient, callingAETitle: nil, institutionName: nil)
        #expect(result.citizenID == nil)
        #expect(result.disagreeing == ["001085012345", "079195000123"])
        #expect(LinkPolicy.decide(result, existing: nil, patient: Demographics(), otherRecordsOfPerson: [])
            == .review(.disagreeingIDs, detail: "the object carries 2 different citizen IDs"))
    }

    @Test func theSameNumberInSeveralPlacesIsOneID() {
        let patient = Self.patient(id: "CR-1", issuer: "CHORAY", others: [.init(id: Self.person, issuer: Self.national)],
                                   retired: [Self.person])
        let result = Self.rules.extract(patient, callingAETitle: "NOT-CONFIGURED", institutionName: nil)
        #expect(result.citizenID?.value == Self.person)
        #expect(result.location == "OtherPatientIDsSequence")
    }

    @Test func localIssuerComesFromTheMatchingRule() {
        #expect(Self.rules.localIssuer(callingAETitle: nil, institutionName: "Bệnh viện Hữu nghị Việt Đức") == "VIETDUC")
        #expect(Self.rules.localIssuer(callingAETitle: "BACHMAI", institutionName: nil) == nil)
    }
}

@Suite struct LinkPolicyTests {
    static let found = CitizenIDExtraction(citizenID: CitizenID("001085012345"), location: "PatientID", rule: "r")
    static let hung = Demographics(name: "Nguyễn^Văn Hùng", birthDate: "19850312", sex: "M")

    @Test func namesDifferingInCaseOrDiacriticsDoNotBlockALink() {
        let decision = LinkPolicy.decide(Self.found, existing: nil, patient: Self.hung, otherRecordsOfPerson: [
            Demographics(name: "NGUYEN^VAN HUNG", birthDate: "1985.03.12", sex: "M")])
        #expect(decision == .link(warnings: []))
    }

    @Test func aDifferentBirthDateOrSexGoesToReview() {
        for other in [Demographics(name: "NGUYEN^VAN HUNG", birthDate: "19850313", sex: "M"),
                      Demographics(name: "NGUYEN^VAN HUNG", birthDate: "19850312", sex: "F")] {
            guard case .review(.demographics, _) = LinkPolicy.decide(Self.found, existing: nil, patient: Self.hung,
                                                                     otherRecordsOfPerson: [other]) else {
                Issue.record("expected a review for \(other)")
                continue
            }
        }
    }

    @Test func warningsWhenTheRecordDisagreesWithTheNumberItself() {
        // 001085012345: a man born in 1985. A record saying 1986 / F is linked, with warnings.
        let decision = LinkPolicy.decide(Self.found, existing: nil,
                                         patient: Demographics(name: "A", birthDate: "19860101", sex: "F"),
                                         otherRecordsOfPerson: [])
        #expect(decision == .link(warnings: ["birth year differs from the citizen ID's", "sex differs from the citizen ID's"]))
    }

    @Test func existingLinks() {
        let same = ExistingLink(citizenID: "001085012345", state: .linked, origin: "auto")
        let other = ExistingLink(citizenID: "079195000123", state: .linked, origin: "admin")
        let unlinkedByAdmin = ExistingLink(citizenID: "001085012345", state: .unlinked, origin: "admin")
        #expect(LinkPolicy.decide(Self.found, existing: same, patient: Self.hung, otherRecordsOfPerson: []) == .unchanged)
        #expect(LinkPolicy.decide(Self.found, existing: unlinkedByAdmin, patient: Self.hung, otherRecordsOfPerson: [])
            == .keptUnlinked)
        guard case .review(.otherCitizenID, _) = LinkPolicy.decide(Self.found, existing: other, patient: Self.hung,
                                                                   otherRecordsOfPerson: []) else {
            Issue.record("one local patient with two citizen IDs must go to review")
            return
        }
        #expect(LinkPolicy.decide(CitizenIDExtraction(rule: "r"), existing: nil, patient: Self.hung,
                                  otherRecordsOfPerson: []) == .none)
    }
}
