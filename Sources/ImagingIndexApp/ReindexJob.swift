import Foundation
import Logging
import Synchronization
import DicomIndex
import DicomStorage

/// `imaging-index reindex [--stale | --all]`: rebuilds index rows from the stored files.
/// Files never indexed are added, rows whose file vanished are removed; `--all` remakes every
/// row, `--stale` only those made under another indexing policy. Resumable: the store is walked
/// folder by folder in a fixed order, and the last folder finished is kept in the index, so a
/// killed run starts again after it.
public struct ReindexJob: Sendable {
    public enum Mode: String, Sendable, Codable { case stale, all }

    struct Checkpoint: Codable {
        var mode: Mode
        var lastLeaf: String?
        var walkDone: Bool
    }

    static let stateKey = "reindex"

    public let node: ImagingIndexNode
    public let mode: Mode
    public let progress: ProgressReporter.Style
    /// Folders per parallel chunk (checkpoints are written between chunks).
    var chunkFiles = 256

    public init(node: ImagingIndexNode, mode: Mode, progress: ProgressReporter.Style) {
        self.node = node
        self.mode = mode
        self.progress = progress
    }

    /// The interrupted run's mode and progress, if one was interrupted.
    public static func pending(in index: any IndexStore) -> String? {
        (try? index.jobState(stateKey)) ?? nil
    }

    /// `control`: live progress for the admin API, and a stop asked between chunks (the run
    /// then ends at a checkpoint, as if killed there: the next run resumes after it).
    public func run(logger: Logger = Logger(label: "imaging-index.reindex"),
                    control: JobControl? = nil) throws(ImagingIndexError) -> JobSummary {
        let started = Date()
        let index = node.index
        let store = node.store
        let current = node.pipeline.policy.fingerprint

        var checkpoint = Checkpoint(mode: mode, lastLeaf: nil, walkDone: false)
        if let saved = try indexCall({ () throws(IndexError) in try index.jobState(Self.stateKey) }),
           let decoded = try? JSONDecoder().decode(Checkpoint.self, from: Data(saved.utf8)) {
            if decoded.mode == mode {
                checkpoint = decoded
                logger.notice("resuming an interrupted reindex",
                              metadata: ["reindex.mode": "\(mode.rawValue)", "reindex.after": "\(decoded.lastLeaf ?? "-")"])
            } else {
                logger.notice("an interrupted reindex of another mode is restarted as \(mode.rawValue)")
            }
        }
        try save(checkpoint)

        let leaves = store.leafFolders().filter { leaf in
            guard let last = checkpoint.lastLeaf else { return true }
            return leaf > last
        }
        let summary = Mutex(JobSummary())
        let reporter = ProgressReporter(title: "reindex", style: progress)
        // Listing the folders is cheap next to parsing the files: count them for the progress display.
        let fileCount = leaves.reduce(0) { $0 + store.files(inLeaf: $1).count }
        reporter.start(total: fileCount) { summary.withLock { $0 } }
        control?.setTotal(fileCount)
        defer { reporter.stop() }

        if !checkpoint.walkDone {
            var start = 0
            while start < leaves.count {
                // A chunk: enough folders to keep the workers busy.
                var end = start
                var work: [String] = []
                while end < leaves.count && work.count < chunkFiles {
                    let leaf = leaves[end]
                    let files = store.files(inLeaf: leaf)
                    let known = try indexCall { () throws(IndexError) in try index.instanceLocations(pathPrefix: "objects/\(leaf)/") }
                    let knownPolicy = Dictionary(known.map { ($0.path, $0.policy) }, uniquingKeysWith: { a, _ in a })
                    for file in files {
                        if mode == .all || knownPolicy[file] != current { work.append(file) }
                    }
                    end += 1
                }
                let pipeline = node.pipeline
                let chunk = work
                WorkerThreads.forEach(count: chunk.count, workers: node.configuration.workers, name: "reindex") { i in
                    do throws(ImagingIndexError) {
                        let outcome = try pipeline.reindexStoredFile(relativePath: chunk[i])
                        if case .reindexed(_, let bytes) = outcome {
                            summary.withLock { $0.reindexed += 1; $0.bytes += bytes }
                        }
                    } catch {
                        summary.withLock { $0.record(error, file: chunk[i]) }
                    }
                }
                summary.withLock { $0.total += work.count }
                checkpoint.lastLeaf = leaves[end - 1]
                try save(checkpoint)
                start = end
                control?.update(summary.withLock { $0 })
                if control?.isCancelled == true {
                    logger.notice("reindex stopped on request; the next run resumes after the last folder done")
                    return summary.withLock { s in s.seconds = Date().timeIntervalSince(started); return s }
                }
            }
            checkpoint.walkDone = true
            try save(checkpoint)
        }

        // Rows whose file is gone.
        var after: Int64 = 0
        while true {
            let page = try indexCall { () throws(IndexError) in try index.instanceLocations(afterID: after, limit: 2000) }
            guard let last = page.last else { break }
            after = last.id
            let vanished = page.filter { !store.exists(relativePath: $0.path) }.map(\.id)
            if !vanished.isEmpty {
                let removed = try indexCall { () throws(IndexError) in try index.removeInstances(ids: vanished) }
                summary.withLock { $0.removedRows += removed }
                logger.notice("removed index rows whose file vanished", metadata: ["count": "\(removed)"])
            }
        }
        try indexCall { () throws(IndexError) in try index.setJobState(Self.stateKey, nil) }
        return summary.withLock { s in
            s.seconds = Date().timeIntervalSince(started)
            s.problems.sort { $0.file < $1.file }
            return s
        }
    }

    private func save(_ checkpoint: Checkpoint) throws(ImagingIndexError) {
        let json = String(decoding: try! JSONEncoder().encode(checkpoint), as: UTF8.self)
        try indexCall { () throws(IndexError) in try node.index.setJobState(Self.stateKey, json) }
    }

    private func indexCall<T>(_ body: () throws(IndexError) -> T) throws(ImagingIndexError) -> T {
        do {
            return try body()
        } catch {
            throw ImagingIndexError(.indexUnavailable, "reindex: \(error.description)", underlying: error)
        }
    }
}
