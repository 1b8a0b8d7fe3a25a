import Foundation

/// Counts and per-file problems of an import or reindex run, safe to update from many threads.
public struct JobSummary: Sendable, Codable {
    public struct Problem: Sendable, Codable, Hashable {
        public var file: String
        public var category: String
        public var reason: String
    }

    public var total = 0
    public var imported = 0
    public var reindexed = 0
    public var duplicates = 0
    public var replaced = 0
    public var notDicom = 0
    public var corrupt = 0
    /// Real failures: I/O, disk full, index unavailable.
    public var failed = 0
    public var removedRows = 0
    public var bytes: Int64 = 0
    public var seconds: Double = 0
    public var problems: [Problem] = []

    public var processed: Int { imported + reindexed + duplicates + replaced + notDicom + corrupt + failed }
    public var badInput: Int { notDicom + corrupt }

    mutating func record(_ error: ImagingIndexError, file: String) {
        switch error.code {
        case .notDicom: notDicom += 1
        case .corrupt, .duplicateRejected: corrupt += 1
        default: failed += 1
        }
        problems.append(Problem(file: file, category: error.code.rawValue, reason: error.message))
    }
}
