import Foundation
import Logging
import Synchronization
import Metrics
import DicomCore
import DcmtkBridge
import DicomIndex
import DicomStorage
import PatientIdentity

/// The one way instances enter ImagingIndex — network, HTTP, import and reindex alike:
/// parse → check → store the file durably → commit its index rows (group commit) → report.
/// A caller hears "stored" only after both the file and its rows are durable. After that,
/// `onStored` is told the instance's series and study (thumbnails); it must not block.
///
/// Blocking: call from worker or DCMTK threads, never from Swift's cooperative pool.
public final class IngestPipeline: Sendable {
    public enum Origin: String, Sendable {
        case importFile = "import"
        case dimse
        case stow
        case reindex
    }

    public enum Outcome: Sendable, Hashable {
        case stored(sopInstanceUID: String, bytes: Int64)
        /// A second copy under `keepFirst`: nothing written.
        case duplicate(sopInstanceUID: String)
        /// A second copy under `replace`: stored in place of the first.
        case replaced(sopInstanceUID: String, bytes: Int64)
        /// Reindex: the row was made again from the stored file.
        case reindexed(sopInstanceUID: String, bytes: Int64)
    }

    public struct Counters: Sendable, Hashable {
        public var stored = 0
        public var duplicates = 0
        public var replaced = 0
        public var failures = 0
    }

    public let store: FileStore
    public let index: any IndexStore
    public let policy: IndexingPolicy
    public let duplicatePolicy: Configuration.DuplicatePolicy
    /// Where each sending hospital puts the citizen ID (and its local issuer).
    public let identity: CitizenIDRules
    /// The hospital of each configured DIMSE peer, by AE title.
    public let hospitalsByAETitle: [String: String]
    private let committer: GroupCommitter
    private let locks = KeyedLocks()
    private let counters = Mutex(Counters())
    private let logger: Logger
    /// Called after an instance's rows are committed (stored, replaced or reindexed), with its
    /// SeriesInstanceUID and StudyInstanceUID. Must return at once (it runs before the caller hears
    /// "stored").
    public typealias StoredObserver = @Sendable (_ seriesInstanceUID: String, _ studyInstanceUID: String) -> Void
    private let onStored: StoredObserver?

    public init(store: FileStore, index: any IndexStore, policy: IndexingPolicy,
                duplicatePolicy: Configuration.DuplicatePolicy, identity: CitizenIDRules = CitizenIDRules(),
                hospitalsByAETitle: [String: String] = [:], maxCommitBatch: Int = 512, logger: Logger = Logger(label: "imaging-index.ingest"),
                onStored: StoredObserver? = nil) {
        self.identity = identity
        self.hospitalsByAETitle = hospitalsByAETitle
        self.store = store
        self.index = index
        self.policy = policy
        self.duplicatePolicy = duplicatePolicy
        let commits = Counter(label: "index_commits_total")
        let committed = Counter(label: "index_committed_instances_total")
        let commitTimer = Metrics.Timer(label: "index_commit_duration_seconds")
        self.committer = GroupCommitter(store: index, maxBatch: maxCommitBatch, barrier: StagedFilePublisher(store: store)) {
            writes, seconds in
            commits.increment()
            committed.increment(by: writes)
            commitTimer.recordNanoseconds(Int64(seconds * 1e9))
        }
        self.logger = logger
        self.onStored = onStored
    }

    /// Commits what is queued and stops accepting instances.
    public func shutdown() {
        committer.shutdown()
        let (transactions, largest) = committer.batchStatistics
        let counts = statistics
        logger.info("ingest stopped", metadata: [
            "ingest.stored": "\(counts.stored)", "ingest.duplicates": "\(counts.duplicates)",
            "ingest.replaced": "\(counts.replaced)", "ingest.failures": "\(counts.failures)",
            "index.transactions": "\(transactions)", "index.largest_batch": "\(largest)"])
    }

    public var statistics: Counters { counters.withLock { $0 } }
    public var commitStatistics: (transactions: Int, largestBatch: Int) { committer.batchStatistics }

