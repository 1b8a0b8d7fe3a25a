import Foundation
import Testing
import DicomCore
import DcmtkBridge
import DicomTestSupport

/// `imaging-index serve` against DCMTK's tools and pynetdicom, on 127.0.0.1.
@Suite(.serialized) struct DimseTests {
    static let config = """
        { "dicom": { "aeTitle": "IMAGINGINDEX", "maxAssociations": 4, "dimseTimeout": 10,
            "peers": [
              { "aeTitle": "BACHMAI", "host": "127.0.0.1", "hospital": "Bệnh viện Bạch Mai", "permissions": ["store"] },
              { "aeTitle": "VIEWER", "host": "127.0.0.1", "hospital": "Bệnh viện Chợ Rẫy", "permissions": ["query", "retrieve"] },
              { "aeTitle": "ELSEWHERE", "host": "10.1.2.3", "hospital": "Far away" },
              { "aeTitle": "DEST", "host": "127.0.0.1", "port": PORT, "hospital": "Viewer workstation", "permissions": [] },
              { "aeTitle": "DOWN", "host": "127.0.0.1", "port": 9, "hospital": "Switched off", "permissions": [] }
            ] } }
        """

    let dir = TemporaryDirectory("dimse")
    let server: ServerProcess
    let destinationPort: UInt16

    init() throws {
        destinationPort = try freePort()
        server = try ServerProcess(dataDirectory: dir.appending("data"),
                                   config: Self.config.replacingOccurrences(of: "PORT", with: "\(destinationPort)"))
    }

    var port: String { String(server.port) }

    func scu(_ tool: String, calling: String, called: String = "IMAGINGINDEX", _ args: [String],
             files: [String] = []) throws -> ProcessResult {
        try DcmtkTool.run(tool, ["-aet", calling, "-aec", called] + args + ["127.0.0.1", port] + files)
    }

    func store(_ files: [String], calling: String = "BACHMAI", syntax: String? = nil) throws -> ProcessResult {
        try scu("storescu", calling: calling, syntax.map { [$0] } ?? [], files: files.map { TestImages.url($0).path })
    }

    func cli(_ args: [String]) throws -> ProcessResult {
        try ProcessRunner.imagingIndex(args + ["--data-dir", server.dataDirectory.path])
    }

    /// Runs findscu with -X and reads back every response it extracted.
    func find(_ keys: [String], model: String = "-S", calling: String = "VIEWER") throws -> (ProcessResult, [DicomFile]) {
        let out = dir.appending("find-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let result = try scu("findscu", calling: calling, [model, "-X", "-od", out.path] + keys.flatMap { ["-k", $0] })
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted().map {
            try DicomFile(path: out.appendingPathComponent($0).path)
        }
        return (result, files)
    }

    @Test func echoAndAssociationPolicy() throws {
        let ok = try scu("echoscu", calling: "VIEWER", [])
        #expect(ok.status == 0, "\(ok.stderr)")

        let unknown = try scu("echoscu", calling: "STRANGER", [])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("Calling AE Title Not Recognized"), "\(unknown.stderr)")

        let wrongCalled = try scu("echoscu", calling: "VIEWER", called: "OTHERNODE", [])
        #expect(wrongCalled.status != 0)
        #expect(wrongCalled.stderr.contains("Called AE Title Not Recognized"), "\(wrongCalled.stderr)")

        // A known AE title calling from an address it is not configured for.
        let wrongHost = try scu("echoscu", calling: "ELSEWHERE", [])
        #expect(wrongHost.status != 0)
        #expect(wrongHost.stderr.contains("Calling AE Title Not Recognized"))

        #expect(server.log.contains("association rejected"))
        #expect(server.stop() == 0)
        #expect(server.log.contains("DICOM listener stopped"))
    }

