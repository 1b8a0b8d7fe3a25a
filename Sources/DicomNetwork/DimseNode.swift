import Foundation
import Logging
import Metrics
import Synchronization
import DicomCore
import DcmtkBridge

/// The DIMSE service provider's brain: association policy, permissions, per-association logs and
/// metrics, and the translation between DCMTK datasets and the handlers.
public final class DimseNode: DimseServiceProviderDelegate {
    struct AssociationStats {
        var context: AssociationContext
        var started: ContinuousClock.Instant
        var echoes = 0, stores = 0, storeFailures = 0, finds = 0, moves = 0, gets = 0
    }

    public let configuration: DicomNodeConfiguration
    let policy: AssociationPolicy
    let storage: any StoreHandler
    let query: any QueryHandler
    let retrieve: any RetrieveHandler
    let refusals: (any RefusalObserver)?
    let logger: Logger
    private let open = Mutex<[UInt64: AssociationStats]>([:])

    private let associations = Counter(label: "dicom_associations_total")
    private let rejected = Counter(label: "dicom_associations_rejected_total")
    private let dropped = Counter(label: "dicom_connections_dropped_total")
    private let instances = Counter(label: "dicom_instances_received_total")
    private let receivedBytes = Counter(label: "dicom_bytes_received_total")
    private let findLatency = Metrics.Timer(label: "dicom_cfind_duration_seconds")

    public init(configuration: DicomNodeConfiguration, storage: any StoreHandler, query: any QueryHandler,
                retrieve: any RetrieveHandler, refusals: (any RefusalObserver)? = nil,
                logger: Logger = Logger(label: "imaging-index.dimse")) {
        self.refusals = refusals
        self.configuration = configuration
        self.policy = AssociationPolicy(configuration: configuration)
        self.storage = storage
        self.query = query
        self.retrieve = retrieve
        self.logger = logger
    }

    /// Associations open now.
    public var openAssociations: Int { open.withLock { $0.count } }

    private func context(_ id: UInt64) -> AssociationContext? { open.withLock { $0[id]?.context } }

    private func log(_ id: UInt64) -> Logger.Metadata {
        guard let c = context(id) else { return ["dicom.association_id": "\(id)"] }
        return ["dicom.association_id": "\(id)", "dicom.calling_ae": "\(c.callingAETitle)", "dicom.peer": "\(c.peerHost)"]
    }

    private func failure(_ status: DimseStatus) {
        Counter(label: "dicom_failures_total", dimensions: [("status", status.description)]).increment()
    }

    // MARK: DimseServiceProviderDelegate

    public func shouldAccept(_ request: AssociationRequest) -> AssociationRejection? {
        let metadata: Logger.Metadata = ["dicom.association_id": "\(request.id)", "dicom.calling_ae": "\(request.callingAETitle)",
                                         "dicom.called_ae": "\(request.calledAETitle)", "dicom.peer": "\(request.peerHost)"]
        if request.callingAETitle.isEmpty && request.calledAETitle.isEmpty {
            // A connection that closed before its A-ASSOCIATE-RQ (a port probe): nothing to record.
            logger.debug("connection closed before an association request", metadata: metadata)
            return .noReasonGiven
        }
        switch policy.evaluate(request) {
        case .failure(let rejection):
            rejected.increment()
            logger.notice("association rejected: \(rejection)", metadata: metadata)
            refusals?.associationRejected(request, reason: rejection.description)
            return rejection
        case .success(let peer):
            associations.increment()
            let context = AssociationContext(id: request.id, callingAETitle: request.callingAETitle,
                                             peerHost: request.peerHost, peer: peer)
            open.withLock { $0[request.id] = AssociationStats(context: context, started: .now) }
            logger.info("association accepted", metadata: metadata.merging([
                "dicom.hospital": "\(peer.hospital)", "dicom.tls": "\(request.tls)"]) { a, _ in a })
            return nil
        }
    }

    public func connectionDropped(peerHost: String, reason: String) {
        dropped.increment()
        logger.notice("connection closed without an association", metadata: [
            "dicom.peer": "\(peerHost)", "reason": "\(reason)"])
    }

