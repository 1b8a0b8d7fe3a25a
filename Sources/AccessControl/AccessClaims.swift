import Foundation
import JWTKit

/// A JWT's payload as ImagingIndex reads it: the registered claims it checks, and every other
/// claim holding a string or a list of strings (roles and hospital, under configurable names).
struct AccessClaims: JWTPayload {
    var subject: String?
    var issuer: String?
    var audience: [String]
    var expiration: Date?
    var notBefore: Date?
    var texts: [String: [String]]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        func strings(_ key: Key) -> [String]? {
            if let one = try? container.decode(String.self, forKey: key) { return [one] }
            return try? container.decode([String].self, forKey: key)
        }
        func date(_ name: String) throws -> Date? {
            let key = Key(stringValue: name)
            guard container.contains(key) else { return nil }
            return Date(timeIntervalSince1970: try container.decode(Double.self, forKey: key))
        }
        subject = try? container.decode(String.self, forKey: Key(stringValue: "sub"))
        issuer = try? container.decode(String.self, forKey: Key(stringValue: "iss"))
        audience = strings(Key(stringValue: "aud")) ?? []
        expiration = try date("exp")
        notBefore = try date("nbf")
        var texts: [String: [String]] = [:]
        for key in container.allKeys {
            if let values = strings(key) { texts[key.stringValue] = values }
        }
        self.texts = texts
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, values) in texts {
            if values.count == 1 { try container.encode(values[0], forKey: Key(stringValue: name)) } else {
                try container.encode(values, forKey: Key(stringValue: name))
            }
        }
        if let expiration { try container.encode(expiration.timeIntervalSince1970, forKey: Key(stringValue: "exp")) }
        if let notBefore { try container.encode(notBefore.timeIntervalSince1970, forKey: Key(stringValue: "nbf")) }
    }

    /// The signature is checked by the key collection; the times, issuer and audience by the
    /// authenticator, which knows the settings.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
