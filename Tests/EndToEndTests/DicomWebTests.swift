import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import DcmtkBridge
import DicomCore
import DicomTestSupport

/// The HTTP side of `serve`: a real DICOMweb client (dicomweb-client) for STOW, QIDO, WADO, and
/// every route's errors checked from Swift.
@Suite(.serialized) struct DicomWebTests {
    let dir = TemporaryDirectory("dicomweb")
    let server: ServerProcess
    var base: String { "http://127.0.0.1:\(server.httpPort)" }

    init() throws {
        server = try ServerProcess(dataDirectory: dir.appending("data"), config: #"{ "access": { "developmentMode": true } }"#)
    }

    /// One GET or POST; returns status, headers (lower-cased names) and body.
    func request(_ path: String, method: String = "GET", headers: [String: String] = [:],
                 body: Data? = nil) throws -> (status: Int, headers: [String: String], body: Data) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, [String: String], Data)?
        nonisolated(unsafe) var failure: (any Error)?
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let http = response as? HTTPURLResponse {
                var fields: [String: String] = [:]
                for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
                result = (http.statusCode, fields, data ?? Data())
            }
            failure = error
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 60)
        if let failure { throw failure }
        guard let result else { throw ServerProcess.ServerError(message: "no HTTP response for \(path)") }
        return result
    }

    @Test func aViewerSessionWithDicomwebClient() throws {
        let files = TestImages.manifest.files.filter { $0.path.hasPrefix("bachmai/") || $0.path.hasPrefix("choray/") }
        let result = try PythonPeer.run("dicomweb_session.py", [base] + files.map { TestImages.url($0.path).path })
        try #require(result.status == 0, "\(result.stderr)")
        let out = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(out["stored"] as? [String] == files.compactMap { $0["SOPInstanceUID"] }.sorted())
        #expect(out["failed"] as? Int == 0)
        let studies = Set(files.compactMap { $0["StudyInstanceUID"] })
        #expect(Set(out["studies"] as? [String] ?? []) == studies)
        for study in studies {
            let count = files.filter { $0["StudyInstanceUID"] == study }.count
            #expect((out["study_instances"] as? [String: Int])?[study] == count)
        }
        // Nguyễn^Văn… folded, and the 2024 date range, against the ground truth.
        let nguyen = Set(files.filter { ($0["PatientName"] ?? "").lowercased().hasPrefix("nguy") }.compactMap { $0["StudyInstanceUID"] })
        #expect(Set(out["by_name_fuzzy"] as? [String] ?? []) == nguyen)
        let in2024 = Set(files.filter { ($0["StudyDate"] ?? "").hasPrefix("2024") }.compactMap { $0["StudyInstanceUID"] })
        #expect(Set(out["by_date_range"] as? [String] ?? []) == in2024)
        let first = files[0]
        let firstStudy = files.filter { $0["StudyInstanceUID"] == first["StudyInstanceUID"] }
        #expect(Set(out["series_of_first_study"] as? [String] ?? []) == Set(firstStudy.compactMap { $0["SeriesInstanceUID"] }))
        #expect(Set(out["retrieved"] as? [String] ?? []) == Set(firstStudy.compactMap { $0["SOPInstanceUID"] }))
        #expect(out["retrieved_equal"] as? Bool == true)
        #expect(out["metadata_patient_name"] as? [String: String] == ["Alphabetic": first["PatientName"] ?? ""])
        #expect(out["metadata_pixel_uri"] as? Bool == true)
        #expect(out["bulk_equal"] as? Bool == true)
        #expect(out["frame_equal"] as? Bool == true)
        #expect(out["wado_uri"] as? [AnyHashable] == [200, "DICM"])
    }

    @Test func adminJobsRunAReindexWithProgress() throws {
        let files = TestImages.manifest.files.filter { $0.path.hasPrefix("bachmai/") }.map { TestImages.url($0.path).path }
        let stored = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "127.0.0.1", String(server.port)] + files)
        try #require(stored.status == 0, "\(stored.stderr)")
        #expect(try request("/admin/jobs/reindex?mode=sometimes", method: "POST").status == 400)
        let started = try request("/admin/jobs/reindex?mode=all", method: "POST")
        #expect(started.status == 202, "\(String(decoding: started.body, as: UTF8.self))")
        let id = (try JSONSerialization.jsonObject(with: started.body) as? [String: Any])?["id"] as? String ?? ""
        var job: [String: Any] = [:]
        for _ in 0..<200 {
            job = try JSONSerialization.jsonObject(with: try request("/admin/jobs/\(id)").body) as? [String: Any] ?? [:]
            if job["state"] as? String != "running" { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(job["state"] as? String == "finished")
        #expect(job["done"] as? Int == files.count && job["total"] as? Int == files.count)
        #expect(job["errors"] as? Int == 0)
        let list = try JSONSerialization.jsonObject(with: try request("/admin/jobs").body) as? [[String: Any]] ?? []
        #expect(list.map { $0["id"] as? String } == [id])
        #expect(try request("/admin/jobs/\(id)", method: "DELETE").status == 404)  // not running any more
        #expect(try request("/admin/jobs/nope").status == 404)
        let stats = try JSONSerialization.jsonObject(with: try request("/admin/stats").body) as? [String: Any]
        #expect(stats?["instances"] as? Int == files.count)
    }

    @Test func aMultiGigabyteStudyIsStreamedWithFlatMemory() throws {
        // 4 instances of 512 MiB: 2 GiB in one study.
        let corpus = dir.appending("big")
        let made = try PythonPeer.run("big_study.py", [corpus.path, "4", "512"], timeout: 600)
        try #require(made.status == 0, "\(made.stderr)")
        let study = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let data = dir.appending("big-data")
        let imported = try ProcessRunner.imagingIndex(["import", "--quiet", "--data-dir", data.path, corpus.path], timeout: 600)
        try #require(imported.status == 0, "\(imported.stderr)")
        try? FileManager.default.removeItem(at: corpus)
        // Thumbnails off: rendering a 512 MiB image takes memory of its own, which is not what is measured here.
        let big = try ServerProcess(dataDirectory: data, config: #"{ "thumbnails": { "enabled": false }, "access": { "developmentMode": true } }"#)
        defer { big.stop() }
        let result = try PythonPeer.run("stream_study.py", ["http://127.0.0.1:\(big.httpPort)/dicom-web", study,
                                                            String(big.process.processIdentifier)], timeout: 600)
        try #require(result.status == 0, "\(result.stderr)")
        let out = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Int] ?? [:]
        #expect((out["bytes"] ?? 0) > 4 * 512 * 1_048_576)
        let growth = (out["peak"] ?? 0) - (out["baseline"] ?? 0)
        #expect(growth < 128 * 1_048_576, "the server's memory grew by \(growth / 1_048_576) MiB while streaming 2 GiB")
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ data: Data) -> (Int, Int)? {
        let b = [UInt8](data.prefix(24))
        guard b.count == 24, b[0] == 0x89, b[1] == 0x50, b[12] == 0x49, b[13] == 0x48 else { return nil }
        func be(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        return (be(16), be(20))
    }

    @Test func thumbnailsAndRenderedImages() throws {
        let files = ["bachmai/ct-head-1.dcm", "bachmai/ct-head-2.dcm", "bachmai/mr-lspine-1.dcm"]
        let stored = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "127.0.0.1", String(server.port)]
                                       + files.map { TestImages.url($0).path })
        try #require(stored.status == 0, "\(stored.stderr)")
        let ct = TestImages.manifest.files.first { $0.path == files[0] }!
        let study = ct["StudyInstanceUID"]!, series = ct["SeriesInstanceUID"]!, sop = ct["SOPInstanceUID"]!
        let instance = "/dicom-web/studies/\(study)/series/\(series)/instances/\(sop)"
        for path in ["/dicom-web/studies/\(study)/thumbnail", "/dicom-web/studies/\(study)/series/\(series)/thumbnail",
                     instance + "/thumbnail"] {
            let r = try request(path + "?viewport=64,64")
            #expect(r.status == 200 && r.headers["content-type"] == "image/png", "\(path): \(r.status)")
            let size = Self.pngSize(r.body)
            #expect(size.map { max($0.0, $0.1) } == 64, "\(path): \(String(describing: size))")
        }
        let jpeg = try request(instance + "/rendered")
        #expect(jpeg.status == 200 && jpeg.headers["content-type"] == "image/jpeg")
        #expect(jpeg.body.prefix(2) == Data([0xFF, 0xD8]))
        let png = try request(instance + "/frames/1/rendered?window=40,80&viewport=100,100", headers: ["Accept": "image/png"])
        #expect(png.status == 200 && Self.pngSize(png.body).map { max($0.0, $0.1) } == 100)
        let other = try request(instance + "/rendered?window=400,2000&viewport=100,100", headers: ["Accept": "image/png"])
        #expect(other.status == 200 && other.body != png.body, "another window gives another image")
        // A viewport box: the image fits inside both dimensions.
        let boxed = try request(instance + "/rendered?viewport=200,50", headers: ["Accept": "image/png"])
        let boxSize = Self.pngSize(boxed.body)
        #expect(boxSize.map { $0.0 <= 200 && $0.1 <= 50 && ($0.0 == 200 || $0.1 == 50) } == true, "\(String(describing: boxSize))")
        let wadoURI = "/wado?requestType=WADO&studyUID=\(study)&seriesUID=\(series)&objectUID=\(sop)"
        let uriJPEG = try request(wadoURI + "&contentType=image/jpeg&rows=64&columns=64")
        #expect(uriJPEG.status == 200 && uriJPEG.body.prefix(2) == Data([0xFF, 0xD8]))
        let uriPNG = try request(wadoURI + "&contentType=image/png&rows=64&columns=64&windowCenter=40&windowWidth=80")
        #expect(Self.pngSize(uriPNG.body).map { max($0.0, $0.1) } == 64)
        #expect(try request(wadoURI + "&contentType=image/png&windowCenter=40&windowWidth=x").status == 400)
        let quoted = try request(instance, headers: ["Accept": "multipart/related; type=\"application/dicom\"; transfer-syntax=\"*\""])
        #expect(quoted.status == 200)
        for (path, headers, status) in [
            (instance + "/rendered?window=40", [String: String](), 400),
            (instance + "/rendered?viewport=0,0", [:], 400),
            (instance + "/rendered?quality=101", [:], 400),
            (instance + "/frames/2/rendered", [:], 404),
            (instance + "/rendered?viewport=100", [:], 400),
            (instance + "/rendered", ["Accept": "image/gif"], 406),
            ("/dicom-web/studies/1.2.3/thumbnail", [:], 404),
            ("/dicom-web/studies/\(study)/series/1.2.3/thumbnail", [:], 404),
        ] {
            let r = try request(path, headers: headers)
            #expect(r.status == status, "\(path): \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
    }

    @Test func httpsWithAConfiguredCertificate() throws {
        let cert = dir.appending("cert.pem"), key = dir.appending("key.pem")
        let made = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.path, "-out", cert.path])
        try #require(made.status == 0, "\(made.stderr)")
        let secure = try ServerProcess(dataDirectory: dir.appending("tls-data"), config: """
            { "http": { "tls": { "certificate": "\(cert.path)", "key": "\(key.path)" } } }
            """)
        defer { secure.stop() }
        let script = """
            import requests, sys
            r = requests.get("https://127.0.0.1:%s/healthz" % sys.argv[1], verify=sys.argv[2])
            print(r.status_code, r.text.strip())
            try:
                requests.get("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5)
                print("plain http answered")
            except Exception:
                print("plain http refused")
            """
        let result = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["python3", "-c", script, String(secure.httpPort), cert.path])
        #expect(result.stdout.contains("200 ok"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("plain http refused"), "\(result.stdout)")
        // A certificate that cannot be read is a configuration error naming it.
        let broken = try ProcessRunner.imagingIndex(["serve", "--data-dir", dir.appending("tls-bad").path, "--port", "0",
                                                     "--http-port", "0", "--config", Self.writeConfig(dir, #"{ "http": { "tls": { "certificate": "/nonexistent.pem", "key": "/nonexistent.pem" } } }"#)],
                                                    timeout: 30)
        #expect(broken.status != 0 && broken.stderr.contains("/nonexistent.pem"), "\(broken.stderr)")
    }

    static func writeConfig(_ dir: TemporaryDirectory, _ json: String) throws -> String {
        let url = dir.appending("config-\(UUID().uuidString.prefix(6)).json")
        try Data(json.utf8).write(to: url)
        return url.path
    }

    @Test func everyRouteSaysWhatIsWrong() throws {
        let stored = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "127.0.0.1", String(server.port),
                                                    TestImages.url("bachmai/ct-head-1.dcm").path])
        try #require(stored.status == 0, "\(stored.stderr)")
        let ct = TestImages.manifest.files.first { $0.path == "bachmai/ct-head-1.dcm" }!
        let study = ct["StudyInstanceUID"]!, series = ct["SeriesInstanceUID"]!, sop = ct["SOPInstanceUID"]!
        let cases: [(String, [String: String], Int, String)] = [
            ("/healthz", [:], 200, "ok"),
            ("/readyz", [:], 200, "ready"),
            ("/dicom-web/studies?limit=-1", [:], 400, "limit"),
            ("/dicom-web/studies?offset=a", [:], 400, "offset"),
            ("/dicom-web/studies?NotAnAttribute=1", [:], 400, "NotAnAttribute"),
            ("/dicom-web/studies?StudyDate=2024", [:], 400, "date"),
            ("/dicom-web/studies?StudyInstanceUID=1.2*", [:], 400, "wildcard"),
            ("/dicom-web/studies/1.2*/metadata", [:], 400, "single UID"),
            ("/wado?requestType=WADO&studyUID=1.2*&seriesUID=1.2&objectUID=1.2", [:], 400, "single UID"),
            ("/dicom-web/studies?includefield=Nonsense", [:], 400, "includefield"),
            ("/dicom-web/studies?fuzzymatching=maybe", [:], 400, "fuzzymatching"),
            ("/dicom-web/studies?NumberOfStudyRelatedInstances=3", [:], 400, "cannot be used to match"),
            ("/dicom-web/studies", ["Accept": "application/xml"], 406, "application/dicom+json"),
            ("/dicom-web/studies/1.2.3/series", [:], 404, "no such study"),
            ("/dicom-web/studies/\(study)/series/1.2.3/instances", [:], 404, "no such series"),
            ("/dicom-web/studies/1.2.3", [:], 404, "no such study"),
            ("/dicom-web/studies/\(study)/series/\(series)/instances/1.2.3", [:], 404, "no such instance"),
            ("/dicom-web/studies/\(study)", ["Accept": "image/png"], 406, "multipart/related"),
            ("/dicom-web/studies/\(study)", ["Accept": "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50"], 406, "transfer syntax"),
            ("/dicom-web/studies/\(study)/series/\(series)/instances/\(sop)/frames/0", [:], 400, "numbered from 1"),
            ("/dicom-web/studies/\(study)/series/\(series)/instances/\(sop)/frames/99", [:], 404, "no such frame"),
            ("/dicom-web/studies/\(study)/series/\(series)/instances/\(sop)/bulkdata/00091234", [:], 404, "no element"),
            ("/wado?requestType=WADO&studyUID=\(study)", [:], 400, "required"),
            ("/wado?requestType=WADO&studyUID=\(study)&seriesUID=\(series)&objectUID=\(sop)&contentType=image/gif", [:], 406, "contentType"),
            ("/admin/stats", [:], 200, "byDay"),
        ]
        for (path, headers, status, message) in cases {
            let r = try request(path, headers: headers)
            #expect(r.status == status, "\(path): \(r.status) \(String(decoding: r.body, as: UTF8.self))")
            #expect(String(decoding: r.body, as: UTF8.self).contains(message), "\(path): \(String(decoding: r.body, as: UTF8.self))")
        }
        // WADO-RS sends Explicit VR Little Endian unless asked for the stored syntax.
        let jpeg = TestImages.manifest.files.first { $0.path == "compressed/ct-head-1-jpeg-lossless-sv1.dcm" }!
        let sent = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "-xs", "127.0.0.1", String(server.port),
                                                  TestImages.url(jpeg.path).path])
        try #require(sent.status == 0, "\(sent.stderr)")
        let jpegPath = "/dicom-web/studies/\(jpeg["StudyInstanceUID"]!)/series/\(jpeg["SeriesInstanceUID"]!)/instances/\(jpeg["SOPInstanceUID"]!)"
        let decoded = try request(jpegPath)
        let asStored = try request(jpegPath, headers: ["Accept": "multipart/related; type=\"application/dicom\"; transfer-syntax=*"])
        #expect(decoded.status == 200 && asStored.status == 200)
        #expect(String(decoding: decoded.body.prefix(300), as: UTF8.self).contains("transfer-syntax=1.2.840.10008.1.2.1\r\n"))
        #expect(String(decoding: asStored.body.prefix(300), as: UTF8.self).contains("transfer-syntax=1.2.840.10008.1.2.4.70"))
        #expect(decoded.body.count > asStored.body.count)
        // JPEG 2000 too (OpenJPEG): the instance and its frames, uncompressed.
        let j2k = try RenderFixtures.url("multiframe-60-j2k-bot.dcm")
        let sentJ2k = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "-xv", "127.0.0.1",
                                                     String(server.port), j2k.path])
        try #require(sentJ2k.status == 0, "\(sentJ2k.stderr)")
        let j2kMetadata = try DicomFile(path: j2k.path).metadata()
        let j2kPath = "/dicom-web/studies/\(j2kMetadata.study.studyInstanceUID)/series/\(j2kMetadata.series.seriesInstanceUID)"
            + "/instances/\(j2kMetadata.instance.sopInstanceUID)"
        let reference = try DicomFile(path: try RenderFixtures.url("multiframe-60.dcm").path)
        let j2kDecoded = try request(j2kPath)
        #expect(j2kDecoded.status == 200, "\(String(decoding: j2kDecoded.body.prefix(300), as: UTF8.self))")
        #expect(String(decoding: j2kDecoded.body.prefix(300), as: UTF8.self).contains("transfer-syntax=1.2.840.10008.1.2.1\r\n"))
        #expect(j2kDecoded.body.range(of: try #require(try reference.elementBytes(.pixelData))) != nil)
        let frame30 = try request(j2kPath + "/frames/30")
        #expect(frame30.status == 200)
        #expect(frame30.body.range(of: try #require(try reference.frame(29))) != nil)

        // An instance whose UIDs break PS3.5 9.1 (a leading zero, a letter) is stored as sent and
        // stays reachable by them.
        let odd = dir.appending("odd-uid.dcm")
        try FileManager.default.copyItem(at: TestImages.url("bachmai/ct-head-2.dcm"), to: odd)
        let modified = try DcmtkTool.run("dcmodify", ["-nb", "-m", "(0020,000D)=1.2.03.4.abc", "-m", "(0020,000E)=1.2.03.4.abc.1",
                                                      "-m", "(0008,0018)=1.2.826.0.1.3680043.10.1337.99.8", odd.path])
        try #require(modified.status == 0, "\(modified.stderr)")
        let sentOdd = try DcmtkTool.run("storescu", ["-aet", "PACS", "-aec", "IMAGINGINDEX", "127.0.0.1", String(server.port), odd.path])
        try #require(sentOdd.status == 0, "\(sentOdd.stderr)")
        let oddMetadata = try request("/dicom-web/studies/1.2.03.4.abc/metadata")
        #expect(oddMetadata.status == 200, "\(String(decoding: oddMetadata.body, as: UTF8.self))")
        #expect(String(decoding: oddMetadata.body, as: UTF8.self).contains("1.2.826.0.1.3680043.10.1337.99.8"))
        // The patient's counts are computed when asked for (and only then) at study level.
        for (include, expected) in [("&includefield=NumberOfPatientRelatedStudies", true), ("", false)] {
            let found = try request("/dicom-web/studies?StudyInstanceUID=1.2.03.4.abc" + include)
            let item = (try JSONSerialization.jsonObject(with: found.body) as? [[String: Any]])?.first
            let count = ((item?["00201200"] as? [String: Any])?["Value"] as? [Any])?.first.map { Int("\($0)") ?? -1 }
            // (Other tests of this suite may store more of this patient's studies.)
            #expect(expected ? (count ?? 0) >= 1 : count == nil, "\(String(decoding: found.body, as: UTF8.self))")
        }

        // Empty results are 200 with an empty list (CP-2473), with the DICOM JSON media type.
        let empty = try request("/dicom-web/studies?PatientID=nobody")
        #expect(empty.status == 200 && String(decoding: empty.body, as: UTF8.self) == "[]")
        #expect(empty.headers["content-type"] == "application/dicom+json")
        // STOW-RS refusals: not multipart, a truncated body, a part that is not DICOM.
        let notMultipart = try request("/dicom-web/studies", method: "POST", headers: ["Content-Type": "application/dicom"], body: Data([1, 2, 3]))
        #expect(notMultipart.status == 415)
        let boundary = "XyZ"
        let truncated = Data("--XyZ\r\nContent-Type: application/dicom\r\n\r\nDICM".utf8)
        let cut = try request("/dicom-web/studies", method: "POST",
                              headers: ["Content-Type": "multipart/related; type=\"application/dicom\"; boundary=\(boundary)"], body: truncated)
        #expect(cut.status == 400, "\(String(decoding: cut.body, as: UTF8.self))")
        let junk = Data("--XyZ\r\nContent-Type: application/dicom\r\n\r\nnot dicom at all\r\n--XyZ--\r\n".utf8)
        let refused = try request("/dicom-web/studies", method: "POST",
                                  headers: ["Content-Type": "multipart/related; type=\"application/dicom\"; boundary=\(boundary)"], body: junk)
        #expect(refused.status == 409)
        let answer = try JSONSerialization.jsonObject(with: refused.body) as? [String: Any]
        let failed = ((answer?["00081198"] as? [String: Any])?["Value"] as? [[String: Any]])?.first
        #expect(((failed?["00081197"] as? [String: Any])?["Value"] as? [Int])?.first == 0xC000)
        // Nothing half-written stays behind in tmp/.
        let leftovers = leftoverTemporaryFiles(server.dataDirectory.appendingPathComponent("tmp"))
        #expect(leftovers.isEmpty, "\(leftovers)")
        // Metrics in Prometheus' text format.
        let metrics = try request("/metrics")
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("dicom_associations_total"))
        // Group commit: transactions and the instances they held (STOW-RS above stored some).
        let text = String(decoding: metrics.body, as: UTF8.self)
        let committed = text.split(separator: "\n").first { $0.hasPrefix("index_committed_instances_total ") }
        #expect((committed?.split(separator: " ").last).flatMap { Double($0) }.map { $0 > 0 } == true, "\(committed ?? "absent")")
        #expect(text.contains("index_commit_duration_seconds"))
        #expect(text.contains("thumbnails_pending"), "the thumbnail generator's metrics are made with the node")
    }
}
