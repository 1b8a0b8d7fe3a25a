import Foundation
import Logging
import DicomCore
import DcmtkBridge
import DicomIndex
import DicomStorage
import DicomWebAPI
import AuditTrail

/// The app's side of the DICOMweb layer: STOW-RS parts through the ingest pipeline, metadata
/// through DCMTK, metrics from the process's registry.
struct DicomWebBackendAdapter: DicomWebBackend {
    let pipeline: IngestPipeline
    let metrics: @Sendable () -> String
    let audit: AuditLog?
    let logger: Logger

    var index: any IndexStore { pipeline.index }
    var store: FileStore { pipeline.store }

    func ingest(partAt path: String, expectedStudy: String?, hospital: String?, source: String) -> StowOutcome {
        // Identify the part first: its UIDs go into the response whatever happens next.
        let identity: (sopClass: String, sop: String, study: String)?
        do {
            let file = try DicomFile(path: path, options: [.skipPixelData])
            identity = (file.string(.sopClassUID) ?? "", file.string(.sopInstanceUID) ?? "", file.string(.studyInstanceUID) ?? "")
        } catch {
            identity = nil
        }
        if let expectedStudy, let identity, identity.study != expectedStudy {
            unlink(path)
            return .failed(sopClassUID: identity.sopClass, sopInstanceUID: identity.sop, reason: 0xA900,
                           message: "the instance belongs to another study than the URL's")
        }
        do {
            let outcome = try pipeline.ingestReceivedFile(path, origin: .stow, sourceAETitle: nil, hospital: hospital,
                                                          expected: nil, source: source)
            switch outcome {
            case .duplicate(let sop):
                return .duplicate(sopClassUID: identity?.sopClass ?? "", sopInstanceUID: sop)
            case .stored(let sop, _), .replaced(let sop, _), .reindexed(let sop, _):
                return .stored(sopClassUID: identity?.sopClass ?? "", sopInstanceUID: sop)
            }
        } catch {
            return .failed(sopClassUID: identity?.sopClass, sopInstanceUID: identity?.sop,
                           reason: DicomNodeHandlers.status(for: error).code, message: error.message)
        }
    }

    func metadata(ofFileAt path: String, bulkDataBase: String) throws -> Data {
        try DicomFile(path: path).dicomJSON(bulkDataBase: bulkDataBase)
    }

    func bulkData(ofFileAt path: String, tag: UInt32) throws -> Data? {
        try DicomFile(path: path).elementBytes(DicomTag(rawValue: tag))
    }

    func frames(ofFileAt path: String, numbers: [Int]) throws -> [Data]? {
        let file = try DicomFile(path: path)
        var frames: [Data] = []
        for number in numbers {
            guard number >= 1, let frame = try file.frame(number - 1) else { return nil }
            frames.append(frame)
        }
        return frames
    }

    func transcoded(fileAt path: String, transferSyntax: String) throws -> Data {
        try DicomFile(path: path, options: [.keepOriginalCharacterSet]).part10Data(transferSyntax: transferSyntax)
    }

    func metricsText() -> String { metrics() }

    func auditRecords(since: Date?, actor: String?, patient: String?, overridesOnly: Bool, limit: Int) throws -> Data {
        guard let audit else { return Data("[]".utf8) }
        try audit.flush()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(try audit.records(since: since, actor: actor, patient: patient, overridesOnly: overridesOnly,
                                                     limit: limit))
    }

    func record(_ access: WebAccess) {
        guard let audit else { return }
        let logger = self.logger
        audit.record(AuditRecord(actor: access.actor, hospital: access.hospital, via: "http", address: access.address,
                                 action: access.action, patients: access.patients, studies: access.studies,
                                 detail: "\(access.method) \(access.target)",
                                 outcome: access.status < 400 ? "ok" : access.status == 401 || access.status == 403
                                     ? "refused (HTTP \(access.status))" : "HTTP \(access.status)",
                                 results: access.results, override: access.override)) { error in
            logger.error("audit trail not written", metadata: ["error": "\(error)"])
        }
    }
}
