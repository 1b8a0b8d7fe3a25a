import Foundation
import Testing
import DcmtkBridge
import DicomTestSupport

/// C-STORE into a data directory whose disk is full: the peer gets 0xA700 with the reason, the
/// association goes on, nothing half-written stays, and storing works again once there is room.
@Suite(.serialized) struct FullDiskTests {
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func storingIntoAFullDiskIsOutOfResourcesAndLosesNothing() async throws {
        let dir = TemporaryDirectory("full-disk-dimse")
        // The data directory is the small disk; the server's log lies beside it, on another.
        let data = dir.appending("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let mount = try ProcessRunner.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=8m", "tmpfs", data.path])
        try #require(mount.status == 0, "mount failed: \(mount.stderr)")
        defer { _ = try? ProcessRunner.run(URL(fileURLWithPath: "/bin/umount"), ["-l", data.path]) }

        let server = try ServerProcess(dataDirectory: data, config: """
            { "thumbnails": { "enabled": false } }
            """, extraArguments: ["--accept-any-peer"])
        defer { server.stop() }
        // -nh: go on after a refusal; -d: show each response's status and error comment.
        func store(_ names: [String]) throws -> ProcessResult {
            try DcmtkTool.run("storescu", ["-d", "-nh", "-aet", "BACHMAI", "-aec", "IMAGINGINDEX", "127.0.0.1",
                                           String(server.port)] + names.map { TestImages.url($0).path })
        }
        func indexed(_ uid: String) throws -> Bool {
            let found = try ProcessRunner.imagingIndex(["find", "--level", "image", "--sop-uid", uid, "--json", "--data-dir", data.path])
            return !((try JSONSerialization.jsonObject(with: Data(found.stdout.utf8)) as? [Any]) ?? []).isEmpty
        }
        let first = "bachmai/ct-head-1.dcm", refused = ["bachmai/ct-head-2.dcm", "bachmai/mr-lspine-1.dcm"]
        let uids = try (([first] + refused).map { try DicomFile(path: TestImages.url($0).path).metadata().instance.sopInstanceUID })
        #expect(try store([first]).status == 0)

        // Fill the disk to the last block.
        let filler = data.appendingPathComponent("filler")
        let fd = open(filler.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        let chunk = [UInt8](repeating: 0x5A, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)

        // Two instances on one association: each refused with 0xA700 and the reason, and the
        // association is not aborted by the first refusal.
        let full = try store(refused)
        let said = full.stdout + full.stderr
        #expect(said.components(separatedBy: "DIMSE Status                  : 0xa700").count - 1 == 2, "\(said)")
        #expect(said.components(separatedBy: "[no space left on the store's disk]").count - 1 == 2, "\(said)")
        #expect(!said.localizedCaseInsensitiveContains("abort"), "\(said)")
        #expect(leftoverTemporaryFiles(data.appendingPathComponent("tmp")).isEmpty)
        // The log says so, per instance and in the association's summary.
        #expect(await eventually { server.log.contains("dicom.store_failures=2") }, "\(server.log)")
        #expect(server.log.components(separatedBy: "C-STORE failed").count - 1 == 2, "\(server.log)")
        #expect(server.log.contains("error=no space left on the store's disk"), "\(server.log)")

        // Room again (the CLI records its look-ups in the audit trail, which needs room too):
        // nothing of the refused instances was indexed; storing them now works.
        try FileManager.default.removeItem(at: filler)
        for uid in uids.dropFirst() { #expect(try !indexed(uid)) }
        #expect(try store(refused).status == 0)
        for uid in uids { #expect(try indexed(uid), "\(uid)") }
        let listed = try ProcessRunner.imagingIndex(["find", "--level", "image", "--sop-uid", uids[0], "--json",
                                                     "--data-dir", data.path]).stdout
        let path = try #require(listed.firstMatch(of: /"path" *: *"([^"]+)"/)).output.1
        let kept = try DicomFile(path: data.appendingPathComponent(path.replacingOccurrences(of: "\\/", with: "/")).path)
        #expect(try kept.metadata().instance.sopInstanceUID == uids[0])
        #expect(server.stop() == 0)
    }
}
