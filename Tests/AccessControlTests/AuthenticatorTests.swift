import Foundation
import Testing
import Crypto
@testable import AccessControl

/// JWTs are assembled here by hand from RFC 7519/7515 (base64url header.payload.signature), signed
/// with swift-crypto directly, so the authenticator is checked against the format, not itself.
enum JWTMaker {
    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }

    static func hs256(_ claims: [String: Any], secret: String, kid: String? = nil, alg: String = "HS256") -> String {
        var header: [String: Any] = ["alg": alg, "typ": "JWT"]
        if let kid { header["kid"] = kid }
        let input = base64url(json(header)) + "." + base64url(json(claims))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + base64url(Data(mac))
    }

    static func es256(_ claims: [String: Any], key: P256.Signing.PrivateKey, kid: String? = nil) throws -> String {
        var header: [String: Any] = ["alg": "ES256", "typ": "JWT"]
        if let kid { header["kid"] = kid }
        let input = base64url(json(header)) + "." + base64url(json(claims))
        return input + "." + base64url(try key.signature(for: Data(input.utf8)).rawRepresentation)
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

@Suite struct AuthenticatorTests {
    static let secret = "a-shared-secret-of-at-least-32-bytes!!"
    static let now = Date().timeIntervalSince1970

    static func settings() -> AccessSettings {
        var s = AccessSettings()
        s.tokens = [.init(id: "choray-pacs", sha256: JWTMaker.sha256Hex("pacs-secret-token"), roles: [.pacs], hospital: "Chợ Rẫy"),
                    .init(id: "bachmai-admin", sha256: JWTMaker.sha256Hex("admin-secret-token").uppercased(), roles: [.admin],
                          hospital: "Bạch Mai")]
        var jwt = AccessSettings.JWT(issuer: "https://sso.health.example", audience: "imaging-index",
                                     keys: [.init(kid: nil, kind: .hs256(secret: secret))])
        jwt.leewaySeconds = 0
        s.jwt = jwt
        return s
    }

    static func claims(_ changes: [String: Any] = [:]) -> [String: Any] {
        var c: [String: Any] = ["iss": "https://sso.health.example", "aud": "imaging-index", "sub": "dr.lan",
                                "exp": now + 600, "roles": ["radiologist"], "hospital": "Bạch Mai"]
        for (k, v) in changes { c[k] = v }
        return c
    }

    func refusal(_ auth: Authenticator, _ header: String?) async -> AccessError.Code? {
        do {
            _ = try await auth.authenticate(authorization: header)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func apiTokensNameTheirHolderAndRoles() async throws {
        let auth = try await Authenticator.make(Self.settings())
        let pacs = try await auth.authenticate(authorization: "Bearer pacs-secret-token")
        #expect(pacs == Principal(actor: "token:choray-pacs", hospital: "Chợ Rẫy", permissions: [.store]))
        let admin = try await auth.authenticate(authorization: "bearer admin-secret-token")
        #expect(admin.permissions == Set(Permission.allCases) && admin.hospital == "Bạch Mai")
        #expect(await refusal(auth, "Bearer pacs-secret-tokeN") == .unauthenticated)
        #expect(await refusal(auth, nil) == .unauthenticated)
        #expect(await refusal(auth, "") == .unauthenticated)
        #expect(await refusal(auth, "Basic cGFjczpzZWNyZXQ=") == .unauthenticated)
    }

    @Test func aValidJWTGivesItsSubjectRolesAndHospital() async throws {
        let auth = try await Authenticator.make(Self.settings())
        let p = try await auth.authenticate(authorization: "Bearer " + JWTMaker.hs256(Self.claims(), secret: Self.secret))
        #expect(p == Principal(actor: "jwt:dr.lan", hospital: "Bạch Mai", permissions: [.query, .retrieve]))
        // A single role as a string, an audience list, unknown roles of other systems ignored.
        let q = try await auth.authenticate(authorization: "Bearer " + JWTMaker.hs256(
            Self.claims(["roles": "PACS", "aud": ["other", "imaging-index"]]), secret: Self.secret))
        #expect(q.permissions == [.store])
        let r = try await auth.authenticate(authorization: "Bearer " + JWTMaker.hs256(
            Self.claims(["roles": ["billing", "radiologist"]]), secret: Self.secret))
        #expect(r.permissions == [.query, .retrieve])
    }

    @Test func jwtsThatMustNotPassAreRefused() async throws {
        let auth = try await Authenticator.make(Self.settings())
        func code(_ token: String) async -> AccessError.Code? { await refusal(auth, "Bearer " + token) }
        #expect(await code(JWTMaker.hs256(Self.claims(["exp": Self.now - 10]), secret: Self.secret)) == .unauthenticated)
        #expect(await code(JWTMaker.hs256(Self.claims(["nbf": Self.now + 300]), secret: Self.secret)) == .unauthenticated)
        #expect(await code(JWTMaker.hs256(Self.claims(["iss": "https://evil.example"]), secret: Self.secret)) == .unauthenticated)
        #expect(await code(JWTMaker.hs256(Self.claims(["aud": "another-service"]), secret: Self.secret)) == .unauthenticated)
        var noExpiry = Self.claims()
        noExpiry["exp"] = nil
        #expect(await code(JWTMaker.hs256(noExpiry, secret: Self.secret)) == .unauthenticated)
        #expect(await code(JWTMaker.hs256(Self.claims(), secret: "another-secret-of-at-least-32-bytes!!")) == .unauthenticated)
        // A payload changed after signing.
        let good = JWTMaker.hs256(Self.claims(), secret: Self.secret).split(separator: ".")
        let forged = good[0] + "." + JWTMaker.base64url(JWTMaker.json(Self.claims(["roles": ["admin"]]))) + "." + good[2]
        #expect(await code(String(forged)) == .unauthenticated)
        // alg "none" with no signature.
        let none = JWTMaker.base64url(JWTMaker.json(["alg": "none", "typ": "JWT"])) + "."
            + JWTMaker.base64url(JWTMaker.json(Self.claims(["roles": ["admin"]]))) + "."
        #expect(await code(none) == .unauthenticated)
        // A token without the hospital claim is authenticated but cannot be placed: refused (403).
        var noHospital = Self.claims()
        noHospital["hospital"] = nil
        #expect(await code(JWTMaker.hs256(noHospital, secret: Self.secret)) == .forbidden)
    }

    @Test func es256KeysVerifyAndOthersDoNot() async throws {
        let key = P256.Signing.PrivateKey()
        var settings = AccessSettings()
        settings.jwt = .init(issuer: "https://sso.health.example", audience: nil,
                             keys: [.init(kid: "k1", kind: .es256(pem: key.publicKey.pemRepresentation))])
        let auth = try await Authenticator.make(settings)
        let token = try JWTMaker.es256(Self.claims(), key: key, kid: "k1")
        #expect(try await auth.authenticate(authorization: "Bearer " + token).actor == "jwt:dr.lan")
        let other = try JWTMaker.es256(Self.claims(), key: P256.Signing.PrivateKey(), kid: "k1")
        #expect(await refusal(auth, "Bearer " + other) == .unauthenticated)
        // An HS256 token "signed" with the public key's text (algorithm confusion) is refused.
        let confused = JWTMaker.hs256(Self.claims(), secret: key.publicKey.pemRepresentation, kid: "k1")
        #expect(await refusal(auth, "Bearer " + confused) == .unauthenticated)
    }

    @Test func settingsThatCannotWorkAreRefusedAtStart() async {
        var short = AccessSettings()
        short.jwt = .init(issuer: "x", audience: nil, keys: [.init(kid: nil, kind: .hs256(secret: "short"))])
        await #expect(throws: AccessError.self) { _ = try await Authenticator.make(short) }
        var badPEM = AccessSettings()
        badPEM.jwt = .init(issuer: "x", audience: nil, keys: [.init(kid: nil, kind: .es256(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"))])
        await #expect(throws: AccessError.self) { _ = try await Authenticator.make(badPEM) }
        var badHash = AccessSettings()
        badHash.tokens = [.init(id: "t", sha256: "not-hex", roles: [.admin], hospital: "H")]
        await #expect(throws: AccessError.self) { _ = try await Authenticator.make(badHash) }
    }

    @Test func developmentModeLetsEveryoneInAsAdministrator() async throws {
        var settings = AccessSettings()
        settings.developmentMode = true
        let p = try await Authenticator.make(settings).authenticate(authorization: nil)
        #expect(p == .development && p.may(.admin))
    }

    @Test func nothingConfiguredMeansNobodyGetsIn() async throws {
        let auth = try await Authenticator.make(AccessSettings())
        #expect(await refusal(auth, "Bearer anything") == .unauthenticated)
        #expect(await refusal(auth, "Bearer a.b.c") == .unauthenticated)
    }
}

@Suite struct RoleAndScopeTests {
    @Test func rolesGiveTheirPermissions() {
        #expect(Role.pacs.permissions == [.store])
        #expect(Role.radiologist.permissions == [.query, .retrieve])
        #expect(Role.admin.permissions == Set(Permission.allCases))
        #expect(Role.permissions(of: [.pacs, .radiologist]) == [.store, .query, .retrieve])
    }

    @Test func theSharingRestrictionIsTheOwnHospitalUnlessAdminOrOverride() {
        let radiologist = Principal(actor: "jwt:a", hospital: "Huế", permissions: Role.radiologist.permissions)
        #expect(SharingScope.restriction(for: radiologist, override: nil) == "Huế")
        #expect(SharingScope.restriction(for: radiologist, override: "") == "Huế")
        #expect(SharingScope.restriction(for: radiologist, override: "trauma, unconscious") == nil)
        let admin = Principal(actor: "token:x", hospital: "Huế", permissions: Role.admin.permissions)
        #expect(SharingScope.restriction(for: admin, override: nil) == nil)
    }
}
