import Foundation
import Logging
import DcmtkBridge
import DicomIndex
import DicomIndexSQLite
import DicomStorage

/// The composition root: opens the store and the index named by a configuration and wires the
/// ingest pipeline over them. Holds wiring, not logic.
public final class ImagingIndexNode: Sendable {
    public let configuration: Configuration
    public let store: FileStore
    public let index: any IndexStore
    public let pipeline: IngestPipeline

    public init(configuration: Configuration, logger: Logger = Logger(label: "imaging-index")) throws(ImagingIndexError) {
        self.configuration = configuration
        do {
            try Dcmtk.initialize()
        } catch {
            throw ImagingIndexError(.configuration, "DCMTK cannot start: \(error.message)", underlying: error)
        }
        do {
            store = try FileStore(root: configuration.dataDirectory)
        } catch {
            throw ImagingIndexError(.io, "cannot open the data directory: \(error.message)", underlying: error)
        }
        let leftovers = store.removeTemporaryFiles()
        if leftovers > 0 {
            logger.notice("removed temporary files left by an interrupted write", metadata: ["count": "\(leftovers)"])
        }
        do {
            index = try SQLiteIndexStore(path: configuration.indexPath)
        } catch {
            throw ImagingIndexError(.indexUnavailable, "cannot open the index: \(error.description)", underlying: error)
        }
        pipeline = IngestPipeline(store: store, index: index, policy: configuration.policy,
                                  duplicatePolicy: configuration.duplicatePolicy, identity: configuration.identity,
                                  maxCommitBatch: configuration.maxCommitBatch, logger: logger)
    }

    public func shutdown() { pipeline.shutdown() }
}