    public func associationEnded(_ id: UInt64, aborted: Bool) {
        guard let stats = open.withLock({ $0.removeValue(forKey: id) }) else { return }
        let seconds = Double((ContinuousClock.now - stats.started).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - stats.started).components.seconds)
        logger.info(aborted ? "association aborted" : "association released", metadata: [
            "dicom.association_id": "\(id)", "dicom.calling_ae": "\(stats.context.callingAETitle)",
            "dicom.peer": "\(stats.context.peerHost)", "dicom.echo": "\(stats.echoes)", "dicom.stored": "\(stats.stores)",
            "dicom.store_failures": "\(stats.storeFailures)", "dicom.find": "\(stats.finds)", "dicom.move": "\(stats.moves)",
            "dicom.get": "\(stats.gets)", "duration_s": "\(String(format: "%.3f", seconds))",
        ])
    }

    public func echo(association: UInt64) -> DimseAnswer {
        open.withLock { $0[association]?.echoes += 1 }
        return DimseAnswer(.success)
    }

    public func store(association: UInt64, file: String, sopClassUID: String, sopInstanceUID: String,
                      transferSyntaxUID: String) -> DimseAnswer {
        guard let context = context(association) else { return DimseAnswer(.outOfResources, comment: "unknown association") }
        guard context.peer.permissions.contains(.store) else {
            failure(DimseStatus(0x0124))
            logger.notice("C-STORE refused: peer may not store", metadata: log(association))
            refusals?.operationRefused(context, action: "store", reason: "this AE may not store")
            return DimseAnswer(DimseStatus(0x0124), comment: "this AE may not store")
        }
        // stat(2), not FileManager's attributes: those read /etc/passwd and /etc/group for the owner.
        var st = stat()
        let size = stat(file, &st) == 0 ? Int(st.st_size) : 0
        let answer = storage.store(file: file, sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
                                   transferSyntaxUID: transferSyntaxUID, context: context)
        if answer.status.isFailure {
            storeRefused(association: association, sopInstanceUID: sopInstanceUID, answer: answer)
        } else {
            open.withLock { $0[association]?.stores += 1 }
            instances.increment()
            receivedBytes.increment(by: Int64(size))
        }
        return answer
    }

    /// A failed C-STORE, answered here or by the shim itself: counted and logged.
    public func storeRefused(association: UInt64, sopInstanceUID: String, answer: DimseAnswer) {
        open.withLock { $0[association]?.storeFailures += 1 }
        failure(answer.status)
        logger.warning("C-STORE failed", metadata: log(association).merging([
            "dicom.status": "\(answer.status)", "dicom.sop_instance_uid": "\(sopInstanceUID)",
            "error": "\(answer.comment ?? "")"]) { a, _ in a })
    }

    public func find(association: UInt64, model: QueryRetrieveModel, identifier: DicomFile, fuzzyNames: Bool,
                     respond: (DicomFile) -> Bool) -> DimseAnswer {
        guard let context = context(association) else { return DimseAnswer(.outOfResources, comment: "unknown association") }
        open.withLock { $0[association]?.finds += 1 }
        guard context.peer.permissions.contains(.query) else {
            failure(DimseStatus(0x0124))
            logger.notice("C-FIND refused: peer may not query", metadata: log(association))
            refusals?.operationRefused(context, action: "query", reason: "this AE may not query")
            return DimseAnswer(DimseStatus(0x0124), comment: "this AE may not query")
        }
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            findLatency.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        var request: FindRequest
        do {
            request = try FindRequest(identifier: identifier, model: model)
            request.fuzzyNames = fuzzyNames
        } catch {
            failure(error.status)
            logger.notice("C-FIND refused: \(error.message)", metadata: log(association))
            return DimseAnswer(error.status, comment: error.message)
        }
        var matches = 0
        var cancelled = false
        var buildError: String?
        // Where the matches can be retrieved from (C-MOVE, C-GET): this node.
        let retrieveAETitle = request.returnKeys.contains(.retrieveAETitle) ? configuration.aeTitle : nil
        let answer = query.find(request, context: context, limit: configuration.maxFindMatches) { match in
            do throws(DcmtkError) {
                var attributes = match.attributes
                if let retrieveAETitle { attributes[.retrieveAETitle] = retrieveAETitle }
                let response = try Self.response(for: request, attributes: attributes, sequences: match.sequences)
                matches += 1
                cancelled = respond(response)
                return cancelled
            } catch {
                buildError = error.message
                return true
            }
        }
        if let buildError {
            failure(.outOfResources)
            logger.warning("C-FIND failed: cannot build a response", metadata: log(association).merging([
                "error": "\(buildError)"]) { a, _ in a })
            return DimseAnswer(.outOfResources, comment: "cannot build a response: \(buildError)")
        }
        if answer.status.isFailure {
            // Refused by the index (a malformed date or range, 0xA900) or failed there (0xA700).
            failure(answer.status)
            logger.notice("C-FIND refused: \(answer.comment ?? "\(answer.status)")", metadata: log(association).merging([
                "dicom.status": "\(answer.status)"]) { a, _ in a })
        }
        logger.debug("C-FIND", metadata: log(association).merging([
            "dicom.level": "\(request.level.rawValue)", "dicom.matches": "\(matches)", "dicom.cancelled": "\(cancelled)"]) { a, _ in a })
        return cancelled ? DimseAnswer(.cancel) : answer
    }

    public func retrieve(association: UInt64, kind: RetrieveKind, model: QueryRetrieveModel,
                         identifier: DicomFile) -> RetrieveResolution {
        guard let context = context(association) else { return .refuse(.outOfResources, comment: "unknown association") }
        open.withLock {
            if case .get = kind { $0[association]?.gets += 1 } else { $0[association]?.moves += 1 }
        }
        guard context.peer.permissions.contains(.retrieve) else {
            failure(DimseStatus(0x0124))
            logger.notice("retrieve refused: peer may not retrieve", metadata: log(association))
            refusals?.operationRefused(context, action: "retrieve", reason: "this AE may not retrieve")
            return .refuse(DimseStatus(0x0124), comment: "this AE may not retrieve")
        }
        var destination: (host: String, port: UInt16)? = nil
        if case .move(let ae) = kind {
            guard let peer = configuration.peer(aeTitle: ae), let host = peer.host, let port = peer.port else {
                failure(DimseStatus(0xA801))
                logger.notice("C-MOVE refused: unknown destination \(ae)", metadata: log(association))
                return .refuse(DimseStatus(0xA801), comment: "move destination \(ae) unknown")
            }
            destination = (host, port)
        }
        let request: FindRequest
        do {
            request = try FindRequest(identifier: identifier, model: model)
        } catch {
            return .refuse(error.status, comment: error.message)
        }
        switch retrieve.files(for: request, context: context) {
        case .failure(let error):
            failure(error.status)
            return .refuse(error.status, comment: error.message)
        case .success(let files):
            logger.info(kind == .get ? "C-GET" : "C-MOVE", metadata: log(association).merging([
                "dicom.level": "\(request.level.rawValue)", "dicom.instances": "\(files.count)"]) { a, _ in a })
            return .send(files, destination: destination)
        }
    }

    /// A C-FIND response: the return keys asked for, the level's unique key, QueryRetrieveLevel
    /// and SpecificCharacterSet ISO_IR 192 (all text is UTF-8) — nothing else.
    static func response(for request: FindRequest, attributes: [DicomTag: String],
                         sequences: [DicomTag: [[DicomTag: String]]] = [:]) throws(DcmtkError) -> DicomFile {
        let response = try DicomFile.empty()
        try response.put("ISO_IR 192", for: .specificCharacterSet)
        try response.put(request.level.rawValue, for: FindRequest.queryRetrieveLevel)
        var keys = request.returnKeys
        let unique = FindRequest.uniqueKey(of: request.level)
        if !keys.contains(unique) { keys.append(unique) }
        for tag in keys {
            if request.sequenceKeys.contains(tag) {
                if let items = sequences[tag], !items.isEmpty {
                    for (index, item) in items.enumerated() {
                        for (itemTag, value) in item.sorted(by: { $0.key < $1.key }) {
                            try response.put(value, at: [(tag, index), (itemTag, 0)])
                        }
                    }
                } else {
                    // A binary return key (OB, OW, ...) has no value here and no empty sequence
                    // form: it is left out rather than failing the query.
                    try? response.putEmptySequence(tag)
                }
            } else {
                try response.put(attributes[tag] ?? "", for: tag)
            }
        }
        return response
    }
}
