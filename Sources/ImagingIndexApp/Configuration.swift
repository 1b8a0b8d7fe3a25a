import Foundation
import DicomCore
import DicomIndex
import DicomNetwork
import PatientIdentity
import DicomWebAPI
import Thumbnails
import AccessControl

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
    /// The DIMSE node: AE title, port, known peers, limits.
    public var dicom = DicomNodeConfiguration()
    /// Citizen IDs: the national issuer and each sending hospital's rule.
    public var identity = CitizenIDRules()
    /// The HTTP server: DICOMweb, health, metrics.
    public var http = DicomWebConfiguration()
    /// Series and study thumbnails, made in the background by `serve`.
    public var thumbnailsEnabled = true
    public var thumbnails = ThumbnailSettings()
    /// Who may use the HTTP side (API tokens, JWTs) and development mode.
    public var access = AccessSettings()

    public init(dataDirectory: URL) {
        self.dataDirectory = dataDirectory
    }

    public var indexPath: String { dataDirectory.appendingPathComponent("index.sqlite").path }
    /// The audit trail: its own file, so that rebuilding the index never touches it.
    public var auditPath: String { dataDirectory.appendingPathComponent("audit.sqlite").path }
    public var thumbnailCacheDirectory: URL { dataDirectory.appendingPathComponent("thumbnails", isDirectory: true) }
    public var policy: IndexingPolicy { IndexingPolicy(extraTags: extraTags) }

    static let knownKeys: Set<String> = ["extraTags", "duplicatePolicy", "workers", "maxCommitBatch", "logLevel", "dicom",
                                         "identity", "http", "thumbnails", "access"]
    static let knownDicomKeys: Set<String> = ["aeTitle", "port", "bindAddress", "peers", "acceptAnyPeer", "maxPDU",
                                              "acseTimeout", "dimseTimeout", "shutdownGrace", "maxAssociations", "maxFindMatches", "tls"]
    static let knownPeerKeys: Set<String> = ["aeTitle", "host", "port", "hospital", "permissions", "role",
                                             "emergencyOverride", "certificateSHA256"]
    static let knownThumbnailKeys: Set<String> = ["enabled", "size", "workers", "quietSeconds", "maxDelaySeconds",
                                                  "maxPending", "pngCompression"]

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
        if let value = object["dicom"] {
            guard let dicom = value as? [String: Any] else { throw fail("dicom", "an object") }
            config.dicom = try parseDicom(dicom, file: candidate.path)
        }
        if let value = object["identity"] {
            guard let identity = value as? [String: Any] else { throw fail("identity", "an object") }
            config.identity = try parseIdentity(identity, file: candidate.path)
        }
        if let value = object["http"] {
            guard let http = value as? [String: Any] else { throw fail("http", "an object") }
            config.http = try parseHTTP(http, file: candidate.path)
        }
        config.http.nationalIssuer = config.identity.nationalIssuer
        if let value = object["thumbnails"] {
            guard let thumbnails = value as? [String: Any] else { throw fail("thumbnails", "an object") }
            try parseThumbnails(thumbnails, into: &config, file: candidate.path)
        }
        if let value = object["access"] {
            guard let access = value as? [String: Any] else { throw fail("access", "an object") }
            config.access = try parseAccess(access, file: candidate.path)
        }
        if config.access.developmentMode { config.dicom.acceptAnyPeer = true }
        return config
    }

    static let knownHTTPKeys: Set<String> = ["enabled", "port", "bindAddress", "maxResults", "tls"]

    static func parseHTTP(_ object: [String: Any], file: String) throws(ImagingIndexError) -> DicomWebConfiguration {
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(file): 'http.\(key)' must be \(expected)")
        }
        try rejectUnknown(object, known: knownHTTPKeys, section: "http", file: file)
        var h = DicomWebConfiguration()
        if let value = object["enabled"] {
            guard let flag = value as? Bool else { throw fail("enabled", "true or false") }
            h.enabled = flag
        }
        if let value = object["port"] {
            guard let n = value as? Int, (0...65535).contains(n) else { throw fail("port", "a port number") }
            h.port = n
        }
        if let value = object["bindAddress"] {
            guard let text = value as? String, !text.isEmpty else { throw fail("bindAddress", "an address") }
            h.bindAddress = text
        }
        if let value = object["maxResults"] {
            guard let n = value as? Int, (1...100_000).contains(n) else { throw fail("maxResults", "a number from 1 to 100000") }
            h.maxResults = n
        }
        if let value = object["tls"] {
            guard let tls = value as? [String: Any], let certificate = tls["certificate"] as? String,
                  let key = tls["key"] as? String, tls.count == 2 else {
                throw fail("tls", "{ \"certificate\": PEM path, \"key\": PEM path }")
            }
            for path in [certificate, key] where !FileManager.default.isReadableFile(atPath: path) {
                throw fail("tls", "readable PEM files ('\(path)' cannot be read)")
            }
            h.tls = .init(certificatePath: certificate, keyPath: key)
        }
        return h
    }


    static func parseThumbnails(_ object: [String: Any], into config: inout Configuration, file: String) throws(ImagingIndexError) {
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(file): 'thumbnails.\(key)' must be \(expected)")
        }
        try rejectUnknown(object, known: knownThumbnailKeys, section: "thumbnails", file: file)
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(ImagingIndexError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let n = value as? Int, range.contains(n) else { throw fail(key, "a number from \(range.lowerBound) to \(range.upperBound)") }
            return n
        }
        func seconds(_ key: String) throws(ImagingIndexError) -> Double? {
            guard let value = object[key] else { return nil }
            guard let n = (value as? NSNumber)?.doubleValue, !(value is Bool), n >= 0, n <= 86_400 else {
                throw fail(key, "a number of seconds from 0 to 86400")
            }
            return n
        }
        if let value = object["enabled"] {
            guard let flag = value as? Bool else { throw fail("enabled", "true or false") }
            config.thumbnailsEnabled = flag
        }
        if let n = try integer("size", 16...2048) { config.thumbnails.size = n }
        if let n = try integer("workers", 1...256) { config.thumbnails.workers = n }
        if let n = try integer("maxPending", 1...10_000_000) { config.thumbnails.maxPending = n }
        if let n = try integer("pngCompression", 0...9) { config.thumbnails.compressionLevel = n }
        if let n = try seconds("quietSeconds") { config.thumbnails.quietPeriod = n }
        if let n = try seconds("maxDelaySeconds") { config.thumbnails.maxDelay = n }
        if config.thumbnails.maxDelay < config.thumbnails.quietPeriod {
            throw fail("maxDelaySeconds", "at least thumbnails.quietSeconds")
        }
    }

    /// A typo must never silently do nothing: keys a section does not know are refused.
    static func rejectUnknown(_ object: [String: Any], known: Set<String>, section: String,
                              file: String) throws(ImagingIndexError) {
        let unknown = Set(object.keys).subtracting(known)
        if !unknown.isEmpty {
            throw ImagingIndexError(.configuration, "\(file): unknown setting(s) \(section).\(unknown.sorted().joined(separator: ", \(section)."))")
        }
    }

    static func parseDicom(_ object: [String: Any], file: String) throws(ImagingIndexError) -> DicomNodeConfiguration {
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(file): 'dicom.\(key)' must be \(expected)")
        }
        try rejectUnknown(object, known: knownDicomKeys, section: "dicom", file: file)
        var d = DicomNodeConfiguration()
        func aeTitle(_ value: Any?, _ key: String) throws(ImagingIndexError) -> String {
            guard let text = value as? String, !text.isEmpty, text.count <= 16,
                  text.allSatisfy({ $0.isASCII && $0 != "\\" && !$0.isNewline }) else {
                throw fail(key, "an AE title (1 to 16 ASCII characters)")
            }
            return text
        }
        func number(_ key: String, _ range: ClosedRange<Int>) throws(ImagingIndexError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let n = value as? Int, range.contains(n) else { throw fail(key, "a number from \(range.lowerBound) to \(range.upperBound)") }
            return n
        }
        if object["aeTitle"] != nil { d.aeTitle = try aeTitle(object["aeTitle"], "aeTitle") }
        if let n = try number("port", 0...65535) { d.port = UInt16(n) }
        if let value = object["bindAddress"] {
            guard let text = value as? String else { throw fail("bindAddress", "an address") }
            d.bindAddress = text
        }
        if let value = object["acceptAnyPeer"] {
            guard let flag = value as? Bool else { throw fail("acceptAnyPeer", "true or false") }
            d.acceptAnyPeer = flag
        }
        if let n = try number("maxPDU", 4096...1_048_576) { d.maxReceivePDU = UInt32(n) }
        if let n = try number("acseTimeout", 1...3600) { d.acseTimeoutSeconds = UInt32(n) }
        if let n = try number("dimseTimeout", 1...3600) { d.dimseTimeoutSeconds = UInt32(n) }
        if let n = try number("shutdownGrace", 1...3600) { d.shutdownGraceSeconds = UInt32(n) }
        if let n = try number("maxAssociations", 1...1000) { d.maxAssociations = UInt32(n) }
        if let n = try number("maxFindMatches", 1...1_000_000) { d.maxFindMatches = n }
        if let value = object["tls"] {
            guard let tls = value as? [String: Any] else { throw fail("tls", "an object") }
            d.tls = try parseDicomTLS(tls, file: file)
        }
        if let value = object["peers"] {
            guard let list = value as? [[String: Any]] else { throw fail("peers", "a list of objects") }
            for (i, p) in list.enumerated() {
                let unknownPeer = Set(p.keys).subtracting(knownPeerKeys)
                if !unknownPeer.isEmpty {
                    throw ImagingIndexError(.configuration, "\(file): unknown setting(s) \(unknownPeer.sorted().joined(separator: ", ")) in dicom.peers[\(i)]")
                }
                let ae = try aeTitle(p["aeTitle"], "peers[\(i)].aeTitle")
                var permissions = Set(DicomNodeConfiguration.Permission.allCases)
                if let given = p["role"] {
                    // pacs: store; radiologist: query and retrieve; admin: all three.
                    let roles = Role.allCases.map(\.rawValue).joined(separator: ", ")
                    guard let name = given as? String, let role = Role(rawValue: name) else {
                        throw fail("peers[\(i)].role", "one of \(roles)")
                    }
                    permissions = Set(role.permissions.compactMap { DicomNodeConfiguration.Permission(rawValue: $0.rawValue) })
                    if p["permissions"] != nil { throw fail("peers[\(i)]", "given a role or permissions, not both") }
                }
                if let given = p["permissions"] {
                    guard let names = given as? [String] else { throw fail("peers[\(i)].permissions", "a list of store, query, retrieve") }
                    permissions = []
                    for name in names {
                        guard let perm = DicomNodeConfiguration.Permission(rawValue: name) else {
                            throw fail("peers[\(i)].permissions", "a list of store, query, retrieve ('\(name)' is not one)")
                        }
                        permissions.insert(perm)
                    }
                }
                var port: UInt16? = nil
                if let value = p["port"] {
                    guard let n = value as? Int, (1...65535).contains(n) else { throw fail("peers[\(i)].port", "a port number") }
                    port = UInt16(n)
                }
                var emergency = false
                if let value = p["emergencyOverride"] {
                    guard let flag = value as? Bool else { throw fail("peers[\(i)].emergencyOverride", "true or false") }
                    emergency = flag
                }
                var fingerprint: String?
                if let value = p["certificateSHA256"] {
                    let hex = (value as? String ?? "").lowercased().filter { $0 != ":" }
                    guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
                        throw fail("peers[\(i)].certificateSHA256", "a SHA-256 fingerprint (64 hex digits, colons allowed)")
                    }
                    fingerprint = hex
                }
                d.peers.append(.init(aeTitle: ae, host: p["host"] as? String, port: port,
                                     hospital: p["hospital"] as? String ?? ae, permissions: permissions,
                                     emergencyOverride: emergency, certificateSHA256: fingerprint))
            }
        }
        return d
    }
}
