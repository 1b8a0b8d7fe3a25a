import Testing
@testable import DicomCore
@testable import DicomIndex

@Suite struct MatcherTests {
    @Test(arguments: [
        // universal
        ("", QueryAttribute.Kind.text, Matcher.universal),
        ("*", .text, .universal),
        ("", .date, .universal),
        ("-", .date, .universal),
        // single value and wildcards
        ("CT", .text, .exact("CT")),
        ("CT ", .text, .exact("CT")),
        ("Nguy*", .personName, .wildcard("Nguy*")),
        ("BM24?315*", .text, .wildcard("BM24?315*")),
        // UIDs and lists
        ("1.2.3", .uid, .exact("1.2.3")),
        ("1.2.3\\1.2.4", .uid, .anyOf(["1.2.3", "1.2.4"])),
        // dates
        ("20240315", .date, .exact("20240315")),
        ("20240101-", .date, .range(lower: "20240101", upper: nil)),
        ("-20241231", .date, .range(lower: nil, upper: "20241231")),
        ("20240101-20241231", .date, .range(lower: "20240101", upper: "20241231")),
        // times (normalised; a partial time is a range)
        ("0830-1200", .time, .range(lower: "083000.000000", upper: "120059.999999")),
        ("08", .time, .range(lower: "080000.000000", upper: "085959.999999")),
        ("083012.000000", .time, .exact("083012.000000")),
        // a UID is matched as given, even one that breaks PS3.5 9.1 (stored as it came)
        ("1.2.03.4.abc", .uid, .exact("1.2.03.4.abc")),
        // numbers
        ("12", .integer, .integer(12)),
    ])
    func parses(value: String, kind: QueryAttribute.Kind, expected: Matcher) throws {
        #expect(try Matcher.parse(value, kind: kind) == expected)
    }

    @Test(arguments: [
        ("1.2.*", QueryAttribute.Kind.uid, "wildcards are not allowed in UIDs"),
        ("2024-01-01", .date, "range"),
        ("20241301", .date, "is not a date"),
        ("20240101-2024", .date, "is not a date"),
        ("20241231-20240101", .date, "ends before it starts"),
        ("25", .time, "is not a time"),
        ("twelve", .integer, "is not a number"),
    ])
    func rejects(value: String, kind: QueryAttribute.Kind, message: String) {
        do {
            _ = try Matcher.parse(value, kind: kind, attribute: "x")
            Issue.record("accepted '\(value)'")
        } catch {
            #expect(error.code == .invalidQuery)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    /// Every attribute the index answers with goes into DICOM JSON with its own VR, not the LO
    /// that unknown tags get (StationName once came out as LO instead of SH).
    @Test func everyQueryAttributeHasItsVR() {
        for attribute in QueryAttribute.allCases {
            guard let tag = attribute.tag else { continue }
            #expect(DicomTag.knownVRs[tag.rawValue] != nil, "\(attribute) has no VR")
        }
        #expect(DicomTag.vr(of: .stationName) == "SH")
    }

    @Test func literalPrefix() {
        #expect(Matcher.literalPrefix(of: "nguyen van*") == "nguyen van")
        #expect(Matcher.literalPrefix(of: "*abc") == "")
        #expect(Matcher.literalPrefix(of: "ab?c*") == "ab")
    }

    @Test func queryDropsUniversalAndChecksPaging() throws {
        let q = IndexQuery(level: .study, filters: [.patientID: "*", .modality: "CT", .studyDate: ""])
        let conditions = try q.conditions()
        #expect(conditions.count == 1)
        #expect(conditions.first?.attribute == .modality)
        #expect(throws: IndexError.self) { try IndexQuery(level: .study, limit: -1).conditions() }
        #expect(throws: IndexError.self) { try IndexQuery(level: .study, offset: -3).conditions() }
    }

    @Test func attributesKnowTheirLevelAndTag() {
        #expect(QueryAttribute.patientName.level == .patient)
        #expect(QueryAttribute.modality.level == .series)
        #expect(QueryAttribute(tag: .accessionNumber) == .accessionNumber)
        #expect(QueryAttribute.sourceAETitle.tag == nil)
    }

    @Test func policyFingerprint() {
        #expect(IndexingPolicy().fingerprint == "\(IndexingPolicy.codeVersion)")
        let p = IndexingPolicy(extraTags: [DicomTag(0x0018, 0x0015), DicomTag(0x0008, 0x1030), DicomTag(0x0008, 0x1030)])
        #expect(p.fingerprint == "\(IndexingPolicy.codeVersion)+00081030,00180015")
    }
}
