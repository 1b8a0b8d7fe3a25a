import DcmtkBridge

/// Decides whether an association may open, from the configured peers.
public struct AssociationPolicy: Sendable {
    public let configuration: DicomNodeConfiguration

    public init(configuration: DicomNodeConfiguration) {
        self.configuration = configuration
    }

    /// The peer the request comes from, or why it is rejected. With `acceptAnyPeer` an unknown
    /// peer is let in as a stand-in with every permission.
    public func evaluate(_ request: AssociationRequest) -> Result<DicomNodeConfiguration.Peer, AssociationRejection> {
        guard request.calledAETitle == configuration.aeTitle else {
            return .failure(.calledAETitleNotRecognized)
        }
        if let peer = configuration.peer(aeTitle: request.callingAETitle) {
            if let expected = peer.certificateSHA256, !(request.tls && request.peerCertificateSHA256 == expected) {
                // A peer pinned to a client certificate calls over TLS with that certificate or not at all.
                return .failure(.callingAETitleNotRecognized)
            }
            if let host = peer.host, !host.isEmpty, !Self.sameHost(host, request.peerHost) {
                // Known AE title from an unexpected address: treat it as not recognised.
                return configuration.acceptAnyPeer ? .success(peer) : .failure(.callingAETitleNotRecognized)
            }
            return .success(peer)
        }
        if configuration.acceptAnyPeer {
            return .success(.init(aeTitle: request.callingAETitle, host: nil, port: nil, hospital: "(any peer)"))
        }
        return .failure(.callingAETitleNotRecognized)
    }

    static func sameHost(_ a: String, _ b: String) -> Bool {
        func normal(_ h: String) -> String {
            let lower = h.lowercased()
            if lower == "localhost" || lower == "::1" || lower == "::ffff:127.0.0.1" { return "127.0.0.1" }
            if lower.hasPrefix("::ffff:") { return String(lower.dropFirst(7)) }
            return lower
        }
        return normal(a) == normal(b)
    }
}
