import Foundation
import Testing
import DicomCore
import DcmtkBridge
import DicomIndex
import DicomStorage
import DicomTestSupport
@testable import ImagingIndexApp

/// A node on a fresh data directory.
struct TestNode {
    let dir = TemporaryDirectory("node")
    let node: ImagingIndexNode

    init(_ configure: (inout Configuration) -> Void = { _ in }) throws {
        var configuration = Configuration(dataDirectory: dir.url)
        configure(&configuration)
        node = try ImagingIndexNode(configuration: configuration)
    }

    func reopen(_ configure: (inout Configuration) -> Void = { _ in }) throws -> ImagingIndexNode {
        node.shutdown()
        var configuration = Configuration(dataDirectory: dir.url)
        configure(&configuration)
        return try ImagingIndexNode(configuration: configuration)
    }

    func storedFiles() -> [String] {
        node.store.leafFolders().flatMap { node.store.files(inLeaf: $0) }.sorted()
    }

    func instanceCount() throws -> Int { try node.index.count(IndexQuery(level: .instance)) }
}

func corpusData(_ path: String) throws -> Data { try Data(contentsOf: TestImages.url(path)) }

@Suite struct IngestTests {
    @Test func storedInstanceIsDurableIndexedAndReadable() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        let data = try corpusData("bachmai/ct-head-1.dcm")
        let outcome = try t.node.pipeline.ingest(data, origin: .dimse, sourceAETitle: "BACHMAI", source: "test")
        #expect(outcome == .stored(sopInstanceUID: "1.2.826.0.1.3680043.10.1337.3.1", bytes: Int64(data.count)))
        let record = try #require(try t.node.index.instance(sopInstanceUID: "1.2.826.0.1.3680043.10.1337.3.1"))
        #expect(record.origin == "dimse")
        #expect(record.sourceAETitle == "BACHMAI")
        #expect(record.checksum == FileStore.sha256Hex(data))
        #expect(record.fileSize == Int64(data.count))
        // The stored file is byte for byte what was received.
        #expect(try t.node.store.read(relativePath: record.path) == data)
        #expect(try t.node.store.checksum(relativePath: record.path) == record.checksum)
    }

    /// Power lost after an index commit but before the renames of its batch reached the disk: the
    /// staged file (complete: its data was synced before the commit) is put in place at start;
    /// anything else left in tmp/ — never acknowledged — is removed.
    @Test func aStagedFileWhoseRowWasCommittedIsPutInPlaceAtStart() throws {
        let t = try TestNode()
        let data = try corpusData("bachmai/ct-head-1.dcm")
        _ = try t.node.pipeline.ingest(data, origin: .dimse, sourceAETitle: "BACHMAI", source: "test")
        let record = try #require(try t.node.index.instance(sopInstanceUID: "1.2.826.0.1.3680043.10.1337.3.1"))
        // What a killed server leaves: its own folder in tmp/, no longer locked.
        let tmp = t.node.store.sharedTemporaryRoot.appendingPathComponent("12345-crashed")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        // The rename is lost: the file is back in tmp/ under a staging name.
        try FileManager.default.moveItem(at: t.node.store.url(forRelativePath: record.path),
                                         to: tmp.appendingPathComponent("staged-1.partial"))
        // Never acknowledged: a torn write, an instance without a row, a copy unlike its row.
        try Data("half a data set".utf8).write(to: tmp.appendingPathComponent("torn.partial"))
        try corpusData("bachmai/ct-head-2.dcm").write(to: tmp.appendingPathComponent("unindexed.partial"))
        var altered = data
        altered[altered.count - 1] ^= 0xFF
        try altered.write(to: tmp.appendingPathComponent("other-copy.partial"))

        let node = try t.reopen()
        defer { node.shutdown() }
        #expect(try node.store.read(relativePath: record.path) == data)
        #expect(leftoverTemporaryFiles(node.store.sharedTemporaryRoot).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: tmp.path))
        #expect(try node.index.count(IndexQuery(level: .instance)) == 1)
    }

    @Test func importOfTheCorpusWithJunkMixedIn() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        let summary = ImportJob(node: t.node, paths: [TestImages.root.path], progress: .silent).run()
        let manifest = TestImages.manifest
        #expect(summary.imported == manifest.files.count)
        #expect(summary.duplicates == manifest.duplicates.count)
        // bad/ plus the two text files of the corpus (README.md, expected.json).
        #expect(summary.notDicom == manifest.bad.filter { $0.category == "notDicom" }.count + 2)
        #expect(summary.corrupt == manifest.bad.filter { $0.category == "corrupt" }.count)
        #expect(summary.failed == 0)
        for bad in manifest.bad {
            let problem = summary.problems.first { $0.file.hasSuffix(bad.path) }
            #expect(problem?.category == bad.category, "\(bad.path)")
            #expect(problem?.reason.isEmpty == false)
        }
        #expect(try t.instanceCount() == manifest.files.count)
        #expect(t.storedFiles().count == manifest.files.count)
        #expect(leftoverTemporaryFiles(t.node.store.sharedTemporaryRoot).isEmpty)

        // Importing again stores nothing new.
        let again = ImportJob(node: t.node, paths: [TestImages.root.path], progress: .silent).run()
        #expect(again.imported == 0)
        #expect(again.duplicates == manifest.files.count + manifest.duplicates.count)
    }

    @Test func missingPathIsARealFailure() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        let summary = ImportJob(node: t.node, paths: ["/nonexistent/folder"], progress: .silent).run()
        #expect(summary.failed == 1)
        #expect(summary.problems.first?.reason.contains("no such file") == true)
    }

    @Test func bareDatasetIsStoredAsPart10() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        let original = try corpusData("vietduc/dx-knee.dcm")
        let groupLength = original[140..<144].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        let bare = original.subdata(in: (144 + Int(UInt32(littleEndian: groupLength)))..<original.count)
        guard case .stored(let sop, _) = try t.node.pipeline.ingest(bare, origin: .importFile, source: "bare") else {
            Issue.record("not stored")
            return
        }
        let record = try #require(try t.node.index.instance(sopInstanceUID: sop))
        let stored = try t.node.store.read(relativePath: record.path)
        #expect(stored[128..<132] == Data("DICM".utf8))
    }
}