    /// Ingests one DICOM object held in memory. `source` names it in errors and logs (a path
    /// or an association id, never patient data).
    public func ingest(_ data: Data, origin: Origin, sourceAETitle: String? = nil, hospital: String? = nil,
                       source: String) throws(ImagingIndexError) -> Outcome {
        // On its way to the committer (concurrent instances share a batch): submitted or withdrawn.
        committer.announce()
        var announced = true
        defer { if announced { committer.withdraw() } }
        do {
            return try ingestUnchecked(data, origin: origin, sourceAETitle: sourceAETitle, hospital: hospital, source: source,
                                       announced: &announced)
        } catch {
            if !error.isBadInput { counters.withLock { $0.failures += 1 } }
            throw error
        }
    }

    /// Ingests a received file that already lies in the store's `tmp/` folder (C-STORE): it is
    /// moved into place rather than copied. `expected` is the SOP class and instance the request
    /// announced; a data set that is another one is refused. The file is gone afterwards,
    /// whatever the outcome. `hospital`: the sender's (the DIMSE peer's, the STOW caller's).
    public func ingestReceivedFile(_ path: String, origin: Origin, sourceAETitle: String?, hospital: String? = nil,
                                   expected: (sopClassUID: String, sopInstanceUID: String)?,
                                   source: String) throws(ImagingIndexError) -> Outcome {
        committer.announce()  // submitted or withdrawn below
        var announced = true
        // Whether the file is gone already: renamed into the store, or a duplicate's copy
        // removed. Otherwise it is removed here. (Each unlink, of something or nothing, takes
        // tmp/'s lock against the other receiving threads' creates and renames.)
        var gone = false
        defer {
            if announced { committer.withdraw() }
            if !gone { unlink(path) }
        }
        do throws(ImagingIndexError) {
            let data: Data
            do {
                data = try FileStore.readFile(path)
            } catch {
                throw ImagingIndexError(.io, "\(source): cannot read the received data set")
            }
            let file = try parse(data, source: source)
            let metadata = try extract(file, source: source, looksLikePart10: IngestPipeline.hasPart10Preamble(data))
            if let expected, expected.sopClassUID != metadata.instance.sopClassUID
                || expected.sopInstanceUID != metadata.instance.sopInstanceUID {
                throw ImagingIndexError(.doesNotMatchRequest,
                                        "\(source): the data set's SOP class/instance differs from the C-STORE request's")
            }
            let outcome = try commit(metadata, origin: origin, sourceAETitle: sourceAETitle, hospital: hospital,
                                     source: source, announced: &announced) { () throws(StorageError) in
                if file.hasPart10Header {
                    return try store.stage(temporaryFile: path, sopInstanceUID: metadata.instance.sopInstanceUID, contents: data)
                }
                return try store.stage(try part10(data, source: source), sopInstanceUID: metadata.instance.sopInstanceUID)
            }
            // `commit` moved the staged file into the store or removed it (a duplicate): that is
            // this file, unless the data set was rewritten as a Part 10 file.
            gone = file.hasPart10Header
            return outcome
        } catch {
            if !error.isBadInput { counters.withLock { $0.failures += 1 } }
            throw error
        }
    }

    private func part10(_ data: Data, source: String) throws(StorageError) -> Data {
        do {
            return try DicomFile(data: data, options: [.keepOriginalCharacterSet], source: source).part10Data()
        } catch {
            throw StorageError(.io, "cannot be rewritten as a Part 10 file: \(error.message)")
        }
    }

    private func ingestUnchecked(_ data: Data, origin: Origin, sourceAETitle: String?, hospital: String?,
                                 source: String, announced: inout Bool) throws(ImagingIndexError) -> Outcome {
        let file = try parse(data, source: source)
        let metadata = try extract(file, source: source, looksLikePart10: IngestPipeline.hasPart10Preamble(data))

        // Objects without a Part 10 header are stored as proper Part 10 files.
        let sop = metadata.instance.sopInstanceUID
        return try commit(metadata, origin: origin, sourceAETitle: sourceAETitle, hospital: hospital,
                          source: source, announced: &announced) { () throws(StorageError) in
            try store.stage(file.hasPart10Header ? data : try part10(data, source: source), sopInstanceUID: sop)
        }
    }

