/// The HTTP side of `serve`: where it listens and its limits.
public struct DicomWebConfiguration: Sendable, Hashable {
    public var enabled = true
    public var port: Int = 8042
    public var bindAddress = "0.0.0.0"
    /// Most results one QIDO-RS request returns (a `limit` above it is lowered to it).
    public var maxResults = 1000
    /// IssuerOfPatientID that marks a PatientID as a citizen ID (look-ups across hospitals).
    public var nationalIssuer = "VN-CCCD"
    /// HTTPS: PEM certificate chain and private key (nil: plain HTTP).
    public var tls: TLSFiles?

    public struct TLSFiles: Sendable, Hashable {
        public var certificatePath: String
        public var keyPath: String
        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    public init() {}
}