@Suite struct DuplicatePolicyTests {
    let original = "bachmai/ct-head-1.dcm"
    let changed = "dup/ct-head-1-same-uid-changed.dcm"
    let sop = "1.2.826.0.1.3680043.10.1337.3.1"

    func studyDescription(_ t: TestNode) throws -> String? {
        try t.node.index.query(IndexQuery(level: .study, filters: [.studyInstanceUID: "1.2.826.0.1.3680043.10.1337.1.1"]))
            .first?.study?.studyDescription
    }

    @Test func keepFirstIsTheDefault() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        #expect(t.node.configuration.duplicatePolicy == .keepFirst)
        _ = try t.node.pipeline.ingest(try corpusData(original), origin: .importFile, source: "a")
        let outcome = try t.node.pipeline.ingest(try corpusData(changed), origin: .importFile, source: "b")
        #expect(outcome == .duplicate(sopInstanceUID: sop))
        #expect(t.node.pipeline.statistics.duplicates == 1)
        let record = try #require(try t.node.index.instance(sopInstanceUID: sop))
        #expect(try t.node.store.read(relativePath: record.path) == (try corpusData(original)))
        #expect(try studyDescription(t) == "CT sọ não không tiêm thuốc cản quang")
        #expect(t.storedFiles().count == 1)
        #expect(try t.instanceCount() == 1)
    }

    /// Ingests `original` with the given attributes changed: the error it is refused with, or nil
    /// when it is taken.
    func refusal(_ t: TestNode, changing changes: [DicomTag: String]) throws -> ImagingIndexError? {
        let file = try DicomFile(data: try corpusData(original), options: [.keepOriginalCharacterSet])
        for (tag, value) in changes { try file.put(value, for: tag) }
        let data = try file.part10Data()
        do throws(ImagingIndexError) {
            _ = try t.node.pipeline.ingest(data, origin: .importFile, source: "changed")
            return nil
        } catch {
            return error
        }
    }

    /// The same SOP Instance UID in another study is a clash, not a copy: refused under keepFirst.
    @Test func aSOPInstanceUIDReusedInAnotherStudyIsRefused() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        _ = try t.node.pipeline.ingest(try corpusData(original), origin: .importFile, source: "a")
        let error = try #require(try refusal(t, changing: [.studyInstanceUID: "1.2.826.0.1.3680043.10.1337.66",
                                                            .seriesInstanceUID: "1.2.826.0.1.3680043.10.1337.66.1"]),
                                 "a SOP Instance UID of another study was taken as a duplicate")
        #expect(error.code == .conflict && error.conflict == .instanceElsewhere, "\(error)")
        #expect(DicomNodeHandlers.status(for: error) == .cannotUnderstand)
        #expect(DicomNodeHandlers.comment(for: error) == "SOP Instance UID used in another study or series")
        #expect(t.node.pipeline.statistics.duplicates == 0)
        let record = try #require(try t.node.index.instance(sopInstanceUID: sop))
        #expect(try t.node.store.read(relativePath: record.path) == (try corpusData(original)))
        #expect(try t.node.index.count(IndexQuery(level: .study)) == 1)
        // An identical copy is still an ordinary duplicate.
        #expect(try t.node.pipeline.ingest(try corpusData(original), origin: .importFile, source: "c") == .duplicate(sopInstanceUID: sop))
    }

    /// A new instance naming a stored series under another study is refused with that reason (the
    /// C-STORE comment says which conflict it is), and the series stays where it is.
    @Test func aSeriesNamedUnderAnotherStudyIsRefusedWithItsReason() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        _ = try t.node.pipeline.ingest(try corpusData(original), origin: .importFile, source: "a")
        let error = try #require(try refusal(t, changing: [.studyInstanceUID: "1.2.826.0.1.3680043.10.1337.67",
                                                            .sopInstanceUID: "1.2.826.0.1.3680043.10.1337.67.1.1"]),
                                 "a series was taken into another study")
        #expect(error.code == .conflict && error.conflict == .seriesInAnotherStudy, "\(error)")
        #expect(DicomNodeHandlers.comment(for: error) == "series belongs to another study")
        #expect(try t.node.index.count(IndexQuery(level: .study)) == 1)
        #expect(try t.instanceCount() == 1)
        #expect(t.storedFiles().count == 1)
    }

    @Test func replaceStoresTheNewCopyInPlace() throws {
        let t = try TestNode { $0.duplicatePolicy = .replace }
        defer { t.node.shutdown() }
        _ = try t.node.pipeline.ingest(try corpusData(original), origin: .importFile, source: "a")
        let outcome = try t.node.pipeline.ingest(try corpusData(changed), origin: .importFile, source: "b")
        guard case .replaced = outcome else { Issue.record("\(outcome)"); return }
        let record = try #require(try t.node.index.instance(sopInstanceUID: sop))
        #expect(try t.node.store.read(relativePath: record.path) == (try corpusData(changed)))
        #expect(record.checksum == FileStore.sha256Hex(try corpusData(changed)))
        #expect(try studyDescription(t)?.hasSuffix("(bản sửa đổi)") == true)
        #expect(t.storedFiles().count == 1)
        #expect(try t.instanceCount() == 1)
    }

    @Test func rejectRefusesTheSecondCopy() throws {
        let t = try TestNode { $0.duplicatePolicy = .reject }
        defer { t.node.shutdown() }
        _ = try t.node.pipeline.ingest(try corpusData(original), origin: .importFile, source: "a")
        let second = try corpusData(changed)
        do {
            _ = try t.node.pipeline.ingest(second, origin: .importFile, source: "b")
            Issue.record("second copy accepted")
        } catch {
            #expect(error.code == .duplicateRejected)
        }
        #expect(t.storedFiles().count == 1)
    }

    @Test func copiesArrivingAtOnceLeaveOneRowAndOneFile() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        let a = try corpusData(original), b = try corpusData(changed)
        let pipeline = t.node.pipeline
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            _ = try? pipeline.ingest(i % 2 == 0 ? a : b, origin: .importFile, source: "copy \(i)")
        }
        #expect(try t.instanceCount() == 1)
        #expect(t.storedFiles().count == 1)
        #expect(pipeline.statistics.stored == 1)
        #expect(pipeline.statistics.duplicates == 15)
        // Row and file agree.
        let record = try #require(try t.node.index.instance(sopInstanceUID: sop))
        #expect(try t.node.store.checksum(relativePath: record.path) == record.checksum)
    }
}