    /// The duplicate policy, the durable file, the index commit: shared by every source. The file
    /// is staged; the group committer makes the batch's files durable and puts them in place
    /// (`StagedFilePublisher`) before it commits their rows. Whether the SOP instance is already
    /// stored is decided in the index transaction itself (no look-up before: a duplicate is rare,
    /// and its staged copy is simply not put in place).
    /// `announced`: the write was announced to the committer; cleared once submitted.
    private func commit(_ metadata: InstanceMetadata, origin: Origin, sourceAETitle: String?, hospital: String?,
                        source: String, announced: inout Bool,
                        storeFile: () throws(StorageError) -> StagedFile) throws(ImagingIndexError) -> Outcome {
        let sop = metadata.instance.sopInstanceUID
        let sendingAE = sourceAETitle ?? metadata.instance.sourceApplicationEntityTitle
        return try locks.withLock(sop) { () throws(ImagingIndexError) -> Outcome in
            let staged: StagedFile
            do throws(StorageError) {
                staged = try storeFile()
            } catch {
                let code: ImagingIndexError.Code = error.code == .outOfSpace ? .outOfSpace : .io
                throw ImagingIndexError(code, "\(source): cannot store the file: \(error.message)", underlying: error)
            }
            let stored = staged.stored
            let (identified, citizen) = identify(metadata, sendingAE: sendingAE, source: source)
            var write = InstanceWrite(metadata: identified, path: stored.relativePath, fileSize: stored.size,
                                      checksum: stored.checksum, receivedAt: stored.modified, sourceAETitle: sendingAE,
                                      origin: origin.rawValue, policy: policy.fingerprint,
                                      mode: duplicatePolicy == .replace ? .replaceIfPresent : .insertIfAbsent, citizen: citizen,
                                      hospital: hospital ?? self.hospital(sendingAE: sendingAE, metadata: metadata))
            write.stagedFrom = staged.temporaryPath
            let result: InstanceWriteResult
            do throws(IndexError) {
                let wasAnnounced = announced
                announced = false
                result = try committer.submit(write, announced: wasAnnounced)
            } catch {
                unlink(staged.temporaryPath)  // still in tmp/ when its batch never got that far
                // Put in place, then the commit failed: a file no row names is removed.
                if (try? index.containsInstance(sopInstanceUID: sop)) == false {
                    try? store.remove(relativePath: stored.relativePath)
                }
                if error.code == .conflict {
                    logger.warning("instance refused: it would move a study or series to another patient or study",
                                   metadata: ["dicom.sop_instance_uid": "\(sop)", "ingest.source": "\(source)",
                                              "reason": "\(error.message)"])
                    throw ImagingIndexError(conflict: error.conflict ?? .studyOfAnotherPatient, "\(source): \(error.message)",
                                            underlying: error)
                }
                if error.code == .storage {
                    let full = (error.underlying as? StorageError)?.code == .outOfSpace
                    throw ImagingIndexError(full ? .outOfSpace : .io, "\(source): cannot store the file: \(error.message)",
                                            underlying: error)
                }
                throw ImagingIndexError(.indexUnavailable, "\(source): the index could not record it: \(error.message)",
                                        underlying: error)
            }
            switch result {
            case .alreadyPresent:
                unlink(staged.temporaryPath)  // the stored copy stays
                return try duplicate(metadata, source: source)
            case .updated:
                onStored?(metadata.series.seriesInstanceUID, metadata.study.studyInstanceUID)
                counters.withLock { $0.replaced += 1 }
                logger.notice("duplicate SOP instance: replaced", metadata: ["dicom.sop_instance_uid": "\(sop)"])
                return .replaced(sopInstanceUID: sop, bytes: stored.size)
            case .inserted:
                onStored?(metadata.series.seriesInstanceUID, metadata.study.studyInstanceUID)
                counters.withLock { $0.stored += 1 }
                return .stored(sopInstanceUID: sop, bytes: stored.size)
            }
        }
    }

