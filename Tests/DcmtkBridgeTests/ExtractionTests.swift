import Foundation
import Testing
import DicomCore
import DicomTestSupport
@testable import DcmtkBridge

@Suite struct ExtractionTests {
    static let goodFiles = TestImages.manifest.files.map(\.path)

    /// Every good file of the corpus gives the values pydicom read back when it was made.
    @Test(arguments: goodFiles)
    func metadataMatchesGroundTruth(path: String) throws {
        let expected = try #require(TestImages.manifest.file(path))
        let file = try DicomFile(path: TestImages.url(path).path, options: [.skipPixelData])
        let m = try file.metadata()
        #expect(file.characterSetWarning == nil, "\(path): \(file.characterSetWarning ?? "")")
        #expect(file.hasPart10Header)

        let checks: [(String, String?)] = [
            ("SOPClassUID", m.instance.sopClassUID), ("SOPInstanceUID", m.instance.sopInstanceUID),
            ("StudyInstanceUID", m.study.studyInstanceUID), ("SeriesInstanceUID", m.series.seriesInstanceUID),
            ("TransferSyntaxUID", m.instance.transferSyntaxUID), ("PatientID", m.patient.patientID),
            ("IssuerOfPatientID", m.patient.issuerOfPatientID), ("PatientName", m.patient.patientName),
            ("PatientBirthDate", m.patient.birthDate), ("PatientSex", m.patient.sex), ("StudyDate", m.study.studyDate),
            ("StudyTime", m.study.studyTime), ("AccessionNumber", m.study.accessionNumber), ("StudyID", m.study.studyID),
            ("StudyDescription", m.study.studyDescription), ("ReferringPhysicianName", m.study.referringPhysicianName),
            ("InstitutionName", m.study.institutionName), ("Modality", m.series.modality),
            ("SeriesNumber", m.series.seriesNumber), ("SeriesDescription", m.series.seriesDescription),
            ("BodyPartExamined", m.series.bodyPartExamined), ("SeriesDate", m.series.seriesDate),
            ("SeriesTime", m.series.seriesTime), ("InstanceNumber", m.instance.instanceNumber),
            ("Rows", m.instance.rows.map(String.init)), ("Columns", m.instance.columns.map(String.init)),
            ("NumberOfFrames", m.instance.numberOfFrames.map(String.init)),
            ("PhotometricInterpretation", m.instance.photometricInterpretation),
        ]
        for (key, actual) in checks {
            #expect(actual == expected[key].map { key.hasSuffix("Name") ? PersonName($0).value : $0 }, "\(path) \(key)")
        }
        #expect(m.patient.otherPatientIDs.count == expected.otherPatientIDs.count, "\(path) OtherPatientIDsSequence")
        for (item, want) in zip(m.patient.otherPatientIDs, expected.otherPatientIDs) {
            #expect(item.id == want["PatientID"] ?? nil)
            #expect(item.issuer == want["IssuerOfPatientID"] ?? nil)
            #expect(item.type == want["TypeOfPatientID"] ?? nil)
        }
        if let retired = expected["OtherPatientIDs"] {
            #expect(m.patient.retiredOtherPatientIDs == retired.split(separator: "\\").map(String.init))
        } else {
            #expect(m.patient.retiredOtherPatientIDs.isEmpty)
        }
    }

