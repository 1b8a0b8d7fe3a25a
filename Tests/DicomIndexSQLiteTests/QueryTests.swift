import Foundation
import Testing
import DicomCore
import DicomIndex
@testable import DicomIndexSQLite

@Suite struct QueryTests {
    let fixture: Fixture

    init() throws {
        fixture = try Fixture()
        try fixture.populate()
    }

    func studies(_ filters: [QueryAttribute: String], names: IndexQuery.NameMatching = .caseInsensitive) throws -> [String] {
        try fixture.store.query(IndexQuery(level: .study, filters: filters, nameMatching: names))
            .map { $0.study!.studyInstanceUID }.sorted()
    }

    @Test(arguments: [
        // single value, universal, wildcard
        ([QueryAttribute.patientID: "001085012345"], ["1.1"]),
        ([.patientID: ""], ["1.1", "1.2", "1.3", "1.4"]),
        ([.patientID: "*"], ["1.1", "1.2", "1.3", "1.4"]),
        ([.patientID: "CR001234?"], ["1.2", "1.3"]),
        ([.patientID: "*12345"], ["1.1", "1.2", "1.3"]),
        ([.accessionNumber: "CR-7*"], ["1.2"]),
        ([.studyDescription: "*gối"], ["1.3"]),
        // (PatientID, issuer) keeps two hospitals' patients apart
        ([.patientID: "CR0012345", .issuerOfPatientID: "CHORAY"], ["1.2"]),
        ([.patientID: "CR0012345", .issuerOfPatientID: "VIETDUC"], ["1.3"]),
        // UID lists
        ([.studyInstanceUID: "1.1\\1.4"], ["1.1", "1.4"]),
        ([.studyInstanceUID: "9.9"], []),
        // dates and times
        ([.studyDate: "20240315"], ["1.1"]),
        ([.studyDate: "20240401-"], ["1.2", "1.3"]),
        ([.studyDate: "-20231231"], ["1.4"]),
        ([.studyDate: "20240301-20240430"], ["1.1", "1.2"]),
        ([.studyTime: "14"], ["1.2"]),
        ([.studyTime: "0800-0900"], ["1.1", "1.3"]),
        ([.studyTime: "2200-"], ["1.4"]),
        // lower-level attributes at study level: some series or instance matches
        ([.modalitiesInStudy: "MR"], ["1.1"]),
        ([.modalitiesInStudy: "C?"], ["1.1", "1.2"]),
        ([.modalitiesInStudy: "MR\\US"], ["1.1", "1.4"]),
        ([.modality: "DX"], ["1.3"]),
        ([.sopInstanceUID: "1.1.2.1"], ["1.1"]),
        // combined
        ([.patientName: "nguyen*", .studyDate: "20240401-"], ["1.2"]),
        ([.patientName: "nguyen*", .studyDate: "20240501-"], []),
        ([.institutionName: "Bệnh viện Chợ Rẫy"], ["1.2"]),
    ])
    func studyLevelMatching(filters: [QueryAttribute: String], expected: [String]) throws {
        #expect(try studies(filters) == expected)
    }

    @Test func namesAreCaseInsensitiveAndCanFoldDiacritics() throws {
        #expect(try studies([.patientName: "nguyễn^văn hùng"]) == ["1.1"])
        #expect(try studies([.patientName: "NGUYEN^VAN*"]) == ["1.2"])
        // folded: one person written two ways is found both ways
        #expect(try studies([.patientName: "nguyen van"], names: .folded) == [])
        #expect(try studies([.patientName: "nguyen van*"], names: .folded) == ["1.1", "1.2"])
        #expect(try studies([.patientName: "nguyen van hung"], names: .folded) == ["1.1", "1.2"])
        #expect(try studies([.patientName: "Hoang^Van Dat"], names: .folded) == ["1.3"])
        // `?` stands for one character, however many UTF-8 bytes it takes (ễ is three, Đ two)
        #expect(try studies([.patientName: "Nguy?n^V?n H?ng"], names: .exact) == ["1.1"])
        #expect(try studies([.patientName: "Nguy??n^V?n H?ng"], names: .exact) == [])
        #expect(try studies([.patientName: "Hoàng^Văn ?ạt"]) == ["1.3"])
        // exact is DICOM's case-sensitive matching
        #expect(try studies([.patientName: "nguyễn^văn hùng"], names: .exact) == [])
        #expect(try studies([.patientName: "Nguyễn^Văn Hùng"], names: .exact) == ["1.1"])
        // referring physician is a name too
        #expect(try studies([.referringPhysicianName: "pham minh duc"], names: .folded).count == 4)
    }