    /// A second copy of a stored SOP instance, under `keepFirst` or `reject` (the index kept the
    /// first). Under `keepFirst`, a "copy" in another study or series is not a copy but a clash
    /// (two instances under one UID): refused, not acknowledged as kept.
    private func duplicate(_ metadata: InstanceMetadata, source: String) throws(ImagingIndexError) -> Outcome {
        let sop = metadata.instance.sopInstanceUID
        if duplicatePolicy == .reject {
            throw ImagingIndexError(.duplicateRejected, "\(source): SOP instance \(sop) is already stored")
        }
        if let stored = try? index.query(IndexQuery(level: .instance, filters: [.sopInstanceUID: sop])).first,
           stored.study?.studyInstanceUID != metadata.study.studyInstanceUID
            || stored.series?.seriesInstanceUID != metadata.series.seriesInstanceUID {
            logger.warning("instance refused: its SOP Instance UID is stored in another study or series",
                           metadata: ["dicom.sop_instance_uid": "\(sop)", "ingest.source": "\(source)"])
            throw ImagingIndexError(conflict: .instanceElsewhere, "\(source): SOP instance \(sop) is stored in another study or series")
        }
        counters.withLock { $0.duplicates += 1 }
        logger.notice("duplicate SOP instance: first copy kept",
                      metadata: ["dicom.sop_instance_uid": "\(sop)", "ingest.source": "\(source)"])
        return .duplicate(sopInstanceUID: sop)
    }

    /// Makes the index rows of a file already in the store again (reindex). Nothing is written
    /// to the store; the row is inserted or replaced.
    public func reindexStoredFile(relativePath: String) throws(ImagingIndexError) -> Outcome {
        let data: Data
        do {
            data = try store.read(relativePath: relativePath)
        } catch {
            throw ImagingIndexError(.io, "\(relativePath): \(error.message)", underlying: error)
        }
        let file = try parse(data, source: relativePath)
        let metadata = try extract(file, source: relativePath, looksLikePart10: IngestPipeline.hasPart10Preamble(data))
        let checksum = FileStore.sha256Hex(data)
        let sendingAE = metadata.instance.sourceApplicationEntityTitle
        let (identified, citizen) = identify(metadata, sendingAE: sendingAE, source: relativePath)
        let write = InstanceWrite(metadata: identified, path: relativePath, fileSize: Int64(data.count), checksum: checksum,
                                  receivedAt: store.modificationDate(relativePath: relativePath) ?? Date(),
                                  sourceAETitle: sendingAE, origin: Origin.reindex.rawValue,
                                  policy: policy.fingerprint, mode: .upsert, citizen: citizen,
                                  hospital: hospital(sendingAE: sendingAE, metadata: metadata))
        do {
            _ = try committer.submit(write)
        } catch {
            throw ImagingIndexError(.indexUnavailable, "\(relativePath): the index could not record it: \(error.message)",
                                    underlying: error)
        }
        onStored?(metadata.series.seriesInstanceUID, metadata.study.studyInstanceUID)
        return .reindexed(sopInstanceUID: metadata.instance.sopInstanceUID, bytes: Int64(data.count))
    }

