/// How HTTP callers prove who they are: API tokens (only their SHA-256 is configured) and/or
/// signed JWTs from the health network's identity provider. Development mode lets everything in.
public struct AccessSettings: Sendable, Hashable {
    /// An API token: the SHA-256 (hex) of the secret the caller sends as `Authorization: Bearer`.
    public struct APIToken: Sendable, Hashable {
        public var id: String
        public var sha256: String
        public var roles: [Role]
        public var hospital: String

        public init(id: String, sha256: String, roles: [Role], hospital: String) {
            self.id = id
            self.sha256 = sha256.lowercased()
            self.roles = roles
            self.hospital = hospital
        }
    }

    /// Signed JWTs (`Authorization: Bearer <jwt>`): HS256 shared secrets and/or ES256 public keys,
    /// the issuer and audience they must name, and the claims holding roles and hospital.
    public struct JWT: Sendable, Hashable {
        public struct Key: Sendable, Hashable {
            public enum Kind: Sendable, Hashable {
                case hs256(secret: String)
                /// A PEM public key or certificate.
                case es256(pem: String)
            }
            /// nil: the key for tokens without `kid`.
            public var kid: String?
            public var kind: Kind
            public init(kid: String?, kind: Kind) {
                self.kid = kid
                self.kind = kind
            }
        }

        public var issuer: String
        /// nil: the audience is not checked.
        public var audience: String?
        public var keys: [Key]
        /// The claim with the role or roles (a string or a list of strings).
        public var roleClaim = "roles"
        public var hospitalClaim = "hospital"
        /// Seconds of clock difference tolerated for `exp` and `nbf`.
        public var leewaySeconds = 60

        public init(issuer: String, audience: String?, keys: [Key]) {
            self.issuer = issuer
            self.audience = audience
            self.keys = keys
        }
    }

    /// Everything is let in as an administrator: for a developer's machine only. Off by default,
    /// and loud in the log when on.
    public var developmentMode = false
    public var tokens: [APIToken] = []
    public var jwt: JWT?

    public init() {}
}
