import Foundation
import AuditTrail
import Logging
import DcmtkBridge
import DicomIndex
import DicomIndexSQLite
import DicomStorage
import Thumbnails

/// The composition root: opens the store and the index named by a configuration and wires the
/// ingest pipeline over them, and the thumbnail generator after it. Holds wiring, not logic.
public final class ImagingIndexNode: Sendable {
    public let configuration: Configuration
    public let store: FileStore
    public let index: any IndexStore
    public let pipeline: IngestPipeline
    /// nil when thumbnails are disabled. Runs only inside `serve`; in the other commands a stored
    /// instance removes its series' cached thumbnails, for the next `serve` to remake.
    public let thumbnails: ThumbnailGenerator?
    /// Who looked at, stored or changed what (append-only, hash-chained).
    public let audit: AuditLog

    public init(configuration: Configuration, logger: Logger = Logger(label: "imaging-index")) throws(ImagingIndexError) {
        self.configuration = configuration
        // Before anything makes a counter: swift-metrics binds each one to the factory of the
        // moment it is made (the thumbnail generator's and the pipeline's are made here).
        _ = Self.bootstrapMetrics()
        do {
            try Dcmtk.initialize()
        } catch {
            throw ImagingIndexError(.configuration, "DCMTK cannot start: \(error.message)", underlying: error)
        }
        let files: FileStore
        do {
            files = try FileStore(root: configuration.dataDirectory)
        } catch {
            throw ImagingIndexError(.io, "cannot open the data directory: \(error.message)", underlying: error)
        }
        let rows: any IndexStore
        do {
            rows = try SQLiteIndexStore(path: configuration.indexPath)
        } catch {
            throw ImagingIndexError(.indexUnavailable, "cannot open the index: \(error.description)", underlying: error)
        }
        store = files
        index = rows
        let (restored, leftovers) = files.recoverTemporaryFiles(destination: { data in
            IngestPipeline.committedDestination(of: data, index: rows, store: files)
        }, isIndexed: { path in
            // When the index cannot say, the file stays.
            (try? rows.instanceLocations(pathPrefix: path))?.contains { $0.path == path } ?? true
        })
        if !restored.isEmpty {
            logger.notice("put in place staged files whose index rows were committed before an interruption",
                          metadata: ["count": "\(restored.count)"])
        }
        if leftovers > 0 {
            logger.notice("removed the files of writes interrupted before they were acknowledged",
                          metadata: ["count": "\(leftovers)"])
        }
        do {
            audit = try AuditLog(path: configuration.auditPath)
        } catch {
            throw ImagingIndexError(.io, "cannot open the audit trail: \(error.description)", underlying: error)
        }
        if configuration.thumbnailsEnabled {
            let cache: ThumbnailCache
            do {
                cache = try ThumbnailCache(root: configuration.thumbnailCacheDirectory)
            } catch {
                throw ImagingIndexError(.io, error.message, underlying: error)
            }
            let maker = ThumbnailMaker(source: IndexThumbnailSource(index: index, store: store),
                                       renderer: ThumbnailRenderer(compressionLevel: configuration.thumbnails.compressionLevel))
            thumbnails = ThumbnailGenerator(maker: maker, cache: cache, settings: configuration.thumbnails,
                                            logger: Logger(label: "imaging-index.thumbnails"))
        } else {
            thumbnails = nil
        }
        var onStored: IngestPipeline.StoredObserver?
        if let generator = thumbnails {
            onStored = { series, study in generator.seriesChanged(seriesInstanceUID: series, studyInstanceUID: study) }
        }
        pipeline = IngestPipeline(store: store, index: index, policy: configuration.policy,
                                  duplicatePolicy: configuration.duplicatePolicy, identity: configuration.identity,
                                  hospitalsByAETitle: configuration.dicom.hospitalsByAETitle, maxCommitBatch: configuration.maxCommitBatch, logger: logger, onStored: onStored)
    }

    public func shutdown() {
        pipeline.shutdown()
        try? audit.flush()  // records queued by the last operations
        store.closeTemporaryFolder()
    }
}
