import Foundation
import Testing
import DicomCore
import DicomIndex
import PatientIdentity
@testable import DicomIndexSQLite

/// Person ↔ local patient links in the SQLite index.
@Suite struct LinkTests {
    static let national = "VN-CCCD"
    static let hung = "001085012345"
    static let rules = CitizenIDRules(nationalIssuer: national)

    /// One instance of a study of a local patient, with the citizen ID where its hospital puts it.
    static func write(patient: String, issuer: String, name: String = "Nguyễn^Văn Hùng", birth: String = "19850312",
                      sex: String = "M", study: String, institution: String, others: [InstanceMetadata.OtherPatientID] = [],
                      retired: [String] = [], received: TimeInterval = 1_700_000_000) -> InstanceWrite {
        var m = Fixture.metadata(patient: patient, issuer: issuer, name: name, birth: birth, sex: sex, study: study,
                                 date: "20240101", institution: institution, series: study + ".1", modality: "CT",
                                 sop: study + ".1.1", others: others)
        m.patient.retiredOtherPatientIDs = retired
        let citizen = rules.extract(m.patient, callingAETitle: nil, institutionName: institution)
        var w = Fixture.write(m, ae: nil, received: received)
        w.citizen = citizen
        return w
    }

    func studies(_ f: Fixture, citizen: String) throws -> Set<String> {
        Set(try f.store.query(IndexQuery(level: .study, citizenID: citizen)).compactMap { $0.study?.studyInstanceUID })
    }

    @Test func onePersonFromThreeHospitalsWithThreeConventionsIsFoundTogether() throws {
        let f = try Fixture()
        _ = try f.store.commit([
            Self.write(patient: Self.hung, issuer: Self.national, study: "1.1", institution: "Bạch Mai"),
            Self.write(patient: "VD-77", issuer: "VIETDUC", name: "NGUYEN^VAN HUNG", study: "1.2", institution: "Việt Đức",
                       others: [.init(id: Self.hung, issuer: Self.national, type: "TEXT")]),
            Self.write(patient: "CR-5", issuer: "CHORAY", name: "Nguyen^Van Hung", study: "1.3", institution: "Chợ Rẫy",
                       retired: [Self.hung]),
        ])
        #expect(try studies(f, citizen: Self.hung) == ["1.1", "1.2", "1.3"])
        let links = try f.store.patientLinks(citizenID: Self.hung)
        #expect(links.map(\.patientID).sorted() == ["001085012345", "CR-5", "VD-77"])
        #expect(links.allSatisfy { $0.warnings.isEmpty && $0.origin == "auto" })
        #expect(try f.store.linkConflicts(includeResolved: true).isEmpty)
        // A local ID with its issuer still finds only that hospital's patient.
        let local = try f.store.query(IndexQuery(level: .study, filters: [.patientID: "VD-77", .issuerOfPatientID: "VIETDUC"]))
        #expect(local.map { $0.study!.studyInstanceUID } == ["1.2"])
    }

    @Test func twoPeopleWithTheSameLocalNumberAtTwoHospitalsAreNeverMixed() throws {
        let f = try Fixture()
        let lan = "079195000123"
        _ = try f.store.commit([
            Self.write(patient: "12345", issuer: "VIETDUC", study: "2.1", institution: "Việt Đức",
                       others: [.init(id: Self.hung, issuer: Self.national)]),
            Self.write(patient: "12345", issuer: "CHORAY", name: "Trần^Thị Lan", birth: "19950101", sex: "F", study: "2.2",
                       institution: "Chợ Rẫy", others: [.init(id: lan, issuer: Self.national)]),
        ])
        #expect(try studies(f, citizen: Self.hung) == ["2.1"])
        #expect(try studies(f, citizen: lan) == ["2.2"])
        #expect(try f.store.linkConflicts(includeResolved: false).isEmpty)
    }

