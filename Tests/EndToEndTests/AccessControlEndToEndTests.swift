import Foundation
import Testing
import DicomTestSupport

/// Issue 7's scripted session: two hospitals' PACS (one over DICOM TLS with a pinned client
/// certificate), radiologists of two hospitals and an emergency department over DIMSE and HTTP
/// (API tokens and JWTs), and an admin. The allow/deny table, a patient's opt-out hiding the
/// other hospital's studies on every path and the audited emergency override, then the audit
/// trail compared line by line with what the session did.
@Suite(.serialized) struct AccessControlEndToEndTests {
    static let hung = "001085012345"          // Bạch Mai study 1.1 (PatientID), Chợ Rẫy study 1.3 (CR0012345)
    static let bachmaiStudy = "1.2.826.0.1.3680043.10.1337.1.1"
    static let chorayStudy = "1.2.826.0.1.3680043.10.1337.1.3"
    static let jwtSecret = "the-identity-provider-shared-secret-0123456789"
    static let tokens = ["bachmai-pacs": "tok-bachmai-pacs-7f3a", "choray-radiologist": "tok-choray-rad-91c2",
                         "admin": "tok-admin-55d0"]

    let dir = TemporaryDirectory("access")
    let server: ServerProcess
    let certs: URL
    let clientFingerprint: String
    let destinationPort: UInt16

