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

        public init(aeTitle: String, host: String?, port: UInt16?, hospital: String,
                    permissions: Set<Permission> = Set(Permission.allCases)) {
            self.aeTitle = aeTitle
            self.host = host
            self.port = port
            self.hospital = hospital
            self.permissions = permissions
        }
    }

    public var aeTitle = "IMAGINGINDEX"
    public var port: UInt16 = 11112
    /// nil or "": every interface.
    public var bindAddress: String?
    public var peers: [Peer] = []
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
}
