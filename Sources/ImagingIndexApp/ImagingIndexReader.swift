import Foundation
import DicomIndex
import DicomIndexSQLite
import DicomStorage

/// Read-only access for `find` and `stats`: opens the index without starting the ingest side.
public enum ImagingIndexReader {
    public struct Report: Sendable, Codable {
        public var index: IndexStatistics
        public var storeBytes: Int64
        public var indexBytes: Int64
    }

    public static func open(_ configuration: Configuration) throws(ImagingIndexError) -> any IndexStore {
        guard FileManager.default.fileExists(atPath: configuration.indexPath) else {
            throw ImagingIndexError(.configuration,
                                    "no index at \(configuration.indexPath): import files first, or check --data-dir")
        }
        do {
            return try SQLiteIndexStore(path: configuration.indexPath)
        } catch {
            throw ImagingIndexError(.indexUnavailable, "cannot open the index: \(error.description)", underlying: error)
        }
    }

    public static func statistics(_ configuration: Configuration) throws(ImagingIndexError) -> Report {
        let index = try open(configuration)
        let stats: IndexStatistics
        do {
            stats = try index.statistics(currentPolicy: configuration.policy.fingerprint)
        } catch {
            throw ImagingIndexError(.indexUnavailable, "cannot read the index: \(error.description)", underlying: error)
        }
        var indexBytes: Int64 = 0
        for suffix in ["", "-wal", "-shm"] {
            var st = stat()
            if stat(configuration.indexPath + suffix, &st) == 0 { indexBytes += Int64(st.st_blocks) * 512 }
        }
        let storeBytes = (try? FileStore(root: configuration.dataDirectory).diskUsage()) ?? 0
        return Report(index: stats, storeBytes: storeBytes, indexBytes: indexBytes)
    }
}
