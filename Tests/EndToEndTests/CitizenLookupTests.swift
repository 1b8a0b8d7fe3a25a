import Foundation
import Testing
import DicomTestSupport

/// Look-ups by citizen ID over DIMSE and the CLI, on gen_dataset.py data (its manifest says who
/// is who): hospitals put the citizen ID in PatientID, in OtherPatientIDsSequence, or also in
/// the retired OtherPatientIDs, each with its own local numbers.
@Suite(.serialized) struct CitizenLookupTests {
    static let config = """
        { "access": { "developmentMode": true },
          "identity": { "nationalIssuer": "VN-CCCD",
            "hospitals": [
              { "name": "Chợ Rẫy", "institutionNames": ["Bệnh viện Chợ Rẫy"],
                "citizenIDIn": ["retiredOtherPatientIDs"] } ] } }
        """

    struct Person { let cccd: String; let studies: Set<String>; let localIDs: Set<String>; let hospitals: Set<String> }

    let dir = TemporaryDirectory("citizen")
    let server: ServerProcess
    let persons: [Person]
    let localID: (id: String, issuer: String, studies: Set<String>)

    init() throws {
        let corpus = dir.appending("corpus")
        let gen = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", TestImages.datasetGenerator.path,
            "--out", corpus.path, "--instances", "90", "--studies", "40", "--patients", "8", "--size", "8", "--jobs", "1"])
        try #require(gen.status == 0, "gen_dataset failed: \(gen.stderr)")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("manifest.json")))
            as! [String: Any]
        let patients = manifest["patients"] as! [[String: Any]]
        let hospitals = Dictionary(uniqueKeysWithValues: (manifest["hospitals"] as! [[String: Any]]).map {
            ($0["code"] as! String, $0["id_mode"] as! String) })
        var byPerson: [Int: (Set<String>, Set<String>, Set<String>)] = [:]
        var local: [String: Set<String>] = [:]
        for study in manifest["studies"] as! [[String: Any]] {
            let p = study["patient"] as! Int
            let hospital = study["hospital"] as! String
            let mrn = (patients[p]["mrn"] as! [String: String])[hospital]!
            let id = hospitals[hospital] == "cccd" ? patients[p]["cccd"] as! String : mrn
            var entry = byPerson[p] ?? ([], [], [])
            entry.0.insert(study["uid"] as! String)
            entry.1.insert(id)
            entry.2.insert(hospital)
            byPerson[p] = entry
            if hospitals[hospital] != "cccd" { local[mrn + "|" + hospital, default: []].insert(study["uid"] as! String) }
        }
        persons = byPerson.keys.sorted().map { p in
            Person(cccd: patients[p]["cccd"] as! String, studies: byPerson[p]!.0, localIDs: byPerson[p]!.1,
                   hospitals: byPerson[p]!.2)
        }
        let someLocal = local.keys.sorted().first!.split(separator: "|").map(String.init)
        localID = (someLocal[0], someLocal[1], local[someLocal.joined(separator: "|")]!)

        server = try ServerProcess(dataDirectory: dir.appending("data"), config: Self.config)
        let stored = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "+sd", "+r", "+sp", "*.dcm",
                                                    "127.0.0.1", String(server.port), corpus.path])
        try #require(stored.status == 0, "storescu failed: \(stored.stderr)")
    }

    func find(model: String, level: String, _ keys: [String: Any]) throws -> (final: Int?, answers: [[String: Any]]) {
        let keysJSON = String(decoding: try JSONSerialization.data(withJSONObject: keys), as: UTF8.self)
        let result = try PythonPeer.run("find_json.py", ["127.0.0.1", String(server.port), "VIEWER", "IMAGINGINDEX",
                                                         model, level, keysJSON])
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        try #require(object["established"] as? Bool == true, "\(result.stderr)")
        return (object["final"] as? Int, object["answers"] as? [[String: Any]] ?? [])
    }

    static func value(_ answer: [String: Any], _ tag: String) -> String? {
        ((answer[tag] as? [String: Any])?["Value"] as? [Any])?.first as? String
    }

    static func items(_ answer: [String: Any], _ tag: String) -> [[String: Any]] {
        (answer[tag] as? [String: Any])?["Value"] as? [[String: Any]] ?? []
    }

    @Test func cFindByCitizenIDFindsThePersonAtEveryHospitalAndNobodyElse() throws {
        let multi = persons.filter { $0.hospitals.count > 1 }
        try #require(!multi.isEmpty, "the generated data has nobody seen at two hospitals")
        for person in persons {
            for model in ["P", "S"] {
                let (final, answers) = try find(model: model, level: "STUDY", [
                    "PatientID": person.cccd, "IssuerOfPatientID": "VN-CCCD", "StudyInstanceUID": "",
                    "InstitutionName": "", "OtherPatientIDsSequence": [] as [Any]])
                #expect(final == 0)
                #expect(Set(answers.compactMap { Self.value($0, "0020000D") }) == person.studies, "model \(model)")
                for answer in answers {
                    #expect(Self.value(answer, "00100020") == person.cccd)
                    #expect(Self.value(answer, "00100021") == "VN-CCCD")
                    let local = Self.items(answer, "00101002").compactMap { Self.value($0, "00100020") }
                    #expect(local.count == 1 && person.localIDs.contains(local[0]), "\(local)")
                }
            }
            let (final, answers) = try find(model: "P", level: "PATIENT", [
                "PatientID": person.cccd, "IssuerOfPatientID": "VN-CCCD", "PatientName": "",
                "NumberOfPatientRelatedStudies": "", "OtherPatientIDsSequence": [] as [Any]])
            #expect(final == 0)
            #expect(answers.count == 1)
            if let answer = answers.first {
                #expect(Self.value(answer, "00100020") == person.cccd)
                #expect(Set(Self.items(answer, "00101002").compactMap { Self.value($0, "00100020") }) == person.localIDs)
                let studies = (answer["00201200"] as? [String: Any])?["Value"] as? [Any]
                #expect((studies?.first as? Int) == person.studies.count || (studies?.first as? String) == String(person.studies.count))
            }
        }
    }

    @Test func everyAccessIsInTheAuditTrailAndTamperingShows() throws {
        let person = persons[0]
        let data = server.dataDirectory.path
        _ = try find(model: "S", level: "STUDY", ["PatientID": person.cccd, "IssuerOfPatientID": "VN-CCCD", "StudyInstanceUID": ""])
        let qido = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
            import requests, sys
            print(requests.get("http://127.0.0.1:%s/dicom-web/studies" % sys.argv[1], params={"PatientID": sys.argv[2]}).status_code)
            """, String(server.httpPort), person.cccd])
        #expect(qido.stdout.contains("200"), "\(qido.stderr)")
        let link = try ProcessRunner.imagingIndex(["patients", "link", "--patient-id", "NOBODY-1", "--issuer", "X",
                                                   "--citizen-id", person.cccd, "--reason", "test link", "--by", "admin:test",
                                                   "--data-dir", data])
        #expect(link.status == 0, "\(link.stderr)")

        // The server writes its records in the background, within milliseconds.
        var records: [[String: Any]] = []
        for _ in 0..<50 {
            let listed = try ProcessRunner.imagingIndex(["audit", "--json", "--data-dir", data])
            records = listed.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            if records.contains(where: { $0["via"] as? String == "http" }) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        // The stores of the set-up, the C-FIND, the QIDO search and the link, each with who and what.
        #expect(records.filter { $0["action"] as? String == "store" && $0["actor"] as? String == "ae:PACS" }.count > 0)
        let cfind = records.first { $0["action"] as? String == "query" && $0["via"] as? String == "dimse" }
        #expect(cfind?["actor"] as? String == "ae:VIEWER")
        #expect((cfind?["patients"] as? [String])?.contains(person.cccd) == true)
        #expect(Set(cfind?["studies"] as? [String] ?? []) == person.studies)
        #expect(cfind?["results"] as? Int == person.studies.count)
        let web = records.first { $0["via"] as? String == "http" }
        #expect(web?["action"] as? String == "query" && (web?["detail"] as? String ?? "").contains(person.cccd))
        #expect(web?["address"] as? String == "127.0.0.1")
        let linked = records.first { $0["action"] as? String == "link" }
        #expect(linked?["actor"] as? String == "admin:test" && linked?["via"] as? String == "cli")
        let admin = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
            import requests, sys
            r = requests.get("http://127.0.0.1:%s/admin/audit" % sys.argv[1], params={"patient": sys.argv[2], "who": "ae:VIEWER"})
            print(r.status_code, len(r.json()), r.json()[0]["action"])
            print(requests.get("http://127.0.0.1:%s/admin/audit" % sys.argv[1], params={"since": "yesterday"}).status_code)
            """, String(server.httpPort), person.cccd])
        #expect(admin.stdout.hasPrefix("200 1 query") && admin.stdout.contains("\n400"), "\(admin.stdout) \(admin.stderr)")
        let byPatient = try ProcessRunner.imagingIndex(["audit", "--patient", person.cccd, "--data-dir", data])
        #expect(byPatient.stdout.split(separator: "\n").count >= 2)
        let atna = try ProcessRunner.imagingIndex(["audit", "--atna", "--who", "ae:VIEWER", "--data-dir", data])
        #expect(atna.stdout.hasPrefix("<AuditMessage>") && atna.stdout.contains("110112"))

        #expect(try ProcessRunner.imagingIndex(["audit", "--verify", "--data-dir", data]).stdout.contains("intact"))
        let tamper = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/sqlite3"), [data + "/audit.sqlite",
            "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'ae:SOMEONE' WHERE id = 2;"])
        #expect(tamper.status == 0, "\(tamper.stderr)")
        let verify = try ProcessRunner.imagingIndex(["audit", "--verify", "--data-dir", data])
        #expect(verify.status == 2 && verify.stdout.contains("BROKEN at record 2"), "\(verify.stdout)")
        // No patient identifier reaches the log at info level.
        #expect(!server.log.contains(person.cccd))
    }

    @Test func qidoByCitizenIDFindsThePersonAtEveryHospital() throws {
        for person in persons {
            let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
                import json, requests, sys
                r = requests.get("http://127.0.0.1:%s/dicom-web/studies" % sys.argv[1],
                                 params={"PatientID": sys.argv[2], "IssuerOfPatientID": "VN-CCCD", "includefield": "OtherPatientIDsSequence"})
                answers = r.json()
                print(json.dumps({"studies": sorted(a["0020000D"]["Value"][0] for a in answers),
                                  "ids": sorted({a["00100020"]["Value"][0] for a in answers}),
                                  "local": sorted({i["00100020"]["Value"][0] for a in answers for i in a["00101002"]["Value"]})}))
                """, String(server.httpPort), person.cccd])
            let out = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [String]] ?? [:]
            #expect(Set(out["studies"] ?? []) == person.studies, "\(result.stderr)")
            #expect(out["ids"] == [person.cccd])
            #expect(Set(out["local"] ?? []) == person.localIDs)
        }
    }

    @Test func aLocalIDWithItsIssuerStillFindsOnlyThatHospitalsPatient() throws {
        let (final, answers) = try find(model: "S", level: "STUDY", [
            "PatientID": localID.id, "IssuerOfPatientID": localID.issuer, "StudyInstanceUID": ""])
        #expect(final == 0)
        #expect(Set(answers.compactMap { Self.value($0, "0020000D") }) == localID.studies)
        #expect(answers.allSatisfy { Self.value($0, "00100020") == localID.id })
    }

    @Test func theCommandLineFindsTheSameAndShowsTheLinks() throws {
        let person = persons.max { $0.hospitals.count < $1.hospitals.count }!
        let found = try ProcessRunner.imagingIndex(["find", "--citizen-id", person.cccd, "--json",
                                                    "--data-dir", server.dataDirectory.path])
        #expect(found.status == 0, "\(found.stderr)")
        let matches = try JSONSerialization.jsonObject(with: Data(found.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(Set(matches.compactMap { ($0["study"] as? [String: Any])?["studyInstanceUID"] as? String }) == person.studies)

        let shown = try ProcessRunner.imagingIndex(["patients", "show", person.cccd, "--json",
                                                    "--data-dir", server.dataDirectory.path])
        #expect(shown.status == 0, "\(shown.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any] ?? [:]
        let links = object["links"] as? [[String: Any]] ?? []
        #expect(Set(links.compactMap { $0["patientID"] as? String }) == person.localIDs)
        #expect((object["history"] as? [Any])?.count == links.count)

        let conflicts = try ProcessRunner.imagingIndex(["patients", "conflicts", "--json", "--data-dir", server.dataDirectory.path])
        #expect(conflicts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]"
                || conflicts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(conflicts.stdout)")

        let bad = try ProcessRunner.imagingIndex(["find", "--citizen-id", "00108501234", "--data-dir", server.dataDirectory.path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("12 digits"))
    }
}
