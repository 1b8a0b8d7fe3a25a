import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import GRDB
import DicomTestSupport
@testable import AuditTrail

@Suite struct AuditLogTests {
    let dir = TemporaryDirectory("audit")

    func log() throws -> AuditLog { try AuditLog(path: dir.appending("audit.sqlite").path) }

    func fill(_ log: AuditLog) throws {
        try log.append(AuditRecord(actor: "ae:CHORAY_VIEW", hospital: "Chợ Rẫy", via: "dimse", address: "10.30.4.2",
                                   action: "query", patients: ["001085012345"], studies: ["1.2.3"],
                                   detail: "PatientID=001085012345", outcome: "ok", results: 1))
        try log.append(AuditRecord(actor: "cli:lan", via: "cli", action: "link", patients: ["VD-77", "001085012345"],
                                   detail: "checked at the desk", outcome: "ok"))
        try log.append(AuditRecord(actor: "anonymous", via: "http", address: "127.0.0.1", action: "retrieve",
                                   studies: ["1.2.3"], detail: "GET /dicom-web/studies/1.2.3", outcome: "HTTP 200", results: 3))
    }

    @Test func recordsComeBackFilteredAndTheChainHolds() throws {
        let log = try log()
        try fill(log)
        #expect(try log.records().count == 3)
        #expect(try log.records(patient: "001085012345").map(\.action) == ["query", "link"])
        #expect(try log.records(actor: "cli:lan").first?.detail == "checked at the desk")
        #expect(try log.records(since: Date().addingTimeInterval(60)).isEmpty)
        let v = try log.verify()
        #expect(v.intact && v.records == 3)
    }

    @Test func anEditedRowBreaksTheChainAndSQLRefusesEdits() throws {
        let log = try log()
        try fill(log)
        // The code has no update path, and SQL refuses one.
        #expect(throws: (any Error).self) {
            try log.queue.write { db in try db.execute(sql: "UPDATE audit SET outcome = 'refused' WHERE id = 2") }
        }
        #expect(throws: (any Error).self) {
            try log.queue.write { db in try db.execute(sql: "DELETE FROM audit WHERE id = 2") }
        }
        // Someone with the file drops the trigger and edits a row: the chain shows where.
        try log.queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_update")
            try db.execute(sql: "UPDATE audit SET detail = 'nothing to see' WHERE id = 2")
        }
        #expect(try log.verify().firstBrokenID == 2)
    }

    @Test func aRemovedRowBreaksTheChain() throws {
        let log = try log()
        try fill(log)
        try log.queue.write { db in
            try db.execute(sql: "DROP TRIGGER audit_no_delete")
            try db.execute(sql: "DELETE FROM audit WHERE id = 2")
        }
        #expect(try log.verify().firstBrokenID == 3)
    }

    @Test func queuedRecordsAreWrittenInOrderAndChained() throws {
        let log = try log()
        for i in 0..<200 { log.record(AuditRecord(actor: "ae:A", via: "dimse", action: "store", detail: "n=\(i)", outcome: "ok")) }
        try log.flush()
        for _ in 0..<100 where try log.records().count < 200 { Thread.sleep(forTimeInterval: 0.02) }
        let records = try log.records()
        #expect(records.map(\.detail) == (0..<200).map { "n=\($0)" })
        #expect(try log.verify().intact)
    }

    @Test func atnaMessages() throws {
        let log = try log()
        try fill(log)
        let xml = try log.records()[0].atnaXML
        #expect(xml.hasPrefix("<AuditMessage>") && xml.hasSuffix("</AuditMessage>"))
        #expect(xml.contains("csd-code=\"110112\"") && xml.contains("ParticipantObjectID=\"001085012345\""))
        #expect(xml.contains("NetworkAccessPointID=\"10.30.4.2\""))
        let parsed = XMLParser(data: Data(xml.utf8))
        #expect(parsed.parse(), "well-formed XML")
    }
}