    /// Two hospitals that share the citizen ID as PatientID spell the name their own way: the
    /// patient is found under either spelling (and one sent late, by an older instance), and shows
    /// the newest. When the patient goes, so do its spellings.
    /// A name of several component groups is found by the whole value and by each group, with or
    /// without wildcards; the value returned is the whole name.
    @Test func aNameIsFoundByEachOfItsComponentGroups() throws {
        let f = try Fixture()
        let full = "Yamada^Tarou=山田^太郎=やまだ^たろう"
        for (name, patient, study) in [(full, "JP-1", "8.1"), ("Yamada^Hanako", "JP-2", "8.2")] {
            let m = Fixture.metadata(patient: patient, issuer: nil, name: name, study: study, date: "20240101",
                                     series: study + ".1", modality: "CT", sop: study + ".1.1")
            _ = try f.store.commit([Fixture.write(m)])[0].get()
        }
        func patients(_ name: String, _ names: IndexQuery.NameMatching = .caseInsensitive) throws -> [String] {
            try f.store.query(IndexQuery(level: .patient, filters: [.patientName: name], nameMatching: names))
                .compactMap(\.patient.patientName).sorted()
        }
        #expect(try patients("Yamada^Tarou") == [full])
        #expect(try patients("Yamada^Tarou", .exact) == [full])
        #expect(try patients("山田^太郎") == [full])
        #expect(try patients("やまだ*") == [full])
        #expect(try patients(full) == [full])
        #expect(try patients("Yamada*") == ["Yamada^Hanako", full])
        #expect(try patients("山田^花子") == [])
        #expect(try f.store.count(IndexQuery(level: .study, filters: [.patientName: "山田*"])) == 1)
    }

    @Test func aPatientIsFoundUnderEverySpellingOfItsName() throws {
        let f = try Fixture()
        let spellings = [("Lê^Xuân Nam", "7.1", 1_700_000_000.0), ("LE^XUAN NAM", "7.2", 1_700_000_100), ("Le^Xuan  Nam", "7.3", 1_600_000_000)]
        for (name, study, received) in spellings {
            let m = Fixture.metadata(patient: "001062064186", issuer: "VN-CCCD", name: name, study: study, date: "20240101",
                                     series: study + ".1", modality: "CT", sop: study + ".1.1")
            _ = try f.store.commit([Fixture.write(m, received: received)])[0].get()
        }
        func patients(_ name: String, _ names: IndexQuery.NameMatching = .caseInsensitive) throws -> [String?] {
            try f.store.query(IndexQuery(level: .patient, filters: [.patientName: name], nameMatching: names)).map(\.patient.patientName)
        }
        #expect(try patients("Lê*") == ["LE^XUAN NAM"])
        #expect(try patients("lê^xuân nam") == ["LE^XUAN NAM"])
        #expect(try patients("Le^Xuan  Nam", .exact) == ["LE^XUAN NAM"])
        #expect(try patients("le xuan*") == ["LE^XUAN NAM"])
        #expect(try patients("Lê^Xuân Nam", .exact) == ["LE^XUAN NAM"])
        #expect(try patients("lê^xuân nam", .exact) == [])
        #expect(try patients("Trần*") == [])
        let studies = try f.store.query(IndexQuery(level: .study, filters: [.patientName: "Lê^Xuân*", .studyInstanceUID: "7.1\\7.3"]))
        #expect(studies.map { $0.study!.studyInstanceUID }.sorted() == ["7.1", "7.3"])
        #expect(try f.store.count(IndexQuery(level: .series, filters: [.patientName: "le^xuan nam"])) == 3)

        let ids = try f.store.instanceLocations(afterID: 0, limit: 10).map(\.id)
        #expect(try f.store.removeInstances(ids: ids) == 3)
        let left = try f.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_spelling") }
        #expect(left == 0)
        // A new patient under the same ID starts with its own spelling only.
        let m = Fixture.metadata(patient: "001062064186", issuer: "VN-CCCD", name: "Trần^Văn Bình", study: "7.4", date: "20240101",
                                 series: "7.4.1", modality: "CT", sop: "7.4.1.1")
        _ = try f.store.commit([Fixture.write(m)])[0].get()
        #expect(try patients("Lê*") == [])
        #expect(try patients("Trần*") == ["Trần^Văn Bình"])
    }

