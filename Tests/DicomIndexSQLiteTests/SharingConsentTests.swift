import Foundation
import Testing
import DicomCore
import DicomIndex
import PatientIdentity
@testable import DicomIndexSQLite

/// The sharing consent in the SQLite index: an opted-out person's studies of other hospitals are
/// as if absent for a restricted query, at every level, in counts and in deeper conditions.
@Suite struct SharingConsentTests {
    static let hung = LinkTests.hung
    static let lan = "079195000123"

    /// Hùng at Bạch Mai (citizen ID as PatientID), Việt Đức and Chợ Rẫy; Lan at Chợ Rẫy only.
    static func fixture() throws -> Fixture {
        let f = try Fixture()
        func write(_ w: InstanceWrite, hospital: String) -> InstanceWrite {
            var w = w
            w.hospital = hospital
            return w
        }
        _ = try f.store.commit([
            write(LinkTests.write(patient: hung, issuer: LinkTests.national, study: "1.1", institution: "Bạch Mai"),
                  hospital: "Bạch Mai"),
            write(LinkTests.write(patient: "VD-77", issuer: "VIETDUC", study: "1.2", institution: "Việt Đức",
                                  others: [.init(id: hung, issuer: LinkTests.national)]), hospital: "Việt Đức"),
            write(LinkTests.write(patient: "CR-5", issuer: "CHORAY", study: "1.3", institution: "Chợ Rẫy",
                                  retired: [hung]), hospital: "Chợ Rẫy"),
            write(LinkTests.write(patient: "CR-6", issuer: "CHORAY", name: "Trần^Thị Lan", birth: "19950101", sex: "F",
                                  study: "2.1", institution: "Chợ Rẫy", retired: [lan]), hospital: "Chợ Rẫy"),
        ])
        return f
    }

    func studies(_ f: Fixture, _ query: IndexQuery) throws -> Set<String> {
        Set(try f.store.query(query).compactMap { $0.study?.studyInstanceUID })
    }

    @Test func theHospitalIsRecordedWithTheStudy() throws {
        let f = try Self.fixture()
        let all = try f.store.query(IndexQuery(level: .study))
        #expect(Dictionary(uniqueKeysWithValues: all.map { ($0.study!.studyInstanceUID, $0.study!.hospital ?? "") })
                == ["1.1": "Bạch Mai", "1.2": "Việt Đức", "1.3": "Chợ Rẫy", "2.1": "Chợ Rẫy"])
    }

    @Test func withoutAnOptOutEveryHospitalSeesEverything() throws {
        let f = try Self.fixture()
        var q = IndexQuery(level: .study, citizenID: Self.hung)
        q.sharingRestriction = "Huế"
        #expect(try studies(f, q) == ["1.1", "1.2", "1.3"])
    }

    @Test func anOptedOutPersonShowsOnlyTheAskingHospitalsStudies() throws {
        let f = try Self.fixture()
        try f.store.setSharingConsent(citizenID: Self.hung, optedOut: true, actor: "admin:test", reason: "form 12")
        for (hospital, expected) in [("Việt Đức", ["1.2"]), ("Chợ Rẫy", ["1.3"]), ("Huế", [])] as [(String, Set<String>)] {
            var byCitizen = IndexQuery(level: .study, citizenID: Self.hung)
            byCitizen.sharingRestriction = hospital
            #expect(try studies(f, byCitizen) == expected, "\(hospital)")
            #expect(try f.store.count(byCitizen) == expected.count)
            // Every level: series and instances too.
            for level in [QueryLevel.series, .instance] {
                var q = IndexQuery(level: level, citizenID: Self.hung)
                q.sharingRestriction = hospital
                #expect(try studies(f, q) == expected, "\(hospital) \(level)")
            }
            // By a local ID, by name: the same rule.
            var byName = IndexQuery(level: .study, filters: [.patientName: "nguyen*"], nameMatching: .folded)
            byName.sharingRestriction = hospital
            #expect(try studies(f, byName) == expected, "\(hospital) by name")
        }
        // Another person at the same hospital is untouched; no restriction: everything.
        var lan = IndexQuery(level: .study, citizenID: Self.lan)
        lan.sharingRestriction = "Huế"
        #expect(try studies(f, lan) == ["2.1"])
        #expect(try studies(f, IndexQuery(level: .study, citizenID: Self.hung)) == ["1.1", "1.2", "1.3"])
    }

    @Test func patientRecordsAndTheirCountsFollowTheRestriction() throws {
        let f = try Self.fixture()
        try f.store.setSharingConsent(citizenID: Self.hung, optedOut: true, actor: "admin:test", reason: "form 12")
        var patients = IndexQuery(level: .patient, citizenID: Self.hung)
        patients.sharingRestriction = "Việt Đức"
        let shown = try f.store.query(patients)
        #expect(shown.map(\.patient.patientID) == ["VD-77"])
        #expect(shown.first?.patient.numberOfStudies == 1)
        patients.sharingRestriction = "Huế"
        #expect(try f.store.query(patients).isEmpty)
        // A condition below the level cannot reach a hidden study either.
        var deeper = IndexQuery(level: .patient, filters: [.studyInstanceUID: "1.3"])
        deeper.sharingRestriction = "Việt Đức"
        #expect(try f.store.query(deeper).isEmpty)
        var modality = IndexQuery(level: .patient, filters: [.modalitiesInStudy: "CT", .patientID: "CR-5"])
        modality.sharingRestriction = "Việt Đức"
        #expect(try f.store.query(modality).isEmpty)
        modality.sharingRestriction = "Chợ Rẫy"
        #expect(try f.store.query(modality).map(\.patient.patientID) == ["CR-5"])
    }

    @Test func withdrawingTheOptOutSharesAgainAndTheHistoryIsKept() throws {
        let f = try Self.fixture()
        try f.store.setSharingConsent(citizenID: Self.hung, optedOut: true, actor: "admin:a", reason: "form 12")
        #expect(try f.store.optedOutCitizens().map(\.citizenID) == [Self.hung])
        try f.store.setSharingConsent(citizenID: Self.hung, optedOut: false, actor: "admin:b", reason: "form 13")
        var q = IndexQuery(level: .study, citizenID: Self.hung)
        q.sharingRestriction = "Huế"
        #expect(try studies(f, q) == ["1.1", "1.2", "1.3"])
        #expect(try f.store.optedOutCitizens().isEmpty)
        #expect(try f.store.sharingConsent(citizenID: Self.hung)?.optedOut == false)
        let history = try f.store.sharingConsentHistory(citizenID: Self.hung)
        #expect(history.map(\.optedOut) == [true, false] && history.map(\.actor) == ["admin:a", "admin:b"])
    }

    @Test func studiesOfNoKnownHospitalGetTheirSendersHospital() throws {
        let f = try Fixture()
        var w = LinkTests.write(patient: "X-1", issuer: "X", study: "9.1", institution: "Nowhere")
        w.sourceAETitle = "HUE_PACS"
        _ = try f.store.commit([w])
        #expect(try f.store.assignHospitals(bySourceAETitle: ["HUE_PACS": "Huế", "OTHER": "Elsewhere"]) == 1)
        #expect(try f.store.query(IndexQuery(level: .study)).first?.study?.hospital == "Huế")
        // A hospital once recorded is not changed.
        #expect(try f.store.assignHospitals(bySourceAETitle: ["HUE_PACS": "Another"]) == 0)
    }
}