    @Test func storeEverySyntaxInParallelThenQueryFromTheCLI() throws {
        let manifest = TestImages.manifest
        let uncompressed = manifest.files.filter { f in
            ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"].contains(f["TransferSyntaxUID"] ?? "")
        }.map(\.path)
        // Four storescu processes at once.
        let groups = stride(from: 0, to: uncompressed.count, by: 4).map { Array(uncompressed[$0..<min($0 + 4, uncompressed.count)]) }
        let results = Mutex<[ProcessResult]>([])
        DispatchQueue.concurrentPerform(iterations: groups.count) { i in
            if let r = try? store(groups[i]) { results.withLock { $0.append(r) } }
        }
        #expect(results.withLock { $0.count } == groups.count)
        for r in results.withLock({ $0 }) { #expect(r.status == 0, "\(r.stderr)") }

        // Each compressed syntax with storescu's option for it.
        let syntaxOption: [String: String] = [
            "1.2.840.10008.1.2.4.70": "-xs", "1.2.840.10008.1.2.4.80": "-xt", "1.2.840.10008.1.2.5": "-xr",
            "1.2.840.10008.1.2.4.50": "-xy", "1.2.840.10008.1.2.1.99": "-xd",
        ]
        var compressed = 0
        for f in manifest.files {
            guard let ts = f["TransferSyntaxUID"], let option = syntaxOption[ts] else { continue }
            let r = try store([f.path], syntax: option)
            #expect(r.status == 0, "\(f.path): \(r.stderr)")
            compressed += 1
        }
        #expect(compressed >= 6)

        let stats = try cli(["stats", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        let index = report?["index"] as? [String: Any]
        #expect(index?["instances"] as? Int == uncompressed.count + compressed)

        // Stored bit for bit, with the calling AE recorded.
        let record = try cli(["find", "--level", "image", "--sop-uid", "1.2.826.0.1.3680043.10.1337.3.1", "--json"])
        let match = (try JSONSerialization.jsonObject(with: Data(record.stdout.utf8)) as? [[String: Any]])?.first
        let instance = match?["instance"] as? [String: Any]
        #expect(instance?["sourceAETitle"] as? String == "BACHMAI")
        #expect(instance?["origin"] as? String == "dimse")
        // The data set is kept bit for bit (the meta header is the receiver's, with the calling AE).
        let original = try Data(contentsOf: TestImages.url("bachmai/ct-head-1.dcm"))
        let stored = try Data(contentsOf: server.dataDirectory.appendingPathComponent(instance?["path"] as? String ?? "x"))
        #expect(datasetPart(stored) == datasetPart(original))
        #expect(try DicomFile(data: stored).string(.sourceApplicationEntityTitle) == "BACHMAI")
        #expect(leftoverTemporaryFiles(server.dataDirectory.appendingPathComponent("tmp")).isEmpty)

        // Peers store or query only as allowed.
        let viewerStore = try store(["bachmai/mr-lspine-1.dcm"], calling: "VIEWER")
        #expect(viewerStore.stderr.contains("0124") || viewerStore.stderr.lowercased().contains("refused") || viewerStore.status != 0,
                "\(viewerStore.stderr)")
        let (pacsFind, pacsMatches) = try find(["QueryRetrieveLevel=STUDY", "StudyInstanceUID"], calling: "BACHMAI")
        #expect(pacsMatches.isEmpty)
        _ = pacsFind
    }

    /// Storage SOP classes newer than DCMTK 3.6.7's table are accepted and stored like the others.
    @Test func storageClassesNewerThanDCMTKsTableAreStored() throws {
        let classes = ["1.2.840.10008.5.1.4.1.1.6.3",      // Photoacoustic Image
                       "1.2.840.10008.5.1.4.1.1.66.7",     // Label Map Segmentation
                       "1.2.840.10008.5.1.4.1.1.481.23"]   // Enhanced RT Image
        var files: [String] = []
        for (n, uid) in classes.enumerated() {
            let file = dir.appending("new-class-\(n).dcm")
            try FileManager.default.copyItem(at: TestImages.url("bachmai/ct-head-1.dcm"), to: file)
            let modified = try DcmtkTool.run("dcmodify", ["-nb", "-m", "(0008,0016)=\(uid)",
                                                          "-m", "(0008,0018)=1.2.826.0.1.3680043.10.1337.78.\(n)", file.path])
            try #require(modified.status == 0, "\(modified.stderr)")
            files.append(file.path)
        }
        let result = try PythonPeer.run("store_own_classes.py", ["127.0.0.1", port, "BACHMAI", "IMAGINGINDEX"] + files)
        let said = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let statuses = said?["statuses"] as? [String: Any] ?? [:]
        for uid in classes { #expect(statuses[uid] as? Int == 0, "\(uid): \(result.stdout) \(result.stderr)") }
        let (_, found) = try find(["QueryRetrieveLevel=IMAGE", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1",
                                   "SeriesInstanceUID=\(try DicomFile(path: files[0]).metadata().series.seriesInstanceUID)",
                                   "SOPInstanceUID", "SOPClassUID"])
        #expect(Set(found.compactMap { $0.string(.sopClassUID) }).isSuperset(of: classes))
    }

    /// Return keys some SCUs send that have no value to give: a group length (0008,0000) and a
    /// binary (OW) element. The query is answered as if they were not there.
    @Test func aGroupLengthOrBinaryReturnKeyDoesNotFailTheQuery() throws {
        #expect(try store(["bachmai/ct-head-1.dcm"]).status == 0)
        let keys = #"{"PatientID": "001085012345", "StudyInstanceUID": "", "0x00080000/UL": 0, "0x00281201/OW": ""}"#
        let result = try PythonPeer.run("find_json.py", ["127.0.0.1", port, "VIEWER", "IMAGINGINDEX", "S", "STUDY", keys])
        let said = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(said?["final"] as? Int == 0, "\(result.stdout) \(result.stderr)")
        let answers = said?["answers"] as? [[String: Any]] ?? []
        #expect(answers.count == 1, "\(result.stdout)")
        #expect((answers.first?["0020000D"] as? [String: Any])?["Value"] as? [String] == ["1.2.826.0.1.3680043.10.1337.1.1"])
        #expect(answers.first?["00080000"] == nil)
    }

    @Test func findAtEveryLevelInBothModels() throws {
        let all = TestImages.manifest.files.filter { ($0["TransferSyntaxUID"] ?? "") == "1.2.840.10008.1.2.1" }.map(\.path)
        #expect(try store(all).status == 0)
        let bachmai = "001085012345"

        // Study Root, STUDY level, by PatientID: only the keys asked for, plus the unique key.
        var (r, m) = try find(["QueryRetrieveLevel=STUDY", "PatientID=\(bachmai)", "PatientName", "ModalitiesInStudy",
                               "NumberOfStudyRelatedInstances", "StudyDate", "RetrieveAETitle"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(m.count == 1)
        #expect(m.first?.string(.patientName) == "Nguyễn^Văn Hùng")
        #expect(m.first?.string(.studyInstanceUID) == "1.2.826.0.1.3680043.10.1337.1.1")
        #expect(m.first?.string(.accessionNumber) == nil)  // not asked for: not returned
        #expect(m.first?.string(.specificCharacterSet) == "ISO_IR 192")
        #expect(Int(m.first?.string(DicomTag(0x0020, 0x1208)) ?? "") ?? 0 >= 3)
        #expect(m.first?.string(DicomTag(0x0008, 0x0054)) == "IMAGINGINDEX")  // where to retrieve it from

        // Wildcards (case-insensitive names), date ranges, UID lists.
        (r, m) = try find(["QueryRetrieveLevel=STUDY", "PatientName=NGUY*", "StudyInstanceUID"])
        #expect(m.count == 2)
        (r, m) = try find(["QueryRetrieveLevel=STUDY", "StudyDate=20240401-20241231", "StudyInstanceUID"])
        #expect(!m.isEmpty)
        #expect(m.allSatisfy { ($0.string(.studyDate) ?? "") >= "20240401" })
        (r, m) = try find(["QueryRetrieveLevel=STUDY",
                           "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1\\1.2.826.0.1.3680043.10.1337.1.3"])
        #expect(m.count == 2)

        // Patient Root: PATIENT level with computed counts, then STUDY, SERIES, IMAGE.
        (r, m) = try find(["QueryRetrieveLevel=PATIENT", "PatientID=CR0012345", "IssuerOfPatientID=CHORAY",
                           "NumberOfPatientRelatedStudies"], model: "-P")
        #expect(m.count == 1)
        #expect(m.first?.string(DicomTag(0x0020, 0x1200)) == "1")
        (r, m) = try find(["QueryRetrieveLevel=STUDY", "PatientID=CR0012345", "IssuerOfPatientID=CHORAY", "StudyInstanceUID",
                           "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedInstances"])
        #expect(m.count == 1)
        #expect(m.first?.string(DicomTag(0x0020, 0x1200)) == "1")  // counted when asked for, at any level
        #expect(Int(m.first?.string(DicomTag(0x0020, 0x1204)) ?? "") ?? 0 >= 1)
        (r, m) = try find(["QueryRetrieveLevel=STUDY", "PatientID=\(bachmai)", "StudyInstanceUID"], model: "-P")
        #expect(m.count == 1)
        (r, m) = try find(["QueryRetrieveLevel=SERIES", "PatientID=\(bachmai)",
                           "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1", "SeriesInstanceUID", "Modality",
                           "NumberOfSeriesRelatedInstances"], model: "-P")
        let storedSeries = Set(TestImages.manifest.files.filter {
            all.contains($0.path) && $0["StudyInstanceUID"] == "1.2.826.0.1.3680043.10.1337.1.1"
        }.compactMap { $0["SeriesInstanceUID"] })
        #expect(m.count == storedSeries.count)
        #expect(m.allSatisfy { $0.string(.modality) != nil && $0.string(DicomTag(0x0020, 0x1209)) != nil })
        (r, m) = try find(["QueryRetrieveLevel=IMAGE", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1",
                           "SeriesInstanceUID=1.2.826.0.1.3680043.10.1337.2.1", "SOPInstanceUID", "InstanceNumber"])
        #expect(m.count == 3)

        // Hierarchy broken (IMAGE level without the series): refused, no matches.
        (r, m) = try find(["QueryRetrieveLevel=IMAGE", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1", "SOPInstanceUID"])
        #expect(m.isEmpty)
        #expect(server.log.contains("C-FIND refused"))
        // A malformed date, refused by the index (0xA900): said in the log too, with the reason.
        (r, m) = try find(["QueryRetrieveLevel=STUDY", "StudyDate=20241301"])
        #expect(m.isEmpty)
        #expect(server.log.contains("is not a date") && server.log.contains("dicom.status=0xA900"), "\(server.log)")
    }

    @Test func moveAndGet() throws {
        #expect(try store(["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm", "bachmai/ct-head-3.dcm"]).status == 0)
        #expect(try store(["compressed/ct-head-1-jpeg-lossless-sv1.dcm"], syntax: "-xs").status == 0)
        let destination = try StoreSCP(aeTitle: "DEST", port: destinationPort, folder: dir.appending("received"))
        let move = try scu("movescu", calling: "VIEWER", ["-S", "-aem", "DEST", "-k", "QueryRetrieveLevel=STUDY",
                                                          "-k", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1"])
        #expect(move.status == 0, "\(move.stderr)")
        #expect(destination.received == 4)

        // A known destination that does not answer: every sub-operation fails, and the final status says so.
        let down = try scu("movescu", calling: "VIEWER", ["-v", "-S", "-aem", "DOWN", "-k", "QueryRetrieveLevel=STUDY",
                                                          "-k", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1"])
        #expect(down.stderr.contains("Received Final Move Response (Refused: OutOfResourcesSubOperations)"), "\(down.stderr)")

        let unknown = try scu("movescu", calling: "VIEWER", ["-S", "-aem", "NOWHERE", "-k", "QueryRetrieveLevel=STUDY",
                                                             "-k", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1"])
        #expect(unknown.stderr.contains("MoveDestinationUnknown") || unknown.stderr.contains("a801") || unknown.stderr.contains("A801"),
                "\(unknown.stderr)")

        let got = dir.appending("got")
        try FileManager.default.createDirectory(at: got, withIntermediateDirectories: true)
        let get = try scu("getscu", calling: "VIEWER", ["-v", "-S", "-od", got.path, "-k", "QueryRetrieveLevel=SERIES",
                                                        "-k", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1",
                                                        "-k", "SeriesInstanceUID=1.2.826.0.1.3680043.10.1337.2.1"])
        #expect(get.status == 0, "\(get.stderr)")
        // The final response's sub-operation counts (getscu -v prints them).
        #expect(get.stderr.contains("Number of Completed Suboperations : 3"), "\(get.stderr)")
        #expect(get.stderr.contains("Number of Failed Suboperations    : 0"), "\(get.stderr)")
        let gotFiles = try FileManager.default.contentsOfDirectory(atPath: got.path)
        #expect(gotFiles.count == 3)
        // A retrieve names entities: PatientID=* would move every patient, and is refused.
        let everything = dir.appending("everything")
        try FileManager.default.createDirectory(at: everything, withIntermediateDirectories: true)
        let wildcard = try scu("getscu", calling: "VIEWER", ["-P", "-od", everything.path, "-k", "QueryRetrieveLevel=PATIENT",
                                                             "-k", "PatientID=*"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: everything.path).isEmpty, "\(wildcard.stderr)")
        // Retrieval needs the retrieve permission.
        let refused = try scu("movescu", calling: "BACHMAI", ["-S", "-aem", "DEST", "-k", "QueryRetrieveLevel=STUDY",
                                                              "-k", "StudyInstanceUID=1.2.826.0.1.3680043.10.1337.1.1"])
        #expect(refused.status != 0 || refused.stderr.contains("0124") || refused.stderr.contains("Refused"), "\(refused.stderr)")
    }

    /// Fuzzy semantic matching of person names, when the requestor asks for it in the C-FIND
    /// extended negotiation: `nguyen^van hung` then also finds Bạch Mai's `Nguyễn^Văn Hùng` (the
    /// same person, written with diacritics), and the A-ASSOCIATE-AC says it was agreed.
    @Test func fuzzyNameMatchingWhenNegotiated() throws {
        #expect(try store(["bachmai/ct-head-1.dcm", "choray/cr-chest.dcm"]).status == 0)
        let keys = #"{"PatientName": "nguyen^van hung", "PatientID": "", "StudyInstanceUID": ""}"#
        func ask(_ extra: [String]) throws -> (final: Int?, ids: Set<String>, extended: String?) {
            let result = try PythonPeer.run("find_json.py", ["127.0.0.1", port, "VIEWER", "IMAGINGINDEX", "S", "STUDY", keys] + extra)
            let said = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let ids = (said?["answers"] as? [[String: Any]] ?? []).compactMap {
                (($0["00100020"] as? [String: Any])?["Value"] as? [String])?.first
            }
            return (said?["final"] as? Int, Set(ids), said?["extended"] as? String)
        }
        let plain = try ask([])
        #expect(plain.final == 0 && plain.ids == ["CR0012345"], "\(plain)")
        let fuzzy = try ask(["fuzzy"])
        #expect(fuzzy.final == 0 && fuzzy.ids == ["CR0012345", "001085012345"], "\(fuzzy)")
        #expect(fuzzy.extended == "000001", "relational and date-time matching refused, fuzzy names agreed: \(fuzzy)")
    }

    /// PatientAge, PatientSize and PatientWeight (asked for with a study by many viewers) are
    /// answered from the index; absent ones zero-length.
    @Test func patientAgeAndWeightAreAnsweredWithTheStudy() throws {
        let copy = dir.appending("with-age.dcm")
        try FileManager.default.copyItem(at: TestImages.url("bachmai/ct-head-1.dcm"), to: copy)
        let edited = try DcmtkTool.run("dcmodify", ["-nb", "-i", "(0010,1010)=039Y", "-i", "(0010,1030)=68.5", copy.path])
        try #require(edited.status == 0, "\(edited.stderr)")
        #expect(try scu("storescu", calling: "BACHMAI", [], files: [copy.path]).status == 0)
        let (r, m) = try find(["QueryRetrieveLevel=STUDY", "PatientID=001085012345", "PatientAge", "PatientWeight", "PatientSize"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(m.count == 1)
        #expect(m.first?.string(.patientAge) == "039Y")
        #expect(m.first?.string(.patientWeight) == "68.5")
        #expect((m.first?.string(.patientSize) ?? "") == "")  // zero-length: not known
    }

    /// Known attributes that arrive with the VR UN (forwarded by a system that did not know them,
    /// PS3.5 6.2.2), identifying ones among them, are read with their real VR: the instance is
    /// stored and indexed under them, and answered in C-FIND.
    @Test func knownAttributesSentAsUNAreReadWithTheirRealVR() throws {
        let copy = dir.appending("un-elements.dcm")
        let made = try PythonPeer.run("with_un_elements.py", [TestImages.url("bachmai/ct-head-1.dcm").path, copy.path])
        try #require(made.status == 0, "\(made.stderr)")
        let sent = try scu("storescu", calling: "BACHMAI", [], files: [copy.path])
        #expect(sent.status == 0 && !sent.stderr.contains("0xc000"), "\(sent.stderr)")
        let (r, m) = try find(["QueryRetrieveLevel=STUDY", "PatientID=001085012345", "StudyInstanceUID",
                               "PatientName", "StudyDescription"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(m.count == 1)
        #expect(m.first?.string(.studyInstanceUID) == "1.2.826.0.1.3680043.10.1337.1.1")
        #expect(m.first?.string(.patientName) == "Nguyễn^Văn Hùng")
        #expect(m.first?.string(DicomTag(0x0008, 0x1030)) == "CT sọ não không tiêm thuốc cản quang")
    }

    /// A data set without an identifying attribute: 0xC000, and the Error Comment names it, so the
    /// sending PACS's admin knows what to fix.
    @Test func aMissingIdentifyingAttributeIsNamedInTheErrorComment() throws {
        let copy = dir.appending("no-study-uid.dcm")
        try FileManager.default.copyItem(at: TestImages.url("bachmai/ct-head-1.dcm"), to: copy)
        let removed = try DcmtkTool.run("dcmodify", ["-nb", "-ea", "(0020,000d)", copy.path])
        try #require(removed.status == 0, "\(removed.stderr)")
        let result = try PythonPeer.run("store_own_classes.py", ["127.0.0.1", port, "BACHMAI", "IMAGINGINDEX", copy.path])
        let said = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let ct = "1.2.840.10008.5.1.4.1.1.2"
        #expect((said?["statuses"] as? [String: Any])?[ct] as? Int == 0xC000, "\(result.stdout) \(result.stderr)")
        #expect((said?["comments"] as? [String: Any])?[ct] as? String == "StudyInstanceUID (0020,000D) is missing or empty",
                "\(result.stdout)")
    }

    /// A JPEG 2000 instance for peers that take only uncompressed syntaxes (getscu's and storescp's
    /// defaults): decoded with OpenJPEG (DCMTK has no JPEG 2000 codec) and sent uncompressed, pixel
    /// for pixel the native image the lossless copy was made from.
    @Test func jpeg2000IsDecodedForPeersThatTakeOnlyUncompressed() throws {
        let copy = try RenderFixtures.url("ct512-j2k-lossless.dcm")
        let sent = try scu("storescu", calling: "BACHMAI", ["-xv"], files: [copy.path])
        try #require(sent.status == 0, "\(sent.stderr)")
        let study = try DicomFile(path: copy.path).metadata().study.studyInstanceUID
        let source = try #require(try DicomFile(path: try RenderFixtures.url("ct512.dcm").path).elementBytes(.pixelData))
        func receivedPixels(_ folder: URL) throws -> [Data?] {
            try FileManager.default.contentsOfDirectory(atPath: folder.path).map { name in
                let file = try DicomFile(path: folder.appendingPathComponent(name).path)
                #expect(["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"].contains(file.transferSyntaxUID), "\(name)")
                return try file.elementBytes(.pixelData)
            }
        }

        let got = dir.appending("got-j2k")
        try FileManager.default.createDirectory(at: got, withIntermediateDirectories: true)
        let get = try scu("getscu", calling: "VIEWER", ["-v", "-S", "-od", got.path, "-k", "QueryRetrieveLevel=STUDY",
                                                        "-k", "StudyInstanceUID=\(study)"])
        #expect(get.stderr.contains("Number of Completed Suboperations : 1"), "\(get.stderr)")
        #expect(try receivedPixels(got) == [source])

        let moved = dir.appending("moved-j2k")
        let destination = try StoreSCP(aeTitle: "DEST", port: destinationPort, folder: moved)
        let move = try scu("movescu", calling: "VIEWER", ["-S", "-aem", "DEST", "-k", "QueryRetrieveLevel=STUDY",
                                                          "-k", "StudyInstanceUID=\(study)"])
        #expect(move.status == 0, "\(move.stderr)")
        #expect(destination.received == 1)
        #expect(try receivedPixels(moved) == [source])
    }

    @Test func cancelAbortLimitAndMismatch() throws {
        #expect(try store(["bachmai/ct-head-1.dcm", "bachmai/mr-lspine-1.dcm", "choray/cr-chest.dcm"]).status == 0)

        // An association aborted in the middle of a C-STORE leaves nothing behind.
        let abort = try PythonPeer.run("abort_store.py", ["127.0.0.1", port, "BACHMAI", "IMAGINGINDEX", "1.2.826.0.1.3680043.10.1337.99.1"])
        #expect(abort.stdout.contains("\"aborted\": true"), "\(abort.stdout) \(abort.stderr)")
        Thread.sleep(forTimeInterval: 1)
        let found = try cli(["find", "--level", "image", "--sop-uid", "1.2.826.0.1.3680043.10.1337.99.1", "--json"])
        let foundRows = try JSONSerialization.jsonObject(with: Data(found.stdout.utf8)) as? [Any]
        #expect(foundRows?.isEmpty == true, "\(found.stdout)")
        #expect(leftoverTemporaryFiles(server.dataDirectory.appendingPathComponent("tmp")).isEmpty)
        #expect(server.log.contains("association aborted"))

        // Beyond maxAssociations (4): rejected as local limit exceeded.
        let holder = try HeldAssociations(port: server.port, calling: "VIEWER", count: 4, seconds: 8)
        #expect(holder.opened == 4, "\(holder.said)")
        let over = try scu("echoscu", calling: "VIEWER", [])
        #expect(over.status != 0)
        #expect(over.stderr.contains("Local Limit Exceeded"), "\(over.stderr)")
        holder.waitUntilReleased()
        #expect(try scu("echoscu", calling: "VIEWER", []).status == 0)

        // A data set that is not the instance the request names: 0xA900.
        let mismatch = try PythonPeer.run("store_mismatch.py", ["127.0.0.1", port, "BACHMAI", "IMAGINGINDEX",
                                                               TestImages.url("vietduc/dx-chest.dcm").path])
        let s = try JSONSerialization.jsonObject(with: Data(mismatch.stdout.utf8)) as? [String: Any]
        #expect(s?["status"] as? Int == 0xA900, "\(mismatch.stdout) \(mismatch.stderr)")

        // A new instance of a stored study under another PatientID: 0xC000 with the reason, and
        // the study stays with its patient.
        let intruder = dir.appending("intruder.dcm")
        try FileManager.default.copyItem(at: TestImages.url("bachmai/ct-head-2.dcm"), to: intruder)
        let modified = try DcmtkTool.run("dcmodify", ["-nb", "-m", "(0010,0020)=OTHER-PATIENT",
                                                      "-m", "(0008,0018)=1.2.826.0.1.3680043.10.1337.99.7", intruder.path])
        try #require(modified.status == 0, "\(modified.stderr)")
        let refused = try scu("storescu", calling: "BACHMAI", ["-d"], files: [intruder.path])
        #expect(refused.stderr.contains("0xc000") && refused.stderr.contains("study belongs to another patient"),
                "\(refused.stderr)")
        #expect(server.log.contains("instance refused: it would move a study or series to another patient or study"))
        let (_, studies) = try find(["QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(try DicomFile(path: intruder.path).metadata().study.studyInstanceUID)",
                                     "PatientID"])
        #expect(studies.map { $0.string(.patientID) } == [try DicomFile(path: TestImages.url("bachmai/ct-head-1.dcm").path).metadata().patient.patientID])
    }

    /// C-CANCEL in the middle of a long C-FIND: the final status is 0xFE00 and fewer matches came.
    @Test func cancelALongFind() throws {
        let corpus = dir.appending("many-studies")
        let gen = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", TestImages.datasetGenerator.path,
            "--out", corpus.path, "--instances", "4000", "--studies", "1200", "--patients", "400", "--size", "8", "--jobs", "1"])
        try #require(gen.status == 0, "\(gen.stderr)")
        #expect(try cli(["import", "--quiet", corpus.path]).status == 0)
        let cancel = try PythonPeer.run("cancel_find.py", ["127.0.0.1", port, "VIEWER", "IMAGINGINDEX"])
        let c = try JSONSerialization.jsonObject(with: Data(cancel.stdout.utf8)) as? [String: Any]
        #expect(c?["final"] as? Int == 0xFE00, "\(cancel.stdout) \(cancel.stderr)")
        #expect((c?["pending"] as? Int ?? 0) < 1200)
        // The association and the node go on working.
        #expect(try scu("echoscu", calling: "VIEWER", []).status == 0)
    }

    /// The server killed with SIGKILL while peers send: after a restart every instance that got a
    /// success status is there, readable and indexed, and no temporary file is left.
    @Test func crashWhileStoring() throws {
        let corpus = dir.appending("corpus")
        let gen = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", TestImages.datasetGenerator.path,
            "--out", corpus.path, "--instances", "800", "--studies", "20", "--patients", "10", "--size", "32", "--jobs", "1"])
        try #require(gen.status == 0, "\(gen.stderr)")
        let records = (0..<4).map { dir.appending("acked-\($0).txt").path }
        let senders = (0..<4).map { i -> Process in
            let p = ProcessRunner.process(URL(fileURLWithPath: "/usr/bin/env"), ["python3",
                TestImages.packageRoot.appendingPathComponent("Tests/peers/store_and_record.py").path,
                "127.0.0.1", port, "BACHMAI", "IMAGINGINDEX", corpus.appendingPathComponent("shard\(i)").path, records[i]])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            return p
        }
        for p in senders { try p.run() }
        Thread.sleep(forTimeInterval: 2.5)
        server.killHard()
        // Each sender has fsync'ed the UID of every success it got; nothing more is needed of them.
        for p in senders { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }

        let acked = Set(records.flatMap { ((try? String(contentsOfFile: $0, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) })
        #expect(!acked.isEmpty)
        // Restart on the same data directory; every acknowledged instance is indexed and readable.
        let restarted = try ServerProcess(dataDirectory: server.dataDirectory, config: nil, extraArguments: ["--accept-any-peer"])
        defer { restarted.stop() }
        let listed = try cli(["find", "--level", "image", "--json"])
        let rows = (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
        var byUID: [String: String] = [:]
        for row in rows {
            if let i = row["instance"] as? [String: Any], let uid = i["sopInstanceUID"] as? String { byUID[uid] = i["path"] as? String }
        }
        for uid in acked {
            let path = try #require(byUID[uid], "acknowledged \(uid) is not indexed")
            let file = try DicomFile(path: server.dataDirectory.appendingPathComponent(path).path)
            #expect(try file.metadata().instance.sopInstanceUID == uid)
        }
        // Every indexed instance's file is whole, and every file stored is indexed: a batch cut
        // between its renames and its commit leaves nothing in objects/.
        for (_, path) in byUID {
            #expect(throws: Never.self) { _ = try DicomFile(path: server.dataDirectory.appendingPathComponent(path).path).metadata() }
        }
        let objects = server.dataDirectory.appendingPathComponent("objects")
        let files = Set((FileManager.default.enumerator(atPath: objects.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".dcm") }.map { "objects/" + $0 })
        #expect(files == Set(byUID.values), "\(files.subtracting(byUID.values).count) files not indexed")
        #expect(leftoverTemporaryFiles(server.dataDirectory.appendingPathComponent("tmp")).isEmpty)
    }
}

import Synchronization

/// A Part 10 file without its preamble and meta header: the data set as encoded.
func datasetPart(_ file: Data) -> Data {
    guard file.count > 144 else { return file }
    let length = file[140..<144].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    return file.subdata(in: (144 + Int(UInt32(littleEndian: length)))..<file.count)
}

/// A TCP port nobody listens on now (for the C-MOVE destination the test starts).
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: addr.sin_port)
}
