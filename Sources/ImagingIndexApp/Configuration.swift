import Foundation
import DicomCore
import DicomIndex

/// ImagingIndex's settings: defaults, overridden by a JSON file (`<data-dir>/imaging-index.json`
/// or `--config PATH`). Unknown keys are refused so that a typo never silently does nothing.
/// Every key is documented in README.md ("Configuration").
public struct Configuration: Sendable {
    public enum DuplicatePolicy: String, Sendable, Codable, CaseIterable {
        /// Keep the first copy; log and count the second (the default).
        case keepFirst
        /// Store the new copy in place of the old one and refresh the index.
        case replace
        /// Refuse the second copy with an error.
        case reject
    }

    public var dataDirectory: URL
    public var extraTags: [DicomTag] = []
    public var duplicatePolicy: DuplicatePolicy = .keepFirst
    /// Parallel workers of `import` and `reindex` (I/O bound: fsync, so more than the cores).
    public var workers: Int = 16
    /// The most instances one index transaction takes (group commit).
    public var maxCommitBatch: Int = 512
    public var logLevel: String = "info"

    public init(dataDirectory: URL) {
        self.dataDirectory = dataDirectory
    }

    public var indexPath: String { dataDirectory.appendingPathComponent("index.sqlite").path }
    public var policy: IndexingPolicy { IndexingPolicy(extraTags: extraTags) }

    static let knownKeys: Set<String> = ["extraTags", "duplicatePolicy", "workers", "maxCommitBatch", "logLevel"]

    /// Loads `file` (or `<dataDirectory>/imaging-index.json` when it exists) over the defaults.
    public static func load(dataDirectory: URL, file: URL?) throws(ImagingIndexError) -> Configuration {
        var config = Configuration(dataDirectory: dataDirectory)
        let candidate = file ?? dataDirectory.appendingPathComponent("imaging-index.json")
        guard FileManager.default.fileExists(atPath: candidate.path) else {
            if let file { throw ImagingIndexError(.configuration, "configuration file \(file.path) does not exist") }
            return config
        }
        let object: [String: Any]
        do {
            let data = try Data(contentsOf: candidate)
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ImagingIndexError(.configuration, "\(candidate.path): the top level must be a JSON object")
            }
            object = parsed
        } catch let error as ImagingIndexError {
            throw error
        } catch {
            throw ImagingIndexError(.configuration, "\(candidate.path): not valid JSON (\(error.localizedDescription))")
        }
        let unknown = Set(object.keys).subtracting(knownKeys)
        if !unknown.isEmpty {
            throw ImagingIndexError(.configuration,
                                    "\(candidate.path): unknown setting(s) \(unknown.sorted().joined(separator: ", ")); known: \(knownKeys.sorted().joined(separator: ", "))")
        }
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(candidate.path): '\(key)' must be \(expected)")
        }
        if let value = object["extraTags"] {
            guard let list = value as? [String] else { throw fail("extraTags", "a list of tags like \"0008,1030\"") }
            config.extraTags = try list.map { text throws(ImagingIndexError) -> DicomTag in
                guard let tag = DicomTag(parsing: text) else { throw fail("extraTags", "a list of tags like \"0008,1030\" ('\(text)' is not one)") }
                return tag
            }
        }
        if let value = object["duplicatePolicy"] {
            guard let text = value as? String, let policy = DuplicatePolicy(rawValue: text) else {
                throw fail("duplicatePolicy", "one of \(DuplicatePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.duplicatePolicy = policy
        }
        if let value = object["workers"] {
            guard let n = value as? Int, (1...256).contains(n) else { throw fail("workers", "a number from 1 to 256") }
            config.workers = n
        }
        if let value = object["maxCommitBatch"] {
            guard let n = value as? Int, (1...10_000).contains(n) else { throw fail("maxCommitBatch", "a number from 1 to 10000") }
            config.maxCommitBatch = n
        }
        if let value = object["logLevel"] {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard let text = value as? String, levels.contains(text) else { throw fail("logLevel", "one of \(levels.joined(separator: ", "))") }
            config.logLevel = text
        }
        return config
    }
}