    @Test(arguments: [
        ("charset/latin1-iso-ir-100.dcm", "Müller^Jürgen"),
        ("charset/japanese-iso-2022-ir-87.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
        ("charset/chinese-gb18030.dcm", "Wang^XiaoDong=王^小东="),
        ("bachmai/ct-head-1.dcm", "Nguyễn^Văn Hùng"),
    ])
    func characterSetsAreConvertedToUTF8(path: String, name: String) throws {
        let file = try DicomFile(path: TestImages.url(path).path)
        #expect(file.characterSetWarning == nil)
        #expect(try file.metadata().patient.patientName.map { PersonName($0).value } == PersonName(name).value)
        #expect(file.string(.specificCharacterSet) == "ISO_IR 192")
    }

    @Test func seriesEquipmentIsExtracted() throws {
        let m = try DicomFile(path: TestImages.url("bachmai/ct-head-1.dcm").path, options: [.skipPixelData]).metadata()
        #expect(m.series.manufacturer == "SyntheticCo")
        #expect(m.series.stationName == "BM-CT01")
    }

    /// PatientAge, PatientSize and PatientWeight: the Patient Study module, kept with the study.
    @Test func patientStudyAttributesAreExtracted() throws {
        let file = try DicomFile(path: TestImages.url("bachmai/ct-head-1.dcm").path, options: [.skipPixelData])
        try file.put("039Y", for: .patientAge)
        try file.put("1.72", for: .patientSize)
        try file.put("68.5", for: .patientWeight)
        let m = try file.metadata()
        #expect((m.study.patientAge, m.study.patientSize, m.study.patientWeight) == ("039Y", "1.72", "68.5"))
        let none = try DicomFile(path: TestImages.url("bachmai/ct-head-2.dcm").path, options: [.skipPixelData]).metadata()
        #expect(none.study.patientAge == nil)
    }

    @Test func memoryAndFileGiveTheSameMetadata() throws {
        for path in ["choray/us-abdomen-cine-5frames.dcm", "compressed/ct-head-1-jpegls-lossless.dcm",
                     "encodings/mr-lspine-1-explicit-big-endian.dcm", "compressed/mr-lspine-1-deflated.dcm"] {
            let url = TestImages.url(path)
            let fromFile = try DicomFile(path: url.path).metadata()
            let fromMemory = try DicomFile(data: try Data(contentsOf: url), options: [.skipPixelData]).metadata()
            #expect(fromFile == fromMemory, "\(path)")
        }
    }

    @Test func extraTagsNumbersAndMetaHeader() throws {
        let file = try DicomFile(path: TestImages.url("bachmai/ct-head-1.dcm").path)
        let m = try file.metadata(extraTags: [DicomTag(0x0028, 0x1050), DicomTag(0x0028, 0x0100), DicomTag(0x0009, 0x0010)])
        #expect(m.extra["00281050"] == "40")    // WindowCenter (DS)
        #expect(m.extra["00280100"] == "16")    // BitsAllocated (US, binary)
        #expect(m.extra["00090010"] == nil)     // absent
        #expect(file.string(.transferSyntaxUID) == "1.2.840.10008.1.2.1")
        #expect(file.string(.pixelData) == nil) // binary: no text form
        #expect(file.sequenceCount(.otherPatientIDsSequence) == 0)
    }

    @Test func retiredOtherPatientIDsAndSequenceItems() throws {
        let m = try DicomFile(path: TestImages.url("choray/cr-chest.dcm").path).metadata()
        #expect(m.patient.otherPatientIDs.first?.issuer == "VN-CCCD")
        #expect(!m.patient.retiredOtherPatientIDs.isEmpty)
    }

    @Test(arguments: TestImages.manifest.bad.map { ($0.path, $0.category) })
    func badFilesFailWithAReason(path: String, category: String) throws {
        do {
            let file = try DicomFile(path: TestImages.url(path).path)
            _ = try file.metadata()
            Issue.record("\(path) was accepted")
        } catch {
            #expect(!error.message.isEmpty)
            if category == "corrupt" && path.contains("missing-sop") {
                #expect(error.code == .missingAttribute)
            } else {
                #expect(error.code == .parse, "\(path): \(error.code) \(error.message)")
            }
        }
    }

    @Test func missingFileIsAnIOError() {
        do {
            _ = try DicomFile(path: "/nonexistent/file.dcm")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.code == .io)
        }
    }

    /// A bare dataset (no preamble, no meta header) is read and rewritten as a Part 10 file.
    @Test func bareDatasetBecomesAPart10File() throws {
        let original = try Data(contentsOf: TestImages.url("bachmai/mr-lspine-1.dcm"))
        // Skip preamble + "DICM" + the meta group (its length is the UL value of (0002,0000)).
        let groupLength = original[140..<144].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        let bare = original.subdata(in: (144 + Int(UInt32(littleEndian: groupLength)))..<original.count)
        let file = try DicomFile(data: bare, options: [.keepOriginalCharacterSet])
        #expect(!file.hasPart10Header)
        let part10 = try file.part10Data()
        #expect(part10[128..<132] == Data("DICM".utf8))
        let reread = try DicomFile(data: part10)
        #expect(reread.hasPart10Header)
        #expect(try reread.metadata() == (try DicomFile(data: original).metadata()))
    }

    @Test func manyThreadsParseAtOnce() async throws {
        let paths = Self.goodFiles.map { TestImages.url($0).path }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 {
                let path = paths[i % paths.count]
                group.addTask { try DicomFile(path: path).metadata().instance.sopInstanceUID.count }
            }
            var n = 0
            for try await count in group where count > 0 { n += 1 }
            #expect(n == 64)
        }
    }
}