    /// Manufacturer and StationName are series attributes: matched, and returned at SERIES level
    /// and below.
    @Test func seriesEquipmentIsMatchedAndReturned() throws {
        let f = try Fixture()
        var a = Fixture.metadata(patient: "P1", issuer: nil, name: "A^B", study: "8.1", date: "20240101", series: "8.1.1",
                                 modality: "CT", sop: "8.1.1.1")
        a.series.manufacturer = "SIEMENS"
        a.series.stationName = "BM-CT01"
        var b = Fixture.metadata(patient: "P1", issuer: nil, name: "A^B", study: "8.1", date: "20240101", series: "8.1.2",
                                 modality: "MR", sop: "8.1.2.1")
        b.series.manufacturer = "GE MEDICAL SYSTEMS"
        try f.commit(a, b)
        let bm = try f.store.query(IndexQuery(level: .series, filters: [.stationName: "BM-*"]))
        #expect(bm.map { $0.series!.seriesInstanceUID } == ["8.1.1"])
        #expect(bm.first?.series?.manufacturer == "SIEMENS")
        #expect(bm.first?.dicomAttributes()[.stationName] == "BM-CT01")
        #expect(bm.first?.dicomAttributes()[.manufacturer] == "SIEMENS")
        let ge = try f.store.query(IndexQuery(level: .instance, filters: [.manufacturer: "GE*"]))
        #expect(ge.map { $0.instance!.sopInstanceUID } == ["8.1.2.1"])
        #expect(ge.first?.series?.stationName == nil)
        #expect(try f.store.count(IndexQuery(level: .study, filters: [.manufacturer: "SIEMENS"])) == 1)
    }

    /// PatientAge, PatientSize, PatientWeight are study attributes: matched as text, returned at
    /// STUDY level and below, and the newest instance's values are kept.
    @Test func patientStudyAttributesAreMatchedAndReturned() throws {
        let f = try Fixture()
        func study(_ uid: String, age: String, size: String? = nil, weight: String? = nil) -> InstanceMetadata {
            var m = Fixture.metadata(patient: "P1", issuer: nil, name: "A^B", study: uid, date: "20240101",
                                     series: uid + ".1", modality: "CT", sop: uid + ".1.1")
            (m.study.patientAge, m.study.patientSize, m.study.patientWeight) = (age, size, weight)
            return m
        }
        try f.commit(study("9.1", age: "039Y", weight: "68.5"), study("9.2", age: "040Y", size: "1.72"))
        let forty = try f.store.query(IndexQuery(level: .study, filters: [.patientAge: "040Y"]))
        #expect(forty.map { $0.study!.studyInstanceUID } == ["9.2"])
        #expect(forty.first?.dicomAttributes()[.patientAge] == "040Y")
        #expect(forty.first?.dicomAttributes()[.patientSize] == "1.72")
        #expect(forty.first?.dicomAttributes()[.patientWeight] == nil)
        let images = try f.store.query(IndexQuery(level: .instance, filters: [.patientAge: "03*"]))
        #expect(images.map { $0.instance!.sopInstanceUID } == ["9.1.1.1"])
        #expect(images.first?.study?.patientWeight == "68.5")
    }

    @Test func levelsReturnTheirEntitiesWithAncestorsAndCounts() throws {
        let patients = try fixture.store.query(IndexQuery(level: .patient, filters: [.patientID: "001085012345"]))
        #expect(patients.count == 1)
        #expect(patients[0].patient.numberOfStudies == 1)
        #expect(patients[0].patient.numberOfSeries == 2)
        #expect(patients[0].patient.numberOfInstances == 3)
        #expect(patients[0].study == nil)

        let study = try #require(try fixture.store.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"])).first?.study)
        #expect(study.modalitiesInStudy == ["CT", "MR"])
        #expect(study.numberOfSeries == 2)
        #expect(study.numberOfInstances == 3)
        #expect(study.sourceAETitle == "BACHMAI")

        let series = try fixture.store.query(IndexQuery(level: .series, filters: [.studyInstanceUID: "1.1"],
                                                        ordering: [.init(.seriesNumber, ascending: false)]))
        #expect(series.map { $0.series!.seriesInstanceUID } == ["1.1.2", "1.1.1"])
        #expect(series.map { $0.series!.numberOfInstances } == [1, 2])
        #expect(series[0].study?.studyInstanceUID == "1.1")

        let instances = try fixture.store.query(IndexQuery(level: .instance, filters: [.seriesInstanceUID: "1.1.1"],
                                                           ordering: [.init(.instanceNumber)]))
        #expect(instances.map { $0.instance!.sopInstanceUID } == ["1.1.1.1", "1.1.1.2"])
        #expect(instances[0].instance?.rows == 128)
        #expect(instances[0].series?.modality == "CT")
    }

