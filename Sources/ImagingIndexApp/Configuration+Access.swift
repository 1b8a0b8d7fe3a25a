import Foundation
import AccessControl
import DicomNetwork

extension Configuration {
    static let knownAccessKeys: Set<String> = ["developmentMode", "tokens", "jwt"]
    static let knownTokenKeys: Set<String> = ["id", "sha256", "role", "roles", "hospital"]
    static let knownJWTKeys: Set<String> = ["issuer", "audience", "keys", "roleClaim", "hospitalClaim", "leewaySeconds"]
    static let knownJWTKeyKeys: Set<String> = ["kid", "hs256Secret", "hs256SecretFile", "es256PublicKey"]
    static let knownDicomTLSKeys: Set<String> = ["certificate", "key", "trustedCertificates", "requireClientCertificate",
                                                 "port", "alsoPlain"]

    /// The `access` section: development mode, API tokens, JWTs (README, "Access control").
    static func parseAccess(_ object: [String: Any], file: String) throws(ImagingIndexError) -> AccessSettings {
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(file): 'access.\(key)' must be \(expected)")
        }
        try rejectUnknown(object, known: knownAccessKeys, section: "access", file: file)
        var access = AccessSettings()
        if let value = object["developmentMode"] {
            guard let flag = value as? Bool else { throw fail("developmentMode", "true or false") }
            access.developmentMode = flag
        }
        func roles(_ value: Any?, _ key: String) throws(ImagingIndexError) -> [Role] {
            let names = (value as? [String]) ?? (value as? String).map { [$0] }
            let known = Role.allCases.map(\.rawValue).joined(separator: ", ")
            guard let names, !names.isEmpty else { throw fail(key, "a role or a list of roles (\(known))") }
            var result: [Role] = []
            for name in names {
                guard let role = Role(rawValue: name) else { throw fail(key, "roles among \(known) ('\(name)' is not one)") }
                result.append(role)
            }
            return result
        }
        if let value = object["tokens"] {
            guard let list = value as? [[String: Any]] else { throw fail("tokens", "a list of objects") }
            var ids = Set<String>()
            for (i, t) in list.enumerated() {
                try rejectUnknown(t, known: knownTokenKeys, section: "access.tokens[\(i)]", file: file)
                guard let id = t["id"] as? String, !id.isEmpty, ids.insert(id).inserted else {
                    throw fail("tokens[\(i)].id", "a name for the token, unique (it is what the audit trail records)")
                }
                guard let hash = (t["sha256"] as? String)?.lowercased(), hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
                    throw fail("tokens[\(i)].sha256", "the SHA-256 of the token in 64 hex digits (printf %s TOKEN | sha256sum)")
                }
                guard let hospital = t["hospital"] as? String, !hospital.isEmpty else {
                    throw fail("tokens[\(i)].hospital", "the hospital the token's holder belongs to")
                }
                let given = t["roles"] ?? t["role"]
                access.tokens.append(.init(id: id, sha256: hash, roles: try roles(given, "tokens[\(i)].roles"), hospital: hospital))
            }
        }
        if let value = object["jwt"] {
            guard let j = value as? [String: Any] else { throw fail("jwt", "an object") }
            try rejectUnknown(j, known: knownJWTKeys, section: "access.jwt", file: file)
            guard let issuer = j["issuer"] as? String, !issuer.isEmpty else { throw fail("jwt.issuer", "the issuer (iss) tokens must name") }
            if j["audience"] != nil && !(j["audience"] is String) { throw fail("jwt.audience", "a text") }
            guard let list = j["keys"] as? [[String: Any]], !list.isEmpty else { throw fail("jwt.keys", "a non-empty list of keys") }
            var keys: [AccessSettings.JWT.Key] = []
            for (i, k) in list.enumerated() {
                try rejectUnknown(k, known: knownJWTKeyKeys, section: "access.jwt.keys[\(i)]", file: file)
                let kid = k["kid"] as? String
                if let secret = k["hs256Secret"] as? String {
                    keys.append(.init(kid: kid, kind: .hs256(secret: secret)))
                } else if let path = k["hs256SecretFile"] as? String {
                    guard let secret = try? String(contentsOfFile: path, encoding: .utf8) else {
                        throw fail("jwt.keys[\(i)].hs256SecretFile", "a readable file ('\(path)' cannot be read)")
                    }
                    keys.append(.init(kid: kid, kind: .hs256(secret: secret.trimmingCharacters(in: .whitespacesAndNewlines))))
                } else if let path = k["es256PublicKey"] as? String {
                    guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                        throw fail("jwt.keys[\(i)].es256PublicKey", "a readable PEM file ('\(path)' cannot be read)")
                    }
                    keys.append(.init(kid: kid, kind: .es256(pem: pem)))
                } else {
                    throw fail("jwt.keys[\(i)]", "one of hs256Secret, hs256SecretFile, es256PublicKey")
                }
            }
            var jwt = AccessSettings.JWT(issuer: issuer, audience: j["audience"] as? String, keys: keys)
            if let claim = j["roleClaim"] as? String { jwt.roleClaim = claim }
            if let claim = j["hospitalClaim"] as? String { jwt.hospitalClaim = claim }
            if let value = j["leewaySeconds"] {
                guard let n = value as? Int, (0...3600).contains(n) else { throw fail("jwt.leewaySeconds", "a number from 0 to 3600") }
                jwt.leewaySeconds = n
            }
            access.jwt = jwt
        }
        return access
    }

    /// `dicom.tls`: DICOM over TLS (certificate, key, trusted CAs for client certificates).
    static func parseDicomTLS(_ object: [String: Any], file: String) throws(ImagingIndexError) -> DicomNodeConfiguration.TLS {
        func fail(_ key: String, _ expected: String) -> ImagingIndexError {
            ImagingIndexError(.configuration, "\(file): 'dicom.tls.\(key)' must be \(expected)")
        }
        try rejectUnknown(object, known: knownDicomTLSKeys, section: "dicom.tls", file: file)
        func readable(_ key: String, required: Bool) throws(ImagingIndexError) -> String? {
            guard let value = object[key] else {
                if required { throw fail(key, "the path of a PEM file") }
                return nil
            }
            guard let path = value as? String, FileManager.default.isReadableFile(atPath: path) else {
                throw fail(key, "a readable PEM file ('\(value)' cannot be read)")
            }
            return path
        }
        var tls = DicomNodeConfiguration.TLS(certificatePath: try readable("certificate", required: true)!,
                                             keyPath: try readable("key", required: true)!,
                                             trustedCertificatesPath: try readable("trustedCertificates", required: false))
        if let value = object["requireClientCertificate"] {
            guard let flag = value as? Bool else { throw fail("requireClientCertificate", "true or false") }
            if flag && tls.trustedCertificatesPath == nil {
                throw fail("trustedCertificates", "given when client certificates are required")
            }
            tls.requireClientCertificate = flag
        }
        if let value = object["port"] {
            guard let n = value as? Int, (0...65535).contains(n) else { throw fail("port", "a port number") }
            tls.port = UInt16(n)
        }
        if let value = object["alsoPlain"] {
            guard let flag = value as? Bool else { throw fail("alsoPlain", "true or false") }
            tls.alsoPlain = flag
        }
        return tls
    }
}
