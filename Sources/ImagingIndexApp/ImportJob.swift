import Foundation
import Logging
import Synchronization
import DicomStorage

/// `imaging-index import PATH...`: every file under the paths goes through the ingest pipeline,
/// in parallel. One bad file never stops the run; each is reported with its reason.
public struct ImportJob: Sendable {
    public let node: ImagingIndexNode
    public let paths: [String]
    public let progress: ProgressReporter.Style

    public init(node: ImagingIndexNode, paths: [String], progress: ProgressReporter.Style) {
        self.node = node
        self.paths = paths
        self.progress = progress
    }

    /// Lists the regular files under `paths` (recursively, sorted; hidden files included).
    /// Paths that do not exist are returned in `missing`.
    public static func listFiles(_ paths: [String]) -> (files: [String], missing: [String]) {
        var files: [String] = []
        var missing: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                missing.append(path)
                continue
            }
            if !isDirectory.boolValue {
                files.append(path)
                continue
            }
            guard let walker = fm.enumerator(atPath: path) else { continue }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                let full = (path as NSString).appendingPathComponent(relative)
                var st = stat()
                if lstat(full, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { found.append(full) }
            }
            files += found.sorted()
        }
        return (files, missing)
    }

    public func run() -> JobSummary {
        let started = Date()
        let (files, missing) = ImportJob.listFiles(paths)
        let summary = Mutex(JobSummary())
        summary.withLock { s in
            s.total = files.count
            for path in missing {
                s.failed += 1
                s.problems.append(.init(file: path, category: "io", reason: "\(path): no such file or folder"))
            }
        }
        let reporter = ProgressReporter(title: "import", style: progress)
        reporter.start(total: files.count) { summary.withLock { $0 } }
        let pipeline = node.pipeline
        WorkerThreads.forEach(count: files.count, workers: node.configuration.workers, name: "import") { i in
            let path = files[i]
            let data: Data
            do {
                data = try FileStore.readFile(path)
            } catch {
                summary.withLock {
                    $0.record(ImagingIndexError(.io, "\(path): cannot read (\(error.localizedDescription))"), file: path)
                }
                return
            }
            do throws(ImagingIndexError) {
                let outcome = try pipeline.ingest(data, origin: .importFile, source: path)
                summary.withLock { s in
                    s.bytes += Int64(data.count)
                    switch outcome {
                    case .stored: s.imported += 1
                    case .duplicate: s.duplicates += 1
                    case .replaced: s.replaced += 1
                    case .reindexed: s.reindexed += 1
                    }
                }
            } catch {
                summary.withLock { $0.record(error, file: path) }
            }
        }
        reporter.stop()
        return summary.withLock { s in
            s.seconds = Date().timeIntervalSince(started)
            s.problems.sort { $0.file < $1.file }
            return s
        }
    }
}