    @Test func aDifferentBirthDateGoesToReviewInsteadOfBeingMerged() throws {
        let f = try Fixture()
        _ = try f.store.commit([Self.write(patient: Self.hung, issuer: Self.national, study: "3.1", institution: "Bạch Mai")])
        _ = try f.store.commit([Self.write(patient: "VD-1", issuer: "VIETDUC", birth: "19850313", study: "3.2",
                                           institution: "Việt Đức", others: [.init(id: Self.hung, issuer: Self.national)])])
        #expect(try studies(f, citizen: Self.hung) == ["3.1"])
        let conflicts = try f.store.linkConflicts(includeResolved: false)
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.kind == .demographics)
        #expect(conflicts.first?.patientID == "VD-1")
        // More instances of the same case do not add cases.
        var again = Self.write(patient: "VD-1", issuer: "VIETDUC", birth: "19850313", study: "3.2", institution: "Việt Đức",
                               others: [.init(id: Self.hung, issuer: Self.national)])
        again.metadata.instance.sopInstanceUID = "3.2.1.2"
        _ = try f.store.commit([again])
        #expect(try f.store.linkConflicts(includeResolved: false).count == 1)
        // The admin decides: linking closes the case.
        try f.store.setLink(patientID: "VD-1", issuer: "VIETDUC", citizenID: Self.hung, actor: "admin:test",
                            reason: "birth date typo at Việt Đức, checked with the patient")
        #expect(try studies(f, citizen: Self.hung) == ["3.1", "3.2"])
        #expect(try f.store.linkConflicts(includeResolved: false).isEmpty)
        #expect(try f.store.linkConflicts(includeResolved: true).first?.resolvedBy == "admin:test")
    }

    @Test func oneLocalPatientArrivingWithAnotherCitizenIDGoesToReview() throws {
        let f = try Fixture()
        _ = try f.store.commit([Self.write(patient: "VD-1", issuer: "VIETDUC", study: "4.1", institution: "Việt Đức",
                                           others: [.init(id: Self.hung, issuer: Self.national)])])
        _ = try f.store.commit([Self.write(patient: "VD-1", issuer: "VIETDUC", study: "4.2", institution: "Việt Đức",
                                           others: [.init(id: "001085099999", issuer: Self.national)])])
        #expect(try f.store.patientLink(patientID: "VD-1", issuer: "VIETDUC")?.citizenID == Self.hung)
        #expect(try f.store.linkConflicts(includeResolved: false).map(\.kind) == [.otherCitizenID])
        #expect(try studies(f, citizen: "001085099999").isEmpty)
    }

    @Test func aLateLinkShowsEarlierStudiesWithoutRereadingFiles() throws {
        let f = try Fixture()
        // A hospital that sent no citizen ID at the time.
        _ = try f.store.commit([Self.write(patient: "DN-9", issuer: "DANANG", study: "5.1", institution: "Đà Nẵng")])
        #expect(try studies(f, citizen: Self.hung).isEmpty)
        try f.store.setLink(patientID: "DN-9", issuer: "DANANG", citizenID: Self.hung, actor: "admin:lan",
                            reason: "identity checked at the desk")
        #expect(try studies(f, citizen: Self.hung) == ["5.1"])
        let history = try f.store.linkEvents(patientID: "DN-9", issuer: "DANANG", citizenID: nil)
        #expect(history.map(\.action) == ["link"])
        #expect(history.first?.actor == "admin:lan")
        #expect(history.first?.reason == "identity checked at the desk")
        // Unlink: gone from look-ups, and automatic linking does not bring it back.
        try f.store.setLink(patientID: "DN-9", issuer: "DANANG", citizenID: nil, actor: "admin:lan", reason: "wrong person")
        #expect(try studies(f, citizen: Self.hung).isEmpty)
        var later = Self.write(patient: "DN-9", issuer: "DANANG", study: "5.2", institution: "Đà Nẵng",
                               others: [.init(id: Self.hung, issuer: Self.national)])
        later.metadata.series.seriesInstanceUID = "5.2.1"
        _ = try f.store.commit([later])
        #expect(try studies(f, citizen: Self.hung).isEmpty)
        #expect(try f.store.linkEvents(patientID: "DN-9", issuer: "DANANG", citizenID: nil).map(\.action) == ["link", "unlink"])
    }

    @Test func linksSurviveTheirPatientsRowsBeingRemovedAndMadeAgain() throws {
        let f = try Fixture()
        let w = Self.write(patient: "DN-9", issuer: "DANANG", study: "6.1", institution: "Đà Nẵng")
        _ = try f.store.commit([w])
        try f.store.setLink(patientID: "DN-9", issuer: "DANANG", citizenID: Self.hung, actor: "admin", reason: "checked")
        // What reindex does to a vanished-then-restored file: the row goes, then comes back.
        let ids = try f.store.instanceLocations(afterID: 0, limit: 10).map(\.id)
        #expect(try f.store.removeInstances(ids: ids) == 1)
        #expect(try studies(f, citizen: Self.hung).isEmpty)
        var again = w
        again.mode = .upsert
        _ = try f.store.commit([again])
        #expect(try studies(f, citizen: Self.hung) == ["6.1"])
    }

    @Test(arguments: ["00108501234", "0010850123456", "00108501234A", "003085012345", " 001 085012345"])
    func malformedCitizenIDsNeverBecomeLinks(_ text: String) throws {
        let f = try Fixture()
        _ = try f.store.commit([
            Self.write(patient: text, issuer: Self.national, study: "7.1", institution: "Bạch Mai"),
            Self.write(patient: "VD-1", issuer: "VIETDUC", study: "7.2", institution: "Việt Đức",
                       others: [.init(id: text, issuer: Self.national)]),
        ])
        let linked = try f.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_link")! }
        #expect(linked == 0)
    }
}
