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
        let holder = try HeldAssociations(port: server.port, calling: "VIEWER", count: 1, seconds: 300)
        try #require(holder.opened == 1, "\(holder.said)")

        let asked = Date()
        let status = server.stop(timeout: 120)
        let took = Date().timeIntervalSince(asked)
        #expect(status == 0, "\(server.log)")
        #expect(took >= 1.5, "the association in flight was not given its grace period (\(took) s)")
        #expect(holder.process.isRunning, "the server waited for the peer to release")
        #expect(server.log.contains("associations still open after the shutdown grace period were aborted"), "\(server.log)")
        #expect(server.log.contains("dicom.aborted_associations=1"), "\(server.log)")
    }
}