/// Instances without a PatientID: each study is a patient of its own, never one shared patient.
@Suite struct UnidentifiedPatientTests {
    /// A copy of a corpus file as another study's instance, with PatientID and PatientName set.
    func instance(_ n: Int, patientID: String?, name: String) throws -> Data {
        let file = try DicomFile(data: try corpusData("bachmai/ct-head-1.dcm"), options: [.keepOriginalCharacterSet])
        try file.put(patientID ?? "", for: .patientID)
        try file.put(name, for: .patientName)
        try file.put("19700101", for: .patientBirthDate)
        try file.put("1.2.826.0.1.3680043.10.1337.77.\(n)", for: .studyInstanceUID)
        try file.put("1.2.826.0.1.3680043.10.1337.77.\(n).1", for: .seriesInstanceUID)
        try file.put("1.2.826.0.1.3680043.10.1337.77.\(n).1.1", for: .sopInstanceUID)
        return try file.part10Data()
    }

    @Test func patientsWithoutPatientIDAreNeverMerged() throws {
        let t = try TestNode()
        defer { t.node.shutdown() }
        for (n, name) in [(1, "Anon^One"), (2, "Anon^Two"), (3, "Vô^Danh")] {
            _ = try t.node.pipeline.ingest(try instance(n, patientID: "", name: name), origin: .importFile, source: "\(n)")
        }
        // Two instances of one unidentified study stay one patient.
        let sibling = try DicomFile(data: try instance(1, patientID: "", name: "Anon^One"), options: [.keepOriginalCharacterSet])
        try sibling.put("1.2.826.0.1.3680043.10.1337.77.1.1.2", for: .sopInstanceUID)
        _ = try t.node.pipeline.ingest(try sibling.part10Data(), origin: .importFile, source: "1b")

        let patients = try t.node.index.query(IndexQuery(level: .patient))
        #expect(patients.count == 3)
        #expect(patients.allSatisfy { $0.patient.patientID.isEmpty && $0.patient.issuerOfPatientID.isEmpty })
        #expect(Set(patients.map(\.patient.numberOfStudies)) == [1])
        #expect(patients.map(\.patient.numberOfInstances).sorted() == [1, 1, 2])
        // A name finds its own study only, at every level.
        let one = try t.node.index.query(IndexQuery(level: .study, filters: [.patientName: "Anon^One"]))
        #expect(one.compactMap { $0.study?.studyInstanceUID } == ["1.2.826.0.1.3680043.10.1337.77.1"])
        #expect(try t.node.index.query(IndexQuery(level: .patient, filters: [.patientName: "Anon^Two"])).count == 1)
        // Reindex gives the same patients.
        let summary = try ReindexJob(node: t.node, mode: .all, progress: .silent).run()
        #expect(summary.failed == 0)
        #expect(try t.node.index.query(IndexQuery(level: .patient)).count == 3)
    }
}
