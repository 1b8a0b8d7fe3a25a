import Foundation
import Logging
import DicomCore
import DcmtkBridge
import DicomIndex
import DicomNetwork
import DicomStorage

/// Wires the DIMSE handlers to the ingest pipeline and the index: C-STORE into the pipeline,
/// C-FIND and C-MOVE/C-GET out of the index (queries never read files).
struct DicomNodeHandlers: StoreHandler, QueryHandler, RetrieveHandler {
    let pipeline: IngestPipeline
    let index: any IndexStore
    let store: FileStore
    let extraTags: [DicomTag]
    let logger: Logger

    // MARK: C-STORE

    func store(file: String, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
               context: AssociationContext) -> DimseAnswer {
        do {
            _ = try pipeline.ingestReceivedFile(file, origin: .dimse, sourceAETitle: context.callingAETitle,
                                                expected: (sopClassUID, sopInstanceUID),
                                                source: "association \(context.id)")
            return DimseAnswer(.success)
        } catch {
            return DimseAnswer(Self.status(for: error), comment: Self.comment(for: error))
        }
    }

    /// PS3.4 C-STORE statuses for each failure.
    static func status(for error: ImagingIndexError) -> DimseStatus {
        switch error.code {
        case .notDicom, .corrupt: .cannotUnderstand                       // 0xC000
        case .doesNotMatchRequest: .dataSetDoesNotMatchSOPClass            // 0xA900
        case .outOfSpace, .indexUnavailable, .io, .configuration, .notFound: .outOfResources  // 0xA700
        case .duplicateRejected: .duplicateSOPInstance                     // 0x0111
        }
    }

    static func comment(for error: ImagingIndexError) -> String {
        switch error.code {
        case .notDicom: "not a DICOM data set"
        case .corrupt: "malformed data set or identifying attribute missing"
        case .doesNotMatchRequest: "data set differs from the request's SOP class/instance"
        case .outOfSpace: "storage full"
        case .indexUnavailable: "index unavailable"
        case .io, .configuration, .notFound: "storage error"
        case .duplicateRejected: "SOP instance already stored"
        }
    }

    // MARK: C-FIND

    func find(_ request: FindRequest, context: AssociationContext, limit: Int,
              emit: ([DicomTag: String]) -> Bool) -> DimseAnswer {
        let query = IndexQuery(level: request.level, dicomKeys: request.keys, extraTags: extraTags, limit: limit + 1)
        let matches: [QueryMatch]
        do {
            matches = try index.query(query)
        } catch {
            if error.code == .invalidQuery {
                return DimseAnswer(.dataSetDoesNotMatchSOPClass, comment: String(error.message.prefix(64)))
            }
            logger.error("C-FIND: the index failed", metadata: ["error": "\(error)"])
            return DimseAnswer(.outOfResources, comment: "index unavailable")
        }
        if matches.count > limit {
            logger.warning("C-FIND matches cut at the configured maximum",
                           metadata: ["dicom.association_id": "\(context.id)", "dicom.max_matches": "\(limit)"])
        }
        let wantsSOPClasses = request.returnKeys.contains(.sopClassesInStudy)
        for match in matches.prefix(limit) {
            var attributes = match.dicomAttributes()
            if wantsSOPClasses, let study = match.study {
                attributes[.sopClassesInStudy] = ((try? index.sopClasses(inStudy: study.studyInstanceUID)) ?? [])
                    .joined(separator: "\\")
            }
            if emit(attributes) { return DimseAnswer(.cancel) }
        }
        return DimseAnswer(.success)
    }

    // MARK: C-MOVE / C-GET

    func files(for request: FindRequest, context: AssociationContext) -> Result<[RetrieveFile], NetworkError> {
        // Retrieve by the unique keys of the levels down to the request's level.
        var keys: [DicomTag: String] = [:]
        for tag in [DicomTag.patientID, .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID] {
            if let value = request.keys[tag], !value.isEmpty { keys[tag] = value }
        }
        guard keys[FindRequest.uniqueKey(of: request.level)] != nil else {
            return .failure(NetworkError(.identifierDoesNotMatch,
                                         "the unique key of the \(request.level.rawValue) level is missing"))
        }
        do {
            let matches = try index.query(IndexQuery(level: .instance, dicomKeys: keys, nameMatching: .exact))
            return .success(matches.compactMap { m in
                guard let i = m.instance else { return nil }
                return RetrieveFile(path: store.path(forRelativePath: i.path), sopClassUID: i.sopClassUID,
                                    sopInstanceUID: i.sopInstanceUID, transferSyntaxUID: i.transferSyntaxUID)
            })
        } catch {
            if error.code == .invalidQuery { return .failure(NetworkError(.identifierDoesNotMatch, error.message)) }
            return .failure(NetworkError(.outOfResources, "index unavailable"))
        }
    }
}
