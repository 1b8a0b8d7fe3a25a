import Foundation

/// The committed test corpus (`TestImages/`, made by `Scripts/make-test-images`) and its
/// ground truth `expected.json`.
public enum TestImages {
    /// The package root, found from this file's path (tests run from anywhere).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Sources/DicomTestSupport/TestImages.swift
        return url
    }()

    public static let root = packageRoot.appendingPathComponent("TestImages", isDirectory: true)

    /// The team's data set generator, `../shared/bench/gen_dataset.py` beside this checkout; for a
    /// clone made elsewhere (a CI check in a temporary folder), beside the local repository it was
    /// cloned from (its `remote.origin.url`).
    public static let datasetGenerator: URL = {
        let relative = "../shared/bench/gen_dataset.py"
        let here = packageRoot.appendingPathComponent(relative).standardized
        if FileManager.default.fileExists(atPath: here.path) { return here }
        let config = (try? String(contentsOf: packageRoot.appendingPathComponent(".git/config"), encoding: .utf8)) ?? ""
        var inOrigin = false
        for line in config.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("[") { inOrigin = line == "[remote \"origin\"]"; continue }
            guard inOrigin, line.hasPrefix("url"), let equals = line.firstIndex(of: "=") else { continue }
            var origin = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if origin.hasPrefix("file://") { origin.removeFirst("file://".count) }
            guard origin.hasPrefix("/") else { break }
            let there = URL(fileURLWithPath: origin).appendingPathComponent(relative).standardized
            if FileManager.default.fileExists(atPath: there.path) { return there }
        }
        return here
    }()

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// One good file's expected attribute values (nil: absent, "": present and empty).
    public struct Expected: Sendable {
        public let path: String
        public let values: [String: String?]
        public let otherPatientIDs: [[String: String?]]
        public let hospital: String?

        public subscript(key: String) -> String? { values[key] ?? nil }
    }

    public struct Bad: Sendable {
        public let path: String
        public let category: String
    }

    public struct Duplicate: Sendable {
        public let path: String
        public let duplicateOf: String
        public let identical: Bool
    }

    public struct Manifest: Sendable {
        public let files: [Expected]
        public let bad: [Bad]
        public let duplicates: [Duplicate]

        public func file(_ path: String) -> Expected? { files.first { $0.path == path } }
    }

    public static let manifest: Manifest = {
        let data = try! Data(contentsOf: url("expected.json"))
        let json = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        func strings(_ dict: [String: Any]) -> [String: String?] {
            var out: [String: String?] = [:]
            for (k, v) in dict {
                if v is NSNull { out[k] = .some(nil) } else if let s = v as? String { out[k] = s } else if let n = v as? NSNumber { out[k] = n.stringValue }
            }
            return out
        }
        let files = (json["files"] as! [String: Any]).map { path, value -> Expected in
            let dict = value as! [String: Any]
            let others = (dict["OtherPatientIDsSequence"] as? [[String: Any]] ?? []).map(strings)
            return Expected(path: path, values: strings(dict), otherPatientIDs: others, hospital: dict["hospital"] as? String)
        }.sorted { $0.path < $1.path }
        let bad = (json["bad"] as! [String: Any]).map { path, value in
            Bad(path: path, category: (value as! [String: Any])["category"] as! String)
        }.sorted { $0.path < $1.path }
        let dups = (json["duplicates"] as! [String: Any]).map { path, value -> Duplicate in
            let d = value as! [String: Any]
            return Duplicate(path: path, duplicateOf: d["duplicateOf"] as! String, identical: d["identical"] as! Bool)
        }.sorted { $0.path < $1.path }
        return Manifest(files: files, bad: bad, duplicates: dups)
    }()
}