    @Test func patientCountsAreLeftOutOnlyWhenNotReturned() throws {
        var query = IndexQuery(level: .study, filters: [.studyInstanceUID: "1.1"])
        #expect(query.patientCounts)
        let counted = try #require(try fixture.store.query(query).first?.patient)
        #expect(counted.numberOfStudies == 1 && counted.numberOfSeries == 2 && counted.numberOfInstances == 3)

        query.countPatients(returning: [.studyInstanceUID, .patientName])
        #expect(!query.patientCounts)
        let uncounted = try #require(try fixture.store.query(query).first)
        #expect(uncounted.patient.patientID == counted.patientID && uncounted.study?.numberOfInstances == 3)
        #expect(uncounted.patient.numberOfStudies == 0 && uncounted.patient.numberOfSeries == 0)

        query.countPatients(returning: [.studyInstanceUID, .numberOfPatientRelatedInstances])
        #expect(query.patientCounts)
        var patientLevel = IndexQuery(level: .patient, filters: [.patientID: "001085012345"])
        patientLevel.countPatients(returning: [.patientName])
        #expect(patientLevel.patientCounts)  // a person's answer adds up its records' counts
        #expect(try fixture.store.query(patientLevel).first?.patient.numberOfStudies == 1)
    }

    @Test func otherPatientIDsAreKept() throws {
        let p = try #require(try fixture.store.query(IndexQuery(level: .patient, filters: [.issuerOfPatientID: "CHORAY"])).first)
        #expect(p.patient.otherPatientIDs == [.init(id: "001085012345", issuer: "VN-CCCD", type: "TEXT")])
    }

    @Test func limitOffsetOrderingAndCount() throws {
        let all = IndexQuery(level: .study, ordering: [.init(.studyDate, ascending: false)])
        #expect(try fixture.store.query(all).map { $0.study!.studyInstanceUID } == ["1.3", "1.2", "1.1", "1.4"])
        var page = all
        page.limit = 2
        page.offset = 1
        #expect(try fixture.store.query(page).map { $0.study!.studyInstanceUID } == ["1.2", "1.1"])
        #expect(try fixture.store.count(page) == 4)
        page.offset = 10
        #expect(try fixture.store.query(page).isEmpty)
    }

    @Test func extraTagsAreSearchable() throws {
        let q = IndexQuery(level: .instance, extra: [DicomTag(0x0018, 0x0015): "NE*"])
        #expect(try fixture.store.query(q).map { $0.instance!.sopInstanceUID } == ["1.1.1.2"])
        let s = IndexQuery(level: .study, extra: [DicomTag(0x0018, 0x0015): "HEAD"])
        #expect(try fixture.store.query(s).map { $0.study!.studyInstanceUID } == ["1.1"])
        #expect(try fixture.store.instance(sopInstanceUID: "1.1.1.1")?.extra == ["00180015": "HEAD"])
    }

    @Test func badQueriesAreRefusedWithAReason() throws {
        for (filters, text) in [([QueryAttribute.studyDate: "2024-13-01"], "studyDate"),
                                ([.studyInstanceUID: "1.2.*"], "wildcards")] {
            do {
                _ = try fixture.store.query(IndexQuery(level: .study, filters: filters))
                Issue.record("accepted \(filters)")
            } catch {
                #expect(error.code == .invalidQuery)
                #expect(error.message.contains(text))
            }
        }
    }

    @Test func valuesAreBoundNotInterpolated() throws {
        // SQL-looking input is only ever a value.
        #expect(try studies([.patientID: "x' OR '1'='1"]) == [])
        #expect(try studies([.patientName: "a[b]*"]) == [])
        #expect(try fixture.store.count(IndexQuery(level: .study)) == 4)
    }

    @Test func everyFilteredColumnHasAnIndex() throws {
        // The plan of a selective query uses an index, never a full scan of the big tables.
        let plan = try fixture.store.pool.read { db in
            try String.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM study WHERE study_date >= ? AND study_date <= ?",
                                arguments: ["20240101", "20241231"])
        }
        let detail = try fixture.store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM patient WHERE name_fold >= ? AND name_fold < ? AND name_fold GLOB ?",
                             arguments: ["nguyen", "nguyen\u{10FFFF}", "nguyen*"]).map { $0["detail"] as String }
        }
        _ = plan
        #expect(detail.contains { $0.contains("USING") && $0.contains("INDEX") }, "\(detail)")
        let columns = try fixture.store.pool.read { db -> [String] in
            var indexed: [String] = []
            for table in ["patient", "patient_spelling", "study", "series", "instance"] {
                for index in try db.indexes(on: table) { indexed.append("\(table).\(index.columns[0])") }
            }
            return indexed
        }
        let filtered = ["patient.patient_id", "patient_spelling.name", "patient_spelling.name_ci", "patient_spelling.name_fold",
                        "patient.birth_date", "study.study_date",
                        "study.accession", "study.study_uid", "study.institution", "series.modality", "series.series_uid",
                        "instance.sop_uid", "instance.series_ref", "instance.policy", "instance.path"]
        for column in filtered { #expect(columns.contains(column), "no index on \(column)") }
    }
}

import GRDB
