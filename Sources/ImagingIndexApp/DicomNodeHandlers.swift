import Foundation
import Logging
import DicomCore
import DcmtkBridge
import DicomIndex
import DicomNetwork
import DicomStorage
import PatientIdentity
import AuditTrail
import AccessControl

/// Wires the DIMSE handlers to the ingest pipeline and the index: C-STORE into the pipeline,
/// C-FIND and C-MOVE/C-GET out of the index (queries never read files).
struct DicomNodeHandlers: StoreHandler, QueryHandler, RetrieveHandler, RefusalObserver {
    let pipeline: IngestPipeline
    let index: any IndexStore
    let store: FileStore
    let extraTags: [DicomTag]
    let identity: CitizenIDRules
    let audit: AuditLog?
    let logger: Logger

    // MARK: C-STORE

    func store(file: String, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
               context: AssociationContext) -> DimseAnswer {
        do {
            _ = try pipeline.ingestReceivedFile(file, origin: .dimse, sourceAETitle: context.callingAETitle,
                                                hospital: context.peer.hospital, expected: (sopClassUID, sopInstanceUID),
                                                source: "association \(context.id)")
            record(context, action: "store", detail: "SOPInstanceUID=\(sopInstanceUID)", outcome: "ok", results: 1)
            return DimseAnswer(.success)
        } catch {
            let status = Self.status(for: error)
            record(context, action: "store", detail: "SOPInstanceUID=\(sopInstanceUID)", outcome: "\(status)")
            return DimseAnswer(status, comment: Self.comment(for: error))
        }
    }

    /// PS3.4 C-STORE statuses for each failure.
    static func status(for error: ImagingIndexError) -> DimseStatus {
        switch error.code {
        case .notDicom, .corrupt, .conflict: .cannotUnderstand            // 0xC000
        case .doesNotMatchRequest: .dataSetDoesNotMatchSOPClass            // 0xA900
        case .outOfSpace, .indexUnavailable, .io, .configuration, .notFound: .outOfResources  // 0xA700
        case .duplicateRejected: .duplicateSOPInstance                     // 0x0111
        }
    }

    static func comment(for error: ImagingIndexError) -> String {
        switch error.code {
        case .notDicom: "not a DICOM data set"
        case .corrupt:
            // Which identifying attribute is missing, e.g. "StudyInstanceUID (0020,000D) is missing
            // or empty", fits the 64 characters of an Error Comment: the sender's admin can act on it.
            if let missing = error.underlying as? DcmtkError, missing.code == .missingAttribute, missing.message.count <= 64 {
                missing.message
            } else {
                "malformed data set or identifying attribute missing"
            }
        case .doesNotMatchRequest: "data set differs from the request's SOP class/instance"
        case .outOfSpace: "storage full"
        case .indexUnavailable: "index unavailable"
        case .io, .configuration, .notFound: "storage error"
        case .duplicateRejected: "SOP instance already stored"
        case .conflict:
            switch error.conflict {
            case .instanceElsewhere?: "SOP Instance UID used in another study or series"
            case .seriesInAnotherStudy?: "series belongs to another study"
            case .studyOfAnotherPatient?, nil: "study belongs to another patient"
            }
        }
    }

