import Foundation
import Testing
import DicomTestSupport

/// SIGTERM with an association in flight: the server waits for it (the grace period), then
/// aborts it and exits 0, without waiting for the peer or the DIMSE timeout.
@Suite struct ShutdownTests {
    @Test func anAssociationStillOpenAfterTheGracePeriodIsAbortedAndTheServerExits() throws {
        let dir = TemporaryDirectory("shutdown")
        // The idle association would otherwise hold the server for the DIMSE timeout (10 min).
        let server = try ServerProcess(dataDirectory: dir.appending("data"), config: """
            { "dicom": { "aeTitle": "IMAGINGINDEX", "dimseTimeout": 600, "shutdownGrace": 2,
                "peers": [ { "aeTitle": "VIEWER", "host": "127.0.0.1", "hospital": "Chợ Rẫy", "permissions": ["query"] } ] } }
            """)
        // One association, held for 5 minutes.
        let holder = ProcessRunner.process(URL(fileURLWithPath: "/usr/bin/env"), ["python3",
            TestImages.packageRoot.appendingPathComponent("Tests/peers/hold_associations.py").path,
            "127.0.0.1", String(server.port), "VIEWER", "IMAGINGINDEX", "1", "300"])
        let opened = Pipe()
        holder.standardOutput = opened
        try holder.run()
        defer {
            if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
            holder.waitUntilExit()
        }
        var said = ""
        let deadline = Date().addingTimeInterval(60)
        while !said.contains("\"open\"") && Date() < deadline {
            let chunk = opened.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said += String(decoding: chunk, as: UTF8.self)
        }
        try #require(said.contains("\"open\": 1"), "\(said)")

        let asked = Date()
        let status = server.stop(timeout: 120)
        let took = Date().timeIntervalSince(asked)
        #expect(status == 0, "\(server.log)")
        #expect(took >= 1.5, "the association in flight was not given its grace period (\(took) s)")
        #expect(holder.isRunning, "the server waited for the peer to release")
        #expect(server.log.contains("associations still open after the shutdown grace period were aborted"), "\(server.log)")
        #expect(server.log.contains("dicom.aborted_associations=1"), "\(server.log)")
    }
}