    /// The hospital's rule: the local issuer for a PatientID sent without one, and the citizen
    /// ID (linked in the instance's own index transaction). Identical for import, network and
    /// reindex, since the sending AE title is kept in the stored file's meta header.
    private func identify(_ metadata: InstanceMetadata, sendingAE: String?,
                          source: String) -> (InstanceMetadata, CitizenIDExtraction) {
        var m = metadata
        let institution = m.study.institutionName
        if (m.patient.patientID ?? "").trimmingDicomPadding().isEmpty {
            // No PatientID: a patient of this study alone (`PatientRecord.unidentifiedIssuer`).
            m.patient.patientID = ""
            m.patient.issuerOfPatientID = PatientRecord.unidentifiedIssuer(studyInstanceUID: m.study.studyInstanceUID)
        } else if (m.patient.issuerOfPatientID ?? "").isEmpty,
           let local = identity.localIssuer(callingAETitle: sendingAE, institutionName: institution) {
            m.patient.issuerOfPatientID = local
        }
        let citizen = identity.extract(m.patient, callingAETitle: sendingAE, institutionName: institution)
        if !citizen.problems.isEmpty || !citizen.disagreeing.isEmpty {
            // Never the values themselves: they identify a person.
            logger.warning("citizen ID not usable; no link made", metadata: [
                "ingest.source": "\(source)", "identity.rule": "\(citizen.rule)",
                "identity.problems": "\(citizen.problems.joined(separator: "; "))",
                "identity.disagreeing": "\(citizen.disagreeing.count)"])
        }
        return (m, citizen)
    }

    /// The hospital of an instance no caller vouched for: the configured peer of its sending AE
    /// title, else the identity rule matching that AE title or its InstitutionName.
    func hospital(sendingAE: String?, metadata: InstanceMetadata) -> String? {
        if let ae = sendingAE, let hospital = hospitalsByAETitle[ae] { return hospital }
        let rule = identity.rule(callingAETitle: sendingAE, institutionName: metadata.study.institutionName)
        return rule == identity.defaultRule ? nil : rule.name
    }

    private func parse(_ data: Data, source: String) throws(ImagingIndexError) -> DicomFile {
        guard !data.isEmpty else { throw ImagingIndexError(.notDicom, "\(source): empty file") }
        do {
            return try DicomFile(data: data, options: [.skipPixelData], source: source)
        } catch {
            // A file with the DICM marker that fails to parse is damaged DICOM; anything else is not DICOM.
            if IngestPipeline.hasPart10Preamble(data) {
                throw ImagingIndexError(.corrupt, "\(source): malformed or truncated DICOM (\(error.message))", underlying: error)
            }
            throw ImagingIndexError(.notDicom, "\(source): not a DICOM file (\(error.message))", underlying: error)
        }
    }

    private func extract(_ file: DicomFile, source: String, looksLikePart10: Bool) throws(ImagingIndexError) -> InstanceMetadata {
        do {
            let metadata = try file.metadata(extraTags: policy.extraTags)
            if let warning = file.characterSetWarning {
                logger.warning("character set not converted to UTF-8; text kept as encoded",
                               metadata: ["ingest.source": "\(source)", "dcmtk.warning": "\(warning)"])
            }
            return metadata
        } catch {
            throw ImagingIndexError(.corrupt, "\(source): \(error.message)", underlying: error)
        }
    }

    /// Where a file left in the store's `tmp/` belongs, if its index row was committed: the row
    /// of its SOP instance names this path and this very content (its SHA-256), and the file
    /// there is missing or another. nil: it was never acknowledged (or is already in place).
    static func committedDestination(of data: Data, index: any IndexStore, store: FileStore) -> String? {
        guard let file = try? DicomFile(data: data, options: [.skipPixelData], source: "tmp"),
              let sop = try? file.metadata(extraTags: []).instance.sopInstanceUID,
              let row = try? index.instance(sopInstanceUID: sop),
              row.checksum == FileStore.sha256Hex(data) else { return nil }
        if let current = try? store.read(relativePath: row.path), FileStore.sha256Hex(current) == row.checksum { return nil }
        return row.path
    }

    static func hasPart10Preamble(_ data: Data) -> Bool {
        guard data.count >= 132 else { return false }
        let start = data.startIndex + 128
        return data[start] == 0x44 && data[start + 1] == 0x49 && data[start + 2] == 0x43 && data[start + 3] == 0x4D
    }
}
