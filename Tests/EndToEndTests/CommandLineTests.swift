import Foundation
import Testing
import DicomTestSupport

/// The `imaging-index` executable driven as a user would, on a temporary data directory.
@Suite(.serialized) struct CommandLineTests {
    let dir = TemporaryDirectory("cli")
    var data: String { dir.appending("data").path }

    func cli(_ args: [String]) throws -> ProcessResult {
        try ProcessRunner.imagingIndex(args + ["--data-dir", data])
    }

    func json(_ result: ProcessResult) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    @Test func importFindStatsAndReindexLikeAUser() throws {
        let imported = try cli(["import", "--json", TestImages.root.path])
        #expect(imported.status == 0, "\(imported.stderr)")
        let summary = try #require(try json(imported) as? [String: Any])
        #expect(summary["imported"] as? Int == TestImages.manifest.files.count)
        #expect(summary["duplicates"] as? Int == TestImages.manifest.duplicates.count)
        #expect(summary["failed"] as? Int == 0)
        // No patient names in the logs: only paths, UIDs and counts.
        #expect(!imported.stderr.contains("Nguyễn") && !imported.stderr.contains("NGUYEN"))

        // Human summary (plain progress lines when not on a terminal).
        let again = try cli(["import", TestImages.url("bad").path])
        #expect(again.status == 0)
        #expect(again.stdout.contains("not DICOM:   4"))
        #expect(again.stdout.contains("corrupt:     3"))
        #expect(again.stdout.contains("truncated-in-pixel-data.dcm"))

        // One person, two hospitals, two spellings: folded name matching finds both.
        let found = try cli(["find", "--name", "nguyen van*", "--fuzzy", "--json"])
        #expect(found.status == 0, "\(found.stderr)")
        let matches = try #require(try json(found) as? [[String: Any]])
        let issuers = Set(matches.compactMap { ($0["patient"] as? [String: Any])?["issuerOfPatientID"] as? String })
        #expect(issuers == ["VN-CCCD", "CHORAY"])

        // Same local number at two hospitals: the issuer tells them apart.
        let choray = try cli(["find", "--level", "patient", "--patient-id", "CR0012345", "--issuer", "CHORAY", "--json"])
        #expect((try json(choray) as? [Any])?.count == 1)
        let table = try cli(["find", "--level", "patient", "--patient-id", "CR0012345"])
        #expect(table.stdout.contains("2 matches"))

        let badQuery = try cli(["find", "--date", "2024-13-45"])
        #expect(badQuery.status != 0)
        #expect(badQuery.stderr.contains("studyDate"))

        let stats = try cli(["stats", "--json"])
        let report = try #require(try json(stats) as? [String: Any])
        let index = try #require(report["index"] as? [String: Any])
        #expect(index["instances"] as? Int == TestImages.manifest.files.count)
        #expect((report["storeBytes"] as? Int ?? 0) > 0)

        // Delete the database, rebuild from the files: the same index.
        let before = try cli(["find", "--level", "image", "--json"])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: data + "/index.sqlite" + suffix) }
        let reindex = try cli(["reindex", "--all"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(reindex.stdout.contains("reindexed:   \(TestImages.manifest.files.count)"))
        let after = try cli(["find", "--level", "image", "--json"])
        #expect(try stripIDs(after.stdout) == (try stripIDs(before.stdout)))
    }

    @Test func clearErrorsForBadInvocations() throws {
        let missing = try cli(["import", "/nonexistent/folder"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("no such file or folder"))

        let config = dir.appending("bad.json")
        try Data(#"{"duplicatePolicy": "keepFirst", "extraTag": ["0008,1030"]}"#.utf8).write(to: config)
        let badConfig = try cli(["import", "--config", config.path, TestImages.root.path])
        #expect(badConfig.status != 0)
        #expect(badConfig.stderr.contains("unknown setting(s) extraTag"))

        let noIndex = try ProcessRunner.imagingIndex(["find", "--data-dir", dir.appending("nothing-here").path])
        #expect(noIndex.status != 0)
        #expect(noIndex.stderr.contains("no index"))

        let both = try cli(["reindex", "--all", "--stale"])
        #expect(both.status != 0)
    }

    /// A reindex killed with SIGKILL at some point, then run again, ends with the same index.
    @Test func killedReindexResumes() throws {
        let corpus = dir.appending("corpus")
        let gen = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", TestImages.datasetGenerator.path,
            "--out", corpus.path, "--instances", "600", "--studies", "24", "--patients", "12", "--size", "32", "--jobs", "1"])
        try #require(gen.status == 0, "gen_dataset failed: \(gen.stderr)")
        #expect(try cli(["import", "--quiet", corpus.path]).status == 0)
        let before = try cli(["find", "--level", "image", "--json"])

        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: data + "/index.sqlite" + suffix) }
        let process = ProcessRunner.process(ProcessRunner.imagingIndexBinary, ["reindex", "--all", "--quiet", "--data-dir", data])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 0.4)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let resumed = try cli(["reindex", "--all"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try cli(["find", "--level", "image", "--json"])
        #expect(try stripIDs(after.stdout) == (try stripIDs(before.stdout)))
        #expect(try (JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [Any])?.count == 600)
    }
}

/// Query results without database row ids (which a rebuilt index numbers anew) and origins.
func stripIDs(_ json: String) throws -> [String] {
    let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
    func clean(_ value: Any) -> Any {
        if var dict = value as? [String: Any] {
            dict["id"] = nil
            dict["origin"] = nil
            return dict.mapValues(clean)
        }
        if let array = value as? [Any] { return array.map(clean) }
        return value
    }
    return try list.map { item in
        String(decoding: try JSONSerialization.data(withJSONObject: clean(item), options: [.sortedKeys]), as: UTF8.self)
    }.sorted()
}
