import Foundation
import Crypto
import JWTKit

/// Turns an HTTP `Authorization` header into a `Principal`: an API token (compared by SHA-256, in
/// constant time) or a JWT verified with the configured keys, issuer, audience and validity times.
public final class Authenticator: Sendable {
    public let settings: AccessSettings
    private let keys: JWTKeyCollection?
    /// Each token's SHA-256, decoded once (checked by `make`).
    private let digests: [(token: AccessSettings.APIToken, sha256: [UInt8])]

    private init(settings: AccessSettings, keys: JWTKeyCollection?) {
        self.settings = settings
        self.keys = keys
        digests = settings.tokens.map { ($0, Self.bytes(hex: $0.sha256) ?? []) }
    }

    /// Checks the settings (keys must parse) and prepares the JWT keys.
    public static func make(_ settings: AccessSettings) async throws(AccessError) -> Authenticator {
        for token in settings.tokens {
            guard token.sha256.count == 64, token.sha256.allSatisfy(\.isHexDigit) else {
                throw AccessError(.configuration, "token '\(token.id)': sha256 must be 64 hex digits")
            }
        }
        guard let jwt = settings.jwt else { return Authenticator(settings: settings, keys: nil) }
        guard !jwt.keys.isEmpty else { throw AccessError(.configuration, "jwt: at least one key is needed") }
        let keys = JWTKeyCollection()
        for key in jwt.keys {
            let kid = key.kid.map { JWKIdentifier(string: $0) }
            switch key.kind {
            case .hs256(let secret):
                guard secret.utf8.count >= 32 else {
                    throw AccessError(.configuration, "jwt: an HS256 secret must be at least 32 bytes long")
                }
                await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: kid)
            case .es256(let pem):
                do {
                    let publicKey = pem.contains("CERTIFICATE") ? try ES256PublicKey(certificate: pem) : try ES256PublicKey(pem: pem)
                    await keys.add(ecdsa: publicKey, kid: kid)
                } catch {
                    throw AccessError(.configuration, "jwt: an ES256 key is not a PEM P-256 public key or certificate", underlying: error)
                }
            }
        }
        return Authenticator(settings: settings, keys: keys)
    }

    /// The caller named by `authorization` (the header's value), or `.unauthenticated` saying why.
    public func authenticate(authorization: String?) async throws(AccessError) -> Principal {
        if settings.developmentMode { return .development }
        guard let authorization, !authorization.isEmpty else {
            throw AccessError(.unauthenticated, "credentials are required (Authorization: Bearer <token>)")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw AccessError(.unauthenticated, "only Bearer credentials are accepted")
        }
        let credential = parts[1].trimmingCharacters(in: .whitespaces)
        if let principal = tokenPrincipal(credential) { return principal }
        if credential.split(separator: ".", omittingEmptySubsequences: false).count == 3, keys != nil {
            return try await jwtPrincipal(credential)
        }
        throw AccessError(.unauthenticated, "the token is not valid")
    }

    /// Constant time over every configured token, whichever matches.
    private func tokenPrincipal(_ credential: String) -> Principal? {
        let digest = Array(SHA256.hash(data: Data(credential.utf8)))
        var found: AccessSettings.APIToken?
        for (token, expected) in digests {
            guard expected.count == digest.count else { continue }
            var difference: UInt8 = 0
            for i in 0..<digest.count { difference |= digest[i] ^ expected[i] }
            if difference == 0 { found = token }
        }
        guard let found else { return nil }
        return Principal(actor: "token:\(found.id)", hospital: found.hospital, permissions: Role.permissions(of: found.roles))
    }

    private func jwtPrincipal(_ token: String) async throws(AccessError) -> Principal {
        guard let keys, let jwt = settings.jwt else { throw AccessError(.unauthenticated, "the token is not valid") }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw AccessError(.unauthenticated, "the JWT's signature or form is not valid", underlying: error)
        }
        let now = Date()
        let leeway = TimeInterval(jwt.leewaySeconds)
        guard let expiration = claims.expiration else { throw AccessError(.unauthenticated, "the JWT has no expiry (exp)") }
        guard expiration.addingTimeInterval(leeway) > now else { throw AccessError(.unauthenticated, "the JWT has expired") }
        if let notBefore = claims.notBefore, notBefore.addingTimeInterval(-leeway) > now {
            throw AccessError(.unauthenticated, "the JWT is not valid yet (nbf)")
        }
        guard claims.issuer == jwt.issuer else { throw AccessError(.unauthenticated, "the JWT's issuer is not trusted") }
        if let audience = jwt.audience, !claims.audience.contains(audience) {
            throw AccessError(.unauthenticated, "the JWT is not meant for this server (aud)")
        }
        guard let subject = claims.subject, !subject.isEmpty else { throw AccessError(.unauthenticated, "the JWT has no subject (sub)") }
        guard let hospital = claims.texts[jwt.hospitalClaim]?.first, !hospital.isEmpty else {
            throw AccessError(.forbidden, "the JWT names no hospital (claim '\(jwt.hospitalClaim)')")
        }
        // Unknown role names give nothing (an identity provider may carry roles of other systems).
        let roles = (claims.texts[jwt.roleClaim] ?? []).compactMap { Role(rawValue: $0.lowercased()) }
        return Principal(actor: "jwt:\(subject)", hospital: hospital, permissions: Role.permissions(of: roles))
    }

    static func bytes(hex: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            result.append(h << 4 | l)
        }
        return result
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
