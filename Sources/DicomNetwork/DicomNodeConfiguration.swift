/// What the DIMSE node is and whom it talks to.
public struct DicomNodeConfiguration: Sendable {
    public enum Permission: String, Sendable, Hashable, CaseIterable, Codable {
        case store, query, retrieve
    }

    /// A known DICOM peer (a hospital's PACS or a radiologist's viewer).
    public struct Peer: Sendable, Hashable {
        public var aeTitle: String
        /// The address it must call from (and, for C-MOVE, where it listens). nil: any address.
        public var host: String?
        /// Its listening port, for C-MOVE destinations.
        public var port: UInt16?
        public var hospital: String
        public var permissions: Set<Permission>
        /// Its queries and retrieves see opted-out persons' studies of every hospital (an
        /// emergency department's viewer): each one is audited as an emergency override.
        public var emergencyOverride: Bool
        /// When set, the peer must call over TLS with the client certificate of this SHA-256
        /// fingerprint (64 hex digits, lowercase, no colons).
        public var certificateSHA256: String?

        public init(aeTitle: String, host: String?, port: UInt16?, hospital: String,
                    permissions: Set<Permission> = Set(Permission.allCases), emergencyOverride: Bool = false,
                    certificateSHA256: String? = nil) {
            self.aeTitle = aeTitle
            self.host = host
            self.port = port
            self.hospital = hospital
            self.permissions = permissions
            self.emergencyOverride = emergencyOverride
            self.certificateSHA256 = certificateSHA256
        }
    }

    /// DICOM over TLS (PS3.15 B.1): the node's certificate and key, the certificates trusted to
    /// sign peers' client certificates, and whether a client certificate is required.
    public struct TLS: Sendable, Hashable {
        public var certificatePath: String
        public var keyPath: String
        public var trustedCertificatesPath: String?
        public var requireClientCertificate: Bool
        /// The TLS listener's port (2762 is DICOM's registered TLS port).
        public var port: UInt16
        /// Also listen without TLS on `port` (false: TLS only).
        public var alsoPlain: Bool

        public init(certificatePath: String, keyPath: String, trustedCertificatesPath: String? = nil,
                    requireClientCertificate: Bool = false, port: UInt16 = 2762, alsoPlain: Bool = true) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.trustedCertificatesPath = trustedCertificatesPath
            self.requireClientCertificate = requireClientCertificate
            self.port = port
            self.alsoPlain = alsoPlain
        }
    }

    public var aeTitle = "IMAGINGINDEX"
    public var port: UInt16 = 11112
    /// nil or "": every interface.
    public var bindAddress: String?
    public var peers: [Peer] = []
    /// nil: no TLS listener.
    public var tls: TLS?
    /// Lets any calling AE in with every permission. For testing only; off by default.
    public var acceptAnyPeer = false
    public var maxReceivePDU: UInt32 = 65536
    public var acseTimeoutSeconds: UInt32 = 30
    /// Also the idle timeout of an open association.
    public var dimseTimeoutSeconds: UInt32 = 60
    public var maxAssociations: UInt32 = 32
    /// The most C-FIND matches one query returns (more are cut, with a warning in the log).
    public var maxFindMatches = 10_000
    /// Bounded wait for associations in flight at shutdown.
    public var shutdownGraceSeconds: UInt32 = 30

    public init() {}

    public func peer(aeTitle: String) -> Peer? {
        peers.first { $0.aeTitle == aeTitle }
    }

    /// Each configured peer's hospital, by AE title (the hospital of what it sends).
    public var hospitalsByAETitle: [String: String] {
        Dictionary(peers.map { ($0.aeTitle, $0.hospital) }, uniquingKeysWith: { first, _ in first })
    }
}
