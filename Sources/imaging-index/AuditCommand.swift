import ArgumentParser
import Foundation
import AuditTrail
import ImagingIndexApp

/// `imaging-index audit`: read, export and verify the audit trail.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Who looked at, stored or changed what: list, export (JSON lines, ATNA XML), verify the hash chain."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Only records touching this patient ID (local or citizen ID).") var patient: String?
    @Option(help: "Only records since this date (YYYY-MM-DD or ISO 8601).") var since: String?
    @Option(help: "Only records of this actor (ae:TITLE, cli:user, anonymous).") var who: String?
    @Option(help: "At most this many records.") var limit: Int = 10_000
    @Flag(help: "JSON lines.") var json = false
    @Flag(help: "DICOM PS3.15 / IHE ATNA audit messages (XML), one per line.") var atna = false
    @Flag(help: "Recompute the hash chain; exit 2 when it is broken.") var verify = false
    @Flag(help: "Only emergency overrides of the sharing consent (the report to review).") var overrides = false

    func run() throws {
        let configuration = try common.load()
        let log = try AuditLog(path: configuration.auditPath)
        if verify {
            let result = try log.verify()
            if let broken = result.firstBrokenID {
                print("audit trail BROKEN at record \(broken) (\(result.records) records read): a record was edited, removed or inserted")
                throw ExitCode(2)
            }
            print("audit trail intact: \(result.records) records")
            return
        }
        var start: Date?
        if let since {
            let day = DateFormatter()
            day.dateFormat = "yyyy-MM-dd"
            day.timeZone = TimeZone(identifier: "UTC")
            guard let parsed = ISO8601DateFormatter().date(from: since) ?? day.date(from: since) else {
                throw ValidationError("--since takes YYYY-MM-DD or an ISO 8601 time, not '\(since)'")
            }
            start = parsed
        }
        let records = try log.records(since: start, actor: who, patient: patient, overridesOnly: overrides, limit: limit)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        for r in records {
            if atna {
                print(r.atnaXML)
            } else if json {
                print(String(decoding: try encoder.encode(r), as: UTF8.self))
            } else {
                print("\(r.id ?? 0) \(ISO8601DateFormatter().string(from: r.at)) \(r.actor)\(r.hospital.map { " (\($0))" } ?? "") "
                      + "\(r.via)\(r.address.map { " from \($0)" } ?? "") \(r.action) \(r.outcome) results=\(r.results) "
                      + "patients=\(r.patients.joined(separator: ",")) studies=\(r.studies.count) \(r.detail)")
            }
        }
    }
}

extension AuditError: LocalizedError {
    public var errorDescription: String? { description }
}