    /// One audit record for a DIMSE operation (never fails the operation).
    func record(_ context: AssociationContext, action: String, patients: [String] = [], studies: [String] = [],
                detail: String, outcome: String, results: Int = 0) {
        guard let audit else { return }
        let logger = self.logger
        // Every query or retrieve of an emergency peer is an override of the sharing consent.
        let override = context.peer.emergencyOverride && action != "store" && !outcome.hasPrefix("refused")
            ? "emergency AE \(context.callingAETitle)" : nil
        if override != nil {
            logger.notice("emergency override of the sharing consent", metadata: [
                "dicom.association_id": "\(context.id)", "dicom.calling_ae": "\(context.callingAETitle)",
                "dicom.action": "\(action)", "dicom.results": "\(results)"])
        }
        audit.record(AuditRecord(actor: "ae:\(context.callingAETitle)", hospital: context.peer.hospital, via: "dimse",
                                 address: context.peerHost, action: action, patients: patients, studies: studies,
                                 detail: detail, outcome: outcome, results: results, override: override)) { error in
            logger.error("audit trail not written", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Refusals

    func associationRejected(_ request: AssociationRequest, reason: String) {
        audit?.record(AuditRecord(actor: "ae:\(request.callingAETitle)", via: "dimse", address: request.peerHost,
                                  action: "associate", detail: "called \(request.calledAETitle)\(request.tls ? " over TLS" : "")",
                                  outcome: "refused (\(reason))")) { [logger] error in
            logger.error("audit trail not written", metadata: ["error": "\(error)"])
        }
    }

    func operationRefused(_ context: AssociationContext, action: String, reason: String) {
        record(context, action: action, detail: reason, outcome: "refused (0x0124)")
    }

    static func describe(_ keys: [DicomTag: String]) -> String {
        keys.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// The sharing consent for a DIMSE peer: its own hospital's studies of an opted-out person,
    /// unless it is a configured emergency AE.
    static func sharingRestriction(_ context: AssociationContext) -> String? {
        SharingScope.restriction(for: Principal(actor: "ae:\(context.callingAETitle)", hospital: context.peer.hospital,
                                                permissions: []),
                                 override: context.peer.emergencyOverride ? "emergency AE" : nil)
    }

    // MARK: C-FIND

    func find(_ request: FindRequest, context: AssociationContext, limit: Int,
              emit: (FindAnswer) -> Bool) -> DimseAnswer {
        var query = IndexQuery(level: request.level, dicomKeys: request.keys, extraTags: extraTags,
                               nameMatching: request.fuzzyNames ? .folded : .caseInsensitive, limit: limit + 1)
        query.sharingRestriction = Self.sharingRestriction(context)
        query.countPatients(returning: request.returnKeys)
        let citizen = citizenLookup(request.keys, level: request.level)
        if let citizen {
            // The person across hospitals: every local patient linked to the citizen ID.
            query.filters[.patientID] = nil
            query.filters[.issuerOfPatientID] = nil
            query.citizenID = citizen.value
            if request.level == .patient { query.limit = nil }
        }
        let matches: [QueryMatch]
        do {
            matches = try index.query(query)
        } catch {
            if error.code == .invalidQuery {
                return DimseAnswer(.dataSetDoesNotMatchSOPClass, comment: String(error.message.prefix(64)))
            }
            logger.error("C-FIND: the index failed", metadata: ["error": "\(error)"])
            record(context, action: "query", detail: Self.describe(request.keys), outcome: "failed")
            return DimseAnswer(.outOfResources, comment: "index unavailable")
        }
        // Recorded when the answers are known: the patients and studies they reveal.
        let shown = matches.prefix(limit)
        record(context, action: "query",
               patients: Array(Set(shown.map(\.patient.patientID) + (citizen.map { [$0.value] } ?? []))).sorted(),
               studies: Array(Set(shown.compactMap { $0.study?.studyInstanceUID })).sorted(),
               detail: Self.describe(request.keys), outcome: "ok",
               results: citizen != nil && request.level == .patient ? min(shown.count, 1) : shown.count)
        if let citizen, request.level == .patient {
            // One answer for the person, each hospital's local ID in OtherPatientIDsSequence.
            guard !matches.isEmpty else { return DimseAnswer(.success) }
            return emit(Self.personAnswer(citizen, matches: matches, nationalIssuer: identity.nationalIssuer))
                ? DimseAnswer(.cancel) : DimseAnswer(.success)
        }
        if matches.count > limit {
            logger.warning("C-FIND matches cut at the configured maximum",
                           metadata: ["dicom.association_id": "\(context.id)", "dicom.max_matches": "\(limit)"])
        }
        let wantsSOPClasses = request.returnKeys.contains(.sopClassesInStudy)
        for match in matches.prefix(limit) {
            var answer = FindAnswer(match.dicomAttributes(),
                                    sequences: [.otherPatientIDsSequence: Self.otherIDItems(match.patient)])
            if wantsSOPClasses, let study = match.study {
                answer.attributes[.sopClassesInStudy] = ((try? index.sopClasses(inStudy: study.studyInstanceUID)) ?? [])
                    .joined(separator: "\\")
            }
            if let citizen {
                answer.attributes[.patientID] = citizen.value
                answer.attributes[.issuerOfPatientID] = identity.nationalIssuer
                answer.sequences[.otherPatientIDsSequence] = [Self.localIDItem(match.patient)]
            }
            if emit(answer) { return DimseAnswer(.cancel) }
        }
        return DimseAnswer(.success)
    }

    /// A look-up by citizen ID: PatientID holds a valid citizen ID and IssuerOfPatientID is the
    /// national issuer; below PATIENT level, also a citizen ID without issuer next to a Study
    /// Instance UID (a viewer drilling into a study it found that way).
    func citizenLookup(_ keys: [DicomTag: String], level: QueryLevel) -> CitizenID? {
        identity.lookup(keys, acceptingNoIssuer: level > .patient && !(keys[.studyInstanceUID] ?? "").isEmpty)
    }

    static func personAnswer(_ citizen: CitizenID, matches: [QueryMatch], nationalIssuer: String) -> FindAnswer {
        // Demographics of the record with the most studies (ties: the first linked).
        let main = matches.max { $0.patient.numberOfStudies < $1.patient.numberOfStudies }!
        var attributes = main.dicomAttributes()
        attributes[.patientID] = citizen.value
        attributes[.issuerOfPatientID] = nationalIssuer
        attributes[.numberOfPatientRelatedStudies] = String(matches.reduce(0) { $0 + $1.patient.numberOfStudies })
        attributes[.numberOfPatientRelatedSeries] = String(matches.reduce(0) { $0 + $1.patient.numberOfSeries })
        attributes[.numberOfPatientRelatedInstances] = String(matches.reduce(0) { $0 + $1.patient.numberOfInstances })
        attributes[.otherPatientIDs] = matches.map(\.patient.patientID).joined(separator: "\\")
        return FindAnswer(attributes, sequences: [.otherPatientIDsSequence: matches.map { localIDItem($0.patient) }])
    }

    static func localIDItem(_ patient: PatientRecord) -> [DicomTag: String] {
        var item: [DicomTag: String] = [.patientID: patient.patientID, .typeOfPatientID: "TEXT"]
        if !patient.issuerOfPatientID.isEmpty { item[.issuerOfPatientID] = patient.issuerOfPatientID }
        return item
    }

    static func otherIDItems(_ patient: PatientRecord) -> [[DicomTag: String]] {
        patient.otherPatientIDs.map { other in
            var item: [DicomTag: String] = [.patientID: other.id, .typeOfPatientID: other.type ?? "TEXT"]
            if let issuer = other.issuer, !issuer.isEmpty { item[.issuerOfPatientID] = issuer }
            return item
        }
    }

    // MARK: C-MOVE / C-GET

    func files(for request: FindRequest, context: AssociationContext) -> Result<[RetrieveFile], NetworkError> {
        // Retrieve by the unique keys of the levels down to the request's level.
        var keys: [DicomTag: String] = [:]
        for tag in [DicomTag.patientID, .issuerOfPatientID, .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID] {
            if let value = request.keys[tag], !value.isEmpty { keys[tag] = value }
        }
        guard keys[FindRequest.uniqueKey(of: request.level)] != nil else {
            return .failure(NetworkError(.identifierDoesNotMatch,
                                         "the unique key of the \(request.level.rawValue) level is missing"))
        }
        // A retrieve names entities: no wildcards (PatientID=* would move every patient);
        // UID lists are allowed (PS3.4 C.4.2.2.1).
        if let id = keys[.patientID], id.contains("*") || id.contains("?") || id.contains("\\") {
            return .failure(NetworkError(.identifierDoesNotMatch, "PatientID must be a single value to retrieve"))
        }
        for tag in [DicomTag.studyInstanceUID, .seriesInstanceUID, .sopInstanceUID] {
            if let uid = keys[tag], uid.contains("*") || uid.contains("?") {
                return .failure(NetworkError(.identifierDoesNotMatch, "UIDs must not hold wildcards to retrieve"))
            }
        }
        do {
            var query = IndexQuery(level: .instance, dicomKeys: keys, nameMatching: .exact)
            query.sharingRestriction = Self.sharingRestriction(context)
            if let citizen = citizenLookup(request.keys, level: request.level) {
                query.filters[.patientID] = nil
                query.filters[.issuerOfPatientID] = nil
                query.citizenID = citizen.value
            }
            let matches = try index.query(query)
            record(context, action: "retrieve", patients: Array(Set(matches.map(\.patient.patientID))).sorted(),
                   studies: Array(Set(matches.compactMap { $0.study?.studyInstanceUID })).sorted(),
                   detail: Self.describe(request.keys), outcome: "ok", results: matches.count)
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
