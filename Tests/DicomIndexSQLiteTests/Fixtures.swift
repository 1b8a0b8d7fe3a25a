import Foundation
import DicomCore
import DicomIndex
import DicomTestSupport
@testable import DicomIndexSQLite

/// A small synthetic index: three hospitals, Vietnamese names, several modalities and dates.
struct Fixture {
    let dir = TemporaryDirectory("sqlite-index")
    let store: SQLiteIndexStore

    init(migrateUpTo: String? = nil) throws {
        store = try SQLiteIndexStore(path: dir.appending("index.sqlite").path, migrateUpTo: migrateUpTo)
    }

    static func metadata(patient: String, issuer: String?, name: String, birth: String = "19850312", sex: String = "M",
                         study: String, date: String, time: String = "083012", accession: String = "A1",
                         institution: String = "Bệnh viện Bạch Mai", series: String, modality: String, seriesNumber: String = "1",
                         sop: String, instanceNumber: String = "1", description: String = "CT sọ não",
                         extra: [String: String] = [:],
                         others: [InstanceMetadata.OtherPatientID] = []) -> InstanceMetadata {
        var m = InstanceMetadata()
        m.patient.patientID = patient
        m.patient.issuerOfPatientID = issuer
        m.patient.patientName = name
        m.patient.birthDate = birth
        m.patient.sex = sex
        m.patient.otherPatientIDs = others
        m.study.studyInstanceUID = study
        m.study.studyDate = date
        m.study.studyTime = time
        m.study.accessionNumber = accession
        m.study.studyDescription = description
        m.study.institutionName = institution
        m.study.referringPhysicianName = "Phạm^Minh Đức"
        m.series.seriesInstanceUID = series
        m.series.modality = modality
        m.series.seriesNumber = seriesNumber
        m.series.seriesDescription = "series \(seriesNumber)"
        m.instance.sopInstanceUID = sop
        m.instance.sopClassUID = "1.2.840.10008.5.1.4.1.1.2"
        m.instance.instanceNumber = instanceNumber
        m.instance.transferSyntaxUID = "1.2.840.10008.1.2.1"
        m.instance.rows = 128
        m.instance.columns = 128
        m.instance.photometricInterpretation = "MONOCHROME2"
        m.extra = extra
        return m
    }

    static func write(_ m: InstanceMetadata, mode: InstanceWrite.Mode = .insertIfAbsent, policy: String = "1",
                      ae: String? = "BACHMAI", received: TimeInterval = 1_700_000_000) -> InstanceWrite {
        InstanceWrite(metadata: m, path: "objects/\(m.instance.sopInstanceUID).dcm", fileSize: 1000, checksum: "abc",
                      receivedAt: Date(timeIntervalSince1970: received), sourceAETitle: ae, origin: "test",
                      policy: policy, mode: mode)
    }

    /// Commits instances (one transaction, default write options); every write must succeed.
    func commit(_ items: InstanceMetadata...) throws {
        for result in try store.commit(items.map { Fixture.write($0) }) { _ = try result.get() }
    }

    /// Patients: P1 Nguyễn Văn Hùng (Bạch Mai, CT x2 + MR), P2 NGUYEN^VAN HUNG at Chợ Rẫy with the
    /// same local number as P3 at Việt Đức (another person), P4 Trần Thị Mai (US, 2023).
    func populate() throws {
        let rows: [InstanceMetadata] = [
            Self.metadata(patient: "001085012345", issuer: "VN-CCCD", name: "Nguyễn^Văn Hùng", study: "1.1", date: "20240315",
                          series: "1.1.1", modality: "CT", sop: "1.1.1.1", extra: ["00180015": "HEAD"]),
            Self.metadata(patient: "001085012345", issuer: "VN-CCCD", name: "Nguyễn^Văn Hùng", study: "1.1", date: "20240315",
                          series: "1.1.1", modality: "CT", sop: "1.1.1.2", instanceNumber: "2", extra: ["00180015": "NECK"]),
            Self.metadata(patient: "001085012345", issuer: "VN-CCCD", name: "Nguyễn^Văn Hùng", study: "1.1", date: "20240315",
                          series: "1.1.2", modality: "MR", seriesNumber: "2", sop: "1.1.2.1"),
            Self.metadata(patient: "CR0012345", issuer: "CHORAY", name: "NGUYEN^VAN HUNG", study: "1.2", date: "20240402",
                          time: "1405", accession: "CR-77", institution: "Bệnh viện Chợ Rẫy", series: "1.2.1", modality: "CR",
                          sop: "1.2.1.1", description: "XQ ngực thẳng",
                          others: [.init(id: "001085012345", issuer: "VN-CCCD", type: "TEXT")]),
            Self.metadata(patient: "CR0012345", issuer: "VIETDUC", name: "Hoàng^Văn Đạt", birth: "20010602", study: "1.3",
                          date: "20240510", institution: "Bệnh viện Việt Đức", series: "1.3.1", modality: "DX",
                          sop: "1.3.1.1", description: "X-quang gối"),
            Self.metadata(patient: "001190067890", issuer: "VN-CCCD", name: "Trần^Thị Mai", birth: "19900721", sex: "F",
                          study: "1.4", date: "20231120", time: "230000", series: "1.4.1", modality: "US", sop: "1.4.1.1",
                          description: "Siêu âm bụng"),
        ]
        let results = try store.commit(rows.map { Self.write($0) })
        for result in results { _ = try result.get() }
    }
}