    init() throws {
        certs = dir.appending("certs")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        clientFingerprint = try Self.makeCertificates(in: certs)
        destinationPort = try freePort()
        func hash(_ token: String) -> String {
            let result = try? ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
                "python3", "-c", "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())", token])
            return result?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        let c = certs.path
        let config = """
            { "dicom": {
                "peers": [
                  { "aeTitle": "BACHMAI_PACS", "host": "127.0.0.1", "hospital": "Bạch Mai", "role": "pacs" },
                  { "aeTitle": "CHORAY_PACS", "host": "127.0.0.1", "hospital": "Chợ Rẫy", "role": "pacs",
                    "certificateSHA256": "\(clientFingerprint)" },
                  { "aeTitle": "CHORAY_VIEW", "host": "127.0.0.1", "port": \(destinationPort), "hospital": "Chợ Rẫy",
                    "role": "radiologist" },
                  { "aeTitle": "BACHMAI_VIEW", "host": "127.0.0.1", "hospital": "Bạch Mai", "role": "radiologist" },
                  { "aeTitle": "ER_VIEW", "host": "127.0.0.1", "hospital": "Huế", "role": "radiologist",
                    "emergencyOverride": true } ],
                "tls": { "certificate": "\(c)/server.pem", "key": "\(c)/server.key",
                         "trustedCertificates": "\(c)/ca.pem", "port": 0 } },
              "access": {
                "tokens": [
                  { "id": "bachmai-pacs", "sha256": "\(hash(Self.tokens["bachmai-pacs"]!))", "role": "pacs", "hospital": "Bạch Mai" },
                  { "id": "choray-radiologist", "sha256": "\(hash(Self.tokens["choray-radiologist"]!))", "role": "radiologist",
                    "hospital": "Chợ Rẫy" },
                  { "id": "admin", "sha256": "\(hash(Self.tokens["admin"]!))", "role": "admin", "hospital": "Sở Y tế" } ],
                "jwt": { "issuer": "https://sso.health.test", "audience": "imaging-index",
                         "keys": [ { "hs256Secret": "\(Self.jwtSecret)" } ] } },
              "thumbnails": { "enabled": false } }
            """
        server = try ServerProcess(dataDirectory: dir.appending("data"), config: config, dicomTLS: true)
    }

    /// A CA, the server's certificate, Chợ Rẫy PACS's client certificate and a self-signed rogue
    /// one. Returns the client certificate's SHA-256 fingerprint (lowercase hex).
    static func makeCertificates(in folder: URL) throws -> String {
        let script = """
            set -e
            cd "$1"
            openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -keyout ca.key -out ca.pem -subj "/CN=Test CA" 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
            printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\nsubjectAltName=IP:127.0.0.1\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile server.ext -out server.pem 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/O=Cho Ray/CN=CHORAY_PACS" 2>/dev/null
            printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n' > client.ext
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile client.ext -out client.pem 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -keyout rogue.key -out rogue.pem -subj "/CN=CHORAY_PACS" 2>/dev/null
            openssl x509 -noout -fingerprint -sha256 -in client.pem | sed 's/.*=//; s/://g' | tr A-F a-f
            """
        let made = try ProcessRunner.run(URL(fileURLWithPath: "/bin/bash"), ["-c", script, "certs", folder.path])
        try #require(made.status == 0, "openssl failed: \(made.stderr)")
        return made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Peers

    func dimse(_ tool: String, _ calling: String, _ args: [String], tls: (key: String, cert: String)? = nil,
               files: [String] = []) throws -> ProcessResult {
        var options = ["-aet", calling, "-aec", "IMAGINGINDEX"] + args
        var port = server.port
        if let tls {
            options = ["+tls", certs.appendingPathComponent(tls.key).path, certs.appendingPathComponent(tls.cert).path,
                       "+cf", certs.appendingPathComponent("ca.pem").path] + options
            port = server.tlsPort
        }
        return try DcmtkTool.run(tool, options + ["127.0.0.1", String(port)] + files.map { TestImages.url($0).path })
    }

    /// A C-FIND at STUDY level by citizen ID (pynetdicom): the final status and the studies answered.
    func findStudies(_ calling: String, level: String = "STUDY") throws -> (final: Int?, studies: Set<String>, answers: [[String: Any]]) {
        let keys: [String: Any] = level == "STUDY"
            ? ["PatientID": Self.hung, "IssuerOfPatientID": "VN-CCCD", "StudyInstanceUID": ""]
            : ["PatientID": Self.hung, "IssuerOfPatientID": "VN-CCCD", "NumberOfPatientRelatedStudies": "",
               "OtherPatientIDsSequence": [] as [Any]]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: keys), as: UTF8.self)
        let result = try PythonPeer.run("find_json.py", ["127.0.0.1", String(server.port), calling, "IMAGINGINDEX",
                                                         level == "STUDY" ? "S" : "P", level, json])
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        try #require(object["established"] as? Bool == true, "\(result.stdout) \(result.stderr)")
        let answers = object["answers"] as? [[String: Any]] ?? []
        return (object["final"] as? Int, Set(answers.compactMap { CitizenLookupTests.value($0, "0020000D") }), answers)
    }

    /// Requests in order over one HTTP session; each answer's status and JSON body.
    func http(_ requests: [[String: Any]]) throws -> [[String: Any]] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: requests), as: UTF8.self)
        let result = try PythonPeer.run("http_requests.py", ["http://127.0.0.1:\(server.httpPort)", json])
        let lines = result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        try #require(lines.count == requests.count, "\(result.stdout) \(result.stderr)")
        return lines
    }

    /// An HS256 JWT made with Python's hmac (independent of the server's JWT library).
    func jwt(subject: String, hospital: String, roles: [String], expiresIn: Int = 600) throws -> String {
        let script = """
            import base64, hashlib, hmac, json, sys, time
            b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
            head = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            body = b(json.dumps({"iss": "https://sso.health.test", "aud": "imaging-index", "sub": sys.argv[2],
                                 "hospital": sys.argv[3], "roles": sys.argv[4].split(","),
                                 "exp": int(time.time()) + int(sys.argv[5])}).encode())
            sig = b(hmac.new(sys.argv[1].encode(), (head + "." + body).encode(), hashlib.sha256).digest())
            print(head + "." + body + "." + sig)
            """
        let made = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", "-c", script, Self.jwtSecret, subject, hospital, roles.joined(separator: ","), String(expiresIn)])
        return made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func studies(_ body: Any?) -> Set<String> {
        Set((body as? [[String: Any]] ?? []).compactMap { CitizenLookupTests.value($0, "0020000D") })
    }

    func cli(_ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.imagingIndex(arguments + ["--data-dir", server.dataDirectory.path])
    }

    func files(in folder: URL) -> Int { (try? FileManager.default.contentsOfDirectory(atPath: folder.path).count) ?? 0 }

    // MARK: The session

    @Test func aScriptedSessionOfSeveralHospitals() throws {
        // What the server's audit trail must hold, in order ("via actor action outcome", "+override").
        var expected: [String] = []

        // 1. The PACS store: Bạch Mai over plain TCP; Chợ Rẫy only over TLS with its pinned certificate.
        let bachmai = try dimse("storescu", "BACHMAI_PACS", [], files: ["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm",
                                                                         "bachmai/ct-head-3.dcm"])
        #expect(bachmai.status == 0, "\(bachmai.stderr)")
        expected += Array(repeating: "dimse ae:BACHMAI_PACS store ok", count: 3)
        let choray = try dimse("storescu", "CHORAY_PACS", [], tls: ("client.key", "client.pem"), files: ["choray/cr-chest.dcm"])
        #expect(choray.status == 0, "\(choray.stderr)")
        expected.append("dimse ae:CHORAY_PACS store ok")
        let plain = try dimse("storescu", "CHORAY_PACS", [], files: ["choray/us-abdomen-rgb.dcm"])
        #expect(plain.status != 0 && plain.stderr.contains("Association Rejected"), "\(plain.stderr)")
        expected.append("dimse ae:CHORAY_PACS associate refused (calling AE title not recognized)")
        let rogue = try dimse("storescu", "CHORAY_PACS", [], tls: ("rogue.key", "rogue.pem"), files: ["choray/us-abdomen-rgb.dcm"])
        #expect(rogue.status != 0, "an untrusted client certificate must fail the TLS handshake")
        let unknown = try dimse("echoscu", "NOBODY", [])
        #expect(unknown.status != 0 && unknown.stderr.contains("Association Rejected"), "\(unknown.stderr)")
        expected.append("dimse ae:NOBODY associate refused (calling AE title not recognized)")
        // A radiologist's viewer may not store: 0x0124 Refused: Not Authorized, nothing kept.
        let viewerStore = try dimse("storescu", "CHORAY_VIEW", ["-v"], files: ["choray/us-abdomen-rgb.dcm"])
        let said = viewerStore.stdout + viewerStore.stderr
        #expect(said.contains("Status: 0x124"), "\(said)")
        expected.append("dimse ae:CHORAY_VIEW store refused (0x0124)")
        let notStored = try cli(["find", "--level", "image", "--patient-id", "CR0023456", "--json"])
        #expect(notStored.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]"
                || notStored.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(notStored.stdout)")

        // 2. Before any opt-out, a Chợ Rẫy radiologist finds the person at both hospitals.
        var found = try findStudies("CHORAY_VIEW")
        #expect(found.final == 0 && found.studies == [Self.bachmaiStudy, Self.chorayStudy])
        expected.append("dimse ae:CHORAY_VIEW query ok")
        let pacsFind = try findStudies("BACHMAI_PACS")
        #expect(pacsFind.final == 0x0124 && pacsFind.studies.isEmpty)
        expected.append("dimse ae:BACHMAI_PACS query refused (0x0124)")

        // 3. HTTP: who may do what.
        let choRad = Self.tokens["choray-radiologist"]!, admin = Self.tokens["admin"]!, bmPacs = Self.tokens["bachmai-pacs"]!
        let byCitizen: [String: Any] = ["PatientID": Self.hung, "IssuerOfPatientID": "VN-CCCD"]
        let drMai = try jwt(subject: "dr.mai", hospital: "Chợ Rẫy", roles: ["radiologist"])
        let drBinh = try jwt(subject: "dr.binh", hospital: "Bạch Mai", roles: ["radiologist"])
        let expired = try jwt(subject: "dr.mai", hospital: "Chợ Rẫy", roles: ["radiologist"], expiresIn: -3600)
        let optOut: [String: Any] = ["optedOut": true, "reason": "patient's written request, form 2026-118"]
        let before = try http([
            ["path": "/dicom-web/studies"],
            ["path": "/dicom-web/studies", "token": bmPacs],
            ["method": "POST", "path": "/dicom-web/studies", "token": bmPacs,
             "dicom": [TestImages.url("bachmai/mr-lspine-1.dcm").path, TestImages.url("bachmai/mr-lspine-2.dcm").path]],
            ["method": "POST", "path": "/dicom-web/studies", "token": choRad, "dicom": [TestImages.url("vietduc/dx-chest.dcm").path]],
            ["path": "/admin/audit", "token": choRad],
            ["path": "/dicom-web/studies", "token": drMai, "params": byCitizen],
            ["path": "/dicom-web/studies", "token": expired, "params": byCitizen],
            ["path": "/healthz"],
            ["path": "//admin/audit", "token": choRad],
            ["path": "/ADMIN/audit", "token": choRad],
            ["method": "PUT", "path": "/admin/consent/\(Self.hung)", "token": choRad, "json": optOut],
            ["method": "PUT", "path": "/admin/consent/\(Self.hung)", "token": admin, "json": optOut],
        ])
        #expect(before.map { $0["status"] as? Int } == [401, 403, 200, 403, 403, 200, 401, 200, 403, 403, 403, 200])
        #expect((before[0]["www"] as? String)?.hasPrefix("Bearer") == true)
        #expect(Self.studies(before[5]["json"]) == [Self.bachmaiStudy, Self.chorayStudy])
        #expect((before[11]["json"] as? [String: Any])?["optedOut"] as? Bool == true)
        expected += ["http anonymous query refused (HTTP 401)", "http token:bachmai-pacs query refused (HTTP 403)",
                     "http token:bachmai-pacs store ok", "http token:choray-radiologist store refused (HTTP 403)",
                     "http token:choray-radiologist admin refused (HTTP 403)", "http jwt:dr.mai query ok",
                     "http anonymous query refused (HTTP 401)", "http token:choray-radiologist admin refused (HTTP 403)",
                     "http token:choray-radiologist admin refused (HTTP 403)",
                     "http token:choray-radiologist admin refused (HTTP 403)", "http token:admin admin ok"]

        // 4. After the opt-out: each hospital sees only its own studies of the person, on every
        //    path, unless an emergency override is used (recorded).
        let bmSeries = "1.2.826.0.1.3680043.10.1337.2.1"
        let bmInstance = try #require(try cli(["find", "--level", "image", "--study-uid", Self.bachmaiStudy, "--json"]).stdout
            .components(separatedBy: "\"sopInstanceUID\" : \"").dropFirst().first?.prefix { $0 != "\"" }).description
        let after = try http([
            ["path": "/dicom-web/studies", "token": choRad, "params": byCitizen],
            ["path": "/dicom-web/studies", "token": drBinh, "params": byCitizen],
            ["path": "/dicom-web/studies/\(Self.bachmaiStudy)", "token": choRad],
            ["path": "/dicom-web/studies/\(Self.bachmaiStudy)/metadata", "token": choRad],
            ["path": "/dicom-web/studies/\(Self.bachmaiStudy)/series/\(bmSeries)/instances/\(bmInstance)/rendered", "token": choRad],
            ["path": "/dicom-web/studies/\(Self.bachmaiStudy)/thumbnail", "token": choRad],
            ["path": "/dicom-web/studies/\(Self.bachmaiStudy)/series", "token": choRad],
            ["path": "/wado", "token": choRad, "params": ["requestType": "WADO", "studyUID": Self.bachmaiStudy,
                                                          "seriesUID": bmSeries, "objectUID": bmInstance]],
            ["path": "/dicom-web/studies/\(Self.chorayStudy)/metadata", "token": choRad],
            ["path": "/dicom-web/studies", "token": choRad, "params": byCitizen,
             "headers": ["X-Emergency-Access": "unconscious trauma patient transferred from Bach Mai"]],
            ["path": "/dicom-web/studies/\(Self.bachmaiStudy)/metadata", "token": choRad,
             "params": ["emergency": "prior CT needed for emergency surgery"]],
            ["path": "/dicom-web/studies", "token": admin, "params": byCitizen],
        ])
        #expect(after.map { $0["status"] as? Int } == [200, 200, 404, 404, 404, 404, 404, 404, 200, 200, 200, 200])
        #expect(Self.studies(after[0]["json"]) == [Self.chorayStudy])
        #expect(Self.studies(after[1]["json"]) == [Self.bachmaiStudy])
        #expect(Self.studies(after[9]["json"]) == [Self.bachmaiStudy, Self.chorayStudy])
        #expect((after[10]["json"] as? [Any])?.count == 3)
        #expect(Self.studies(after[11]["json"]) == [Self.bachmaiStudy, Self.chorayStudy])
        expected += ["http token:choray-radiologist query ok", "http jwt:dr.binh query ok"]
            + Array(repeating: "http token:choray-radiologist retrieve HTTP 404", count: 4)
            + ["http token:choray-radiologist query HTTP 404", "http token:choray-radiologist retrieve HTTP 404",
               "http token:choray-radiologist retrieve ok", "http token:choray-radiologist query ok +override",
               "http token:choray-radiologist retrieve ok +override", "http token:admin query ok"]

        found = try findStudies("CHORAY_VIEW")
        #expect(found.final == 0 && found.studies == [Self.chorayStudy])
        found = try findStudies("BACHMAI_VIEW")
        #expect(found.final == 0 && found.studies == [Self.bachmaiStudy])
        found = try findStudies("ER_VIEW")
        #expect(found.final == 0 && found.studies == [Self.bachmaiStudy, Self.chorayStudy])
        let person = try findStudies("CHORAY_VIEW", level: "PATIENT")
        #expect(person.answers.count == 1)
        #expect(CitizenLookupTests.items(person.answers.first ?? [:], "00101002").compactMap {
            CitizenLookupTests.value($0, "00100020") } == ["CR0012345"])
        expected += ["dimse ae:CHORAY_VIEW query ok", "dimse ae:BACHMAI_VIEW query ok", "dimse ae:ER_VIEW query ok +override",
                     "dimse ae:CHORAY_VIEW query ok"]

        // C-MOVE and C-GET of the other hospital's study move nothing; of its own, it does.
        let destination = try StoreSCP(aeTitle: "CHORAY_VIEW", port: destinationPort, folder: dir.appending("received"))
        for study in [Self.bachmaiStudy, Self.chorayStudy] {
            _ = try dimse("movescu", "CHORAY_VIEW", ["-S", "-aem", "CHORAY_VIEW", "-k", "QueryRetrieveLevel=STUDY",
                                                     "-k", "StudyInstanceUID=\(study)"])
        }
        #expect(destination.received == 1, "only Chợ Rẫy's own study (1 instance) may be moved")
        let got = dir.appending("got")
        try FileManager.default.createDirectory(at: got, withIntermediateDirectories: true)
        _ = try dimse("getscu", "CHORAY_VIEW", ["-S", "-od", got.path, "-k", "QueryRetrieveLevel=STUDY",
                                                "-k", "StudyInstanceUID=\(Self.bachmaiStudy)"])
        #expect(files(in: got) == 0)
        expected += ["dimse ae:CHORAY_VIEW retrieve ok", "dimse ae:CHORAY_VIEW retrieve ok", "dimse ae:CHORAY_VIEW retrieve ok"]

        // 5. The CLI: as a hospital would be answered, with and without the override.
        func cliStudies(_ extra: [String]) throws -> Set<String> {
            let r = try cli(["find", "--citizen-id", Self.hung, "--json"] + extra)
            let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
            return Set(list.compactMap { ($0["study"] as? [String: Any])?["studyInstanceUID"] as? String })
        }
        #expect(try cliStudies(["--hospital", "Chợ Rẫy"]) == [Self.chorayStudy])
        #expect(try cliStudies(["--hospital", "Chợ Rẫy", "--emergency", "court order 17"]) == [Self.bachmaiStudy, Self.chorayStudy])
        #expect(try cliStudies([]) == [Self.bachmaiStudy, Self.chorayStudy])
        let consent = try cli(["patients", "consent", Self.hung])
        #expect(consent.stdout.contains("opted OUT") && consent.stdout.contains("token:admin"), "\(consent.stdout)")

        // 6. The audit trail: every access of the session, in order, with who, what and the outcome.
        let overrides = try http([["path": "/admin/overrides", "token": admin]])
        let overrideList = overrides.first?["json"] as? [[String: Any]] ?? []
        #expect(overrideList.compactMap { $0["override"] as? String }.sorted() == [
            "court order 17", "emergency AE ER_VIEW", "prior CT needed for emergency surgery",
            "unconscious trauma patient transferred from Bach Mai"])
        expected.append("http token:admin admin ok")

        var records: [[String: Any]] = []
        var lines: [String] = []
        for _ in 0..<50 {
            let listed = try cli(["audit", "--json"])
            records = listed.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            lines = records.filter { $0["via"] as? String != "cli" }.map { r in
                "\(r["via"] ?? "") \(r["actor"] ?? "") \(r["action"] ?? "") \(r["outcome"] ?? "")"
                    + ((r["override"] as? String).map { _ in " +override" } ?? "")
            }
            if lines.count >= expected.count { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(lines == expected)
        for (i, (line, wanted)) in zip(lines, expected).enumerated() where line != wanted {
            Issue.record("audit line \(i + 1): \(line) instead of \(wanted)")
        }
        // What the records say beyond the line: hospital, address, patients and studies revealed.
        let cfind = records.first { $0["actor"] as? String == "ae:CHORAY_VIEW" && $0["action"] as? String == "query" }
        #expect(cfind?["hospital"] as? String == "Chợ Rẫy" && cfind?["address"] as? String == "127.0.0.1")
        #expect(Set(cfind?["studies"] as? [String] ?? []) == [Self.bachmaiStudy, Self.chorayStudy])
        #expect((cfind?["patients"] as? [String])?.contains(Self.hung) == true)
        let qido = records.first { $0["actor"] as? String == "token:choray-radiologist" && $0["override"] as? String != nil }
        #expect(qido?["hospital"] as? String == "Chợ Rẫy" && qido?["results"] as? Int == 2)
        #expect(Set(qido?["studies"] as? [String] ?? []) == [Self.bachmaiStudy, Self.chorayStudy])
        let consentChange = records.first { $0["actor"] as? String == "token:admin" && ($0["detail"] as? String ?? "").hasPrefix("PUT") }
        #expect((consentChange?["patients"] as? [String]) == [Self.hung])
        let cliRecords = records.filter { $0["via"] as? String == "cli" && $0["action"] as? String == "query" }
        #expect(cliRecords.count == 5)  // the check for the refused store, the instance look-up, the three finds
        #expect(cliRecords.contains { $0["hospital"] as? String == "Chợ Rẫy" && $0["override"] as? String == "court order 17" })

        #expect(try cli(["audit", "--verify"]).stdout.contains("intact"))
        let cliOverrides = try cli(["audit", "--overrides", "--json"])
        #expect(cliOverrides.stdout.split(separator: "\n").count == 4, "\(cliOverrides.stdout)")
        // No patient identifier or name in the server's log.
        for secret in [Self.hung, "CR0012345", "HUNG", "Hùng"] { #expect(!server.log.contains(secret), "\(secret) in the log") }
    }

    @Test func configurationMistakesAreClearErrors() throws {
        func start(_ config: String) throws -> ProcessResult {
            let url = dir.appending("bad-\(UUID().uuidString.prefix(6)).json")
            try Data(config.utf8).write(to: url)
            return try ProcessRunner.imagingIndex(["serve", "--data-dir", dir.appending("bad-data").path, "--port", "0",
                                                   "--http-port", "0", "--config", url.path], timeout: 30)
        }
        let badRole = try start(#"{ "access": { "tokens": [ { "id": "a", "sha256": "00", "role": "radiologist", "hospital": "H" } ] } }"#)
        #expect(badRole.status != 0 && badRole.stderr.contains("sha256"), "\(badRole.stderr)")
        let unknownRole = try start(#"{ "dicom": { "peers": [ { "aeTitle": "A", "role": "doctor" } ] } }"#)
        #expect(unknownRole.status != 0 && unknownRole.stderr.contains("pacs, radiologist, admin"), "\(unknownRole.stderr)")
        let shortSecret = try start(#"{ "access": { "jwt": { "issuer": "x", "keys": [ { "hs256Secret": "short" } ] } } }"#)
        #expect(shortSecret.status != 0 && shortSecret.stderr.contains("32 bytes"), "\(shortSecret.stderr)")
        let noCert = try start(#"{ "dicom": { "tls": { "certificate": "/nonexistent.pem", "key": "/nonexistent.key" } } }"#)
        #expect(noCert.status != 0 && noCert.stderr.contains("dicom.tls.certificate"), "\(noCert.stderr)")
        let mismatched = try start("""
            { "dicom": { "tls": { "certificate": "\(certs.path)/server.pem", "key": "\(certs.path)/client.key", "port": 0 } } }
            """)
        #expect(mismatched.status != 0 && mismatched.stderr.lowercased().contains("key"), "\(mismatched.stderr)")
    }
}