/// DICOM JSON (WADO-RS metadata) is UTF-8 whatever the data set's character set says.
@Suite struct DicomJSONTests {
    /// An Implicit VR Little Endian element (tag ascending order is the caller's).
    static func element(_ group: UInt16, _ element: UInt16, _ value: [UInt8], pad: UInt8 = 0x20) -> [UInt8] {
        let padded = value.count % 2 == 0 ? value : value + [pad]
        let length = UInt32(padded.count)
        return [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8),
                UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)] + padded
    }

    /// A Latin-1 data set (`Müller^J`) under the given SpecificCharacterSet.
    static func latin1Dataset(charset: String) throws -> DicomFile {
        func uid(_ group: UInt16, _ element: UInt16, _ value: String) -> [UInt8] {
            Self.element(group, element, Array(value.utf8), pad: 0)
        }
        var bytes: [UInt8] = []
        bytes += Self.element(0x0008, 0x0005, Array(charset.utf8))
        bytes += uid(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.7")
        bytes += uid(0x0008, 0x0018, "1.2.826.0.1.3680043.10.1337.99.9")
        bytes += Self.element(0x0010, 0x0010, [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x5E, 0x4A])
        bytes += uid(0x0020, 0x000D, "1.2.826.0.1.3680043.10.1337.99")
        bytes += uid(0x0020, 0x000E, "1.2.826.0.1.3680043.10.1337.99.1")
        return try DicomFile(data: Data(bytes))
    }

    static func jsonName(_ file: DicomFile) throws -> String? {
        let json = try file.dicomJSON(bulkDataBase: "http://127.0.0.1/x")
        #expect(String(validating: json, as: UTF8.self) != nil)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        return ((object["00100010"] as? [String: Any])?["Value"] as? [[String: Any]])?.first?["Alphabetic"] as? String
    }

    /// A sequence item that declares a character set of its own (PS3.5 6.1.2.5.2) is read with
    /// it, the rest of the data set with the data set's: a Latin-1 `Müller^J` beside a UTF-8
    /// `Nguyễn^Văn` in a Referenced Study Sequence item.
    @Test func anItemIsReadInItsOwnCharacterSet() throws {
        func uid(_ group: UInt16, _ element: UInt16, _ value: String) -> [UInt8] {
            Self.element(group, element, Array(value.utf8), pad: 0)
        }
        let undefined: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        var item = Self.element(0x0008, 0x0005, Array("ISO_IR 192".utf8))
        item += Self.element(0x0010, 0x0010, Array("Nguyễn^Văn".utf8))
        var bytes: [UInt8] = []
        bytes += Self.element(0x0008, 0x0005, Array("ISO_IR 100".utf8))
        bytes += uid(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.7")
        bytes += uid(0x0008, 0x0018, "1.2.826.0.1.3680043.10.1337.99.8")
        bytes += [0x08, 0x00, 0x11, 0x11] + undefined                      // (0008,1111) SQ
        bytes += [0xFE, 0xFF, 0x00, 0xE0] + undefined + item               // item
        bytes += [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]                      // item end
        bytes += [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]                      // sequence end
        bytes += Self.element(0x0010, 0x0010, [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x5E, 0x4A])
        bytes += uid(0x0020, 0x000D, "1.2.826.0.1.3680043.10.1337.98")
        bytes += uid(0x0020, 0x000E, "1.2.826.0.1.3680043.10.1337.98.1")
        let file = try DicomFile(data: Data(bytes))
        #expect(try Self.jsonName(file) == "Müller^J")
        let json = try file.dicomJSON(bulkDataBase: "http://127.0.0.1/x")
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let items = (object["00081111"] as? [String: Any])?["Value"] as? [[String: Any]]
        let name = ((items?.first?["00100010"] as? [String: Any])?["Value"] as? [[String: Any]])?.first?["Alphabetic"] as? String
        #expect(name == "Nguyễn^Văn")
        #expect(try file.metadata().patient.patientName == "Müller^J")
    }

    /// An unknown character set: DCMTK cannot convert the name, the Latin-1 byte of `Müller`
    /// becomes U+FFFD, and the JSON stays valid.
    @Test func textInAnUnknownCharacterSetGivesValidJSON() throws {
        #expect(try Self.jsonName(try Self.latin1Dataset(charset: "ISO_IR 999")) == "M\u{FFFD}ller^J")
    }

    /// Common misspellings of a defined term (`ISO-8859-1`, `latin1`, `ISO_IR100`) are read as
    /// that term: the name is decoded, in DICOM JSON and in the index.
    @Test(arguments: ["ISO-8859-1", "latin1", "ISO_IR100", "ISO_IR 100"])
    func aMisspeltCharacterSetIsReadAsTheTermItNames(charset: String) throws {
        let file = try Self.latin1Dataset(charset: charset)
        #expect(try Self.jsonName(file) == "Müller^J")
        #expect(try file.metadata().patient.patientName == "Müller^J")
    }
}

/// WADO-RS frames of native pixel data DCMTK does not cut itself, and of Float and Double Float
/// Pixel Data (files made by pydicom).
@Suite struct NativeFrameTests {
    @Test func oneBitSubsampledAndFloatFramesAreCutWhereTheyLie() throws {
        let dir = TemporaryDirectory("native-frames")
        let made = try PythonPeer.run("native_frames.py", [dir.url.path])
        try #require(made.status == 0, "\(made.stderr)")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: [String]])
        for (name, frames) in expected.sorted(by: { $0.key < $1.key }) {
            let file = try DicomFile(path: dir.url.appendingPathComponent(name).path)
            for (i, hex) in frames.enumerated() {
                let frame = try #require(try file.frame(i), "\(name) frame \(i + 1)")
                #expect(frame.map { String(format: "%02x", $0) }.joined() == hex, "\(name) frame \(i + 1)")
            }
            #expect(try file.frame(frames.count) == nil, "\(name): one frame too many")
        }
    }
}
