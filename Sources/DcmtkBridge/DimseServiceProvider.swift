import Foundation
import DicomCore
internal import CDcmtkShim

/// An A-ASSOCIATE-RQ as the peer sent it.
public struct AssociationRequest: Sendable, Hashable {
    public var id: UInt64
    public var callingAETitle: String
    public var calledAETitle: String
    public var peerHost: String
    public var peerMaxPDU: UInt32
    /// The association came over TLS.
    public var tls: Bool
    /// The client certificate's subject as `openssl x509 -noout -subject` prints it after
    /// "subject=" ("C = VN, O = Bach Mai Hospital, CN = BACHMAI_PACS"); nil without TLS or when the
    /// client sent no certificate. A certificate reported here verified against the trusted file.
    public var peerCertificateSubject: String?
    /// SHA-256 of the client certificate (DER): 64 lowercase hex digits, no colons; nil as above.
    public var peerCertificateSHA256: String?

    public init(id: UInt64, callingAETitle: String, calledAETitle: String, peerHost: String, peerMaxPDU: UInt32,
                tls: Bool = false, peerCertificateSubject: String? = nil, peerCertificateSHA256: String? = nil) {
        self.id = id
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.peerHost = peerHost
        self.peerMaxPDU = peerMaxPDU
        self.tls = tls
        self.peerCertificateSubject = peerCertificateSubject
        self.peerCertificateSHA256 = peerCertificateSHA256
    }
}

/// A-ASSOCIATE-RJ parameters (PS3.8 Table 9-21).
public struct AssociationRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var result: UInt8
    public var source: UInt8
    public var reason: UInt8

    public init(result: UInt8, source: UInt8, reason: UInt8) {
        self.result = result
        self.source = source
        self.reason = reason
    }

    public static let noReasonGiven = AssociationRejection(result: 1, source: 1, reason: 1)
    public static let callingAETitleNotRecognized = AssociationRejection(result: 1, source: 1, reason: 3)
    public static let calledAETitleNotRecognized = AssociationRejection(result: 1, source: 1, reason: 7)
    public static let localLimitExceeded = AssociationRejection(result: 2, source: 3, reason: 2)

    public var description: String {
        switch (source, reason) {
        case (1, 3): "calling AE title not recognized"
        case (1, 7): "called AE title not recognized"
        case (3, 2): "local limit exceeded"
        case (1, 1): "no reason given"
        default: "result \(result) source \(source) reason \(reason)"
        }
    }
}

public enum QueryRetrieveModel: String, Sendable {
    case patientRoot = "PATIENT"
    case studyRoot = "STUDY"
}

/// One stored file a C-MOVE or C-GET sends.
public struct RetrieveFile: Sendable, Hashable {
    public var path: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntaxUID: String

    public init(path: String, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String) {
        self.path = path
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
    }
}

public enum RetrieveKind: Sendable, Hashable {
    case move(destinationAETitle: String)
    case get
}

public enum RetrieveResolution: Sendable {
    /// Send these files; for C-MOVE to this host and port.
    case send([RetrieveFile], destination: (host: String, port: UInt16)?)
    case refuse(DimseStatus, comment: String?)
}

/// A DIMSE operation's answer: a status and, for failures, an error comment (≤ 64 characters,
/// never patient data).
public struct DimseAnswer: Sendable {
    public var status: DimseStatus
    public var comment: String?
    public init(_ status: DimseStatus, comment: String? = nil) {
        self.status = status
        self.comment = comment
    }
}

/// What the service provider asks of ImagingIndex. Every method is called on a DCMTK worker
/// thread (one per association), never on Swift's cooperative pool, and may block.
public protocol DimseServiceProviderDelegate: AnyObject, Sendable {
    /// nil to accept, else why to reject.
    func shouldAccept(_ request: AssociationRequest) -> AssociationRejection?
    func associationEnded(_ id: UInt64, aborted: Bool)
    func echo(association: UInt64) -> DimseAnswer
    /// The received instance is in `file` (Part 10, bit-preserving); take it (move it) or leave it.
    func store(association: UInt64, file: String, sopClassUID: String, sopInstanceUID: String,
               transferSyntaxUID: String) -> DimseAnswer
    /// A C-STORE answered without `store`: not a storage context (0x0122), or the data set could
    /// not be written (0xA700: a full disk). For logs and counts.
    func storeRefused(association: UInt64, sopInstanceUID: String, answer: DimseAnswer)
    /// Answer matches through `respond`, which returns true once the peer has cancelled.
    /// `fuzzyNames`: the requestor negotiated fuzzy semantic matching of person names.
    func find(association: UInt64, model: QueryRetrieveModel, identifier: DicomFile, fuzzyNames: Bool,
              respond: (DicomFile) -> Bool) -> DimseAnswer
    func retrieve(association: UInt64, kind: RetrieveKind, model: QueryRetrieveModel,
                  identifier: DicomFile) -> RetrieveResolution
    /// A connection closed before any association on it (silent until the ACSE timeout, not DICOM,
    /// a failed TLS handshake, a flood of waiting connections). For logs and counts.
    func connectionDropped(peerHost: String, reason: String)
}

/// DCMTK's DIMSE service class provider: a pool of association threads on one port.
/// `run()` blocks its thread until `stop()`; associations in flight finish first.
public final class DimseServiceProvider: @unchecked Sendable {  // the handle is used by run() and stop(), which the shim makes thread-safe
    public struct Configuration: Sendable {
        public var aeTitle: String
        public var bindAddress: String?
        public var port: UInt16
        public var maxReceivePDU: UInt32 = 65536
        public var acseTimeoutSeconds: UInt32 = 30
        public var dimseTimeoutSeconds: UInt32 = 60
        public var maxAssociations: UInt32 = 32
        /// After `stop()`, how long associations in flight may take to end; those still open then
        /// are aborted. 0: no bound.
        public var shutdownGraceSeconds: UInt32 = 30
        public var temporaryFolder: String
        /// DICOM TLS on the port: the server's PEM certificate (chain). nil = plain TCP.
        public var certificatePath: String?
        /// The PEM private key (unencrypted) of `certificatePath`.
        public var keyPath: String?
        /// PEM file of the CA or peer certificates trusted to verify client certificates.
        public var trustedCertificatesPath: String?
        /// true: the TLS handshake fails unless the client presents a certificate that verifies
        /// against `trustedCertificatesPath` (which must then be set); false: a client certificate
        /// is optional, but verified when sent.
        public var requireClientCertificate: Bool = false

        public init(aeTitle: String, bindAddress: String? = nil, port: UInt16, temporaryFolder: String) {
            self.aeTitle = aeTitle
            self.bindAddress = bindAddress
            self.port = port
            self.temporaryFolder = temporaryFolder
        }
    }

    private let handle: OpaquePointer
    private let context: Unmanaged<DelegateBox>
    private let strings: [UnsafeMutablePointer<CChar>]

    public init(configuration: Configuration, delegate: any DimseServiceProviderDelegate) throws(DcmtkError) {
        try Dcmtk.initialize()
        let box = Unmanaged.passRetained(DelegateBox(delegate))
        let ae = strdup(configuration.aeTitle)!
        let bind = strdup(configuration.bindAddress ?? "")!
        let tmp = strdup(configuration.temporaryFolder)!
        // "" for an unset TLS setting, as the shim reads NULL and "" alike.
        let certificate = strdup(configuration.certificatePath ?? "")!
        let key = strdup(configuration.keyPath ?? "")!
        let trusted = strdup(configuration.trustedCertificatesPath ?? "")!
        let owned: [UnsafeMutablePointer<CChar>] = [ae, bind, tmp, certificate, key, trusted]
        var config = cdcm_scp_config()
        config.ae_title = UnsafePointer(ae)
        config.bind_address = UnsafePointer(bind)
        config.port = configuration.port
        config.max_receive_pdu = configuration.maxReceivePDU
        config.acse_timeout_seconds = configuration.acseTimeoutSeconds
        config.dimse_timeout_seconds = configuration.dimseTimeoutSeconds
        config.max_associations = configuration.maxAssociations
        config.shutdown_grace_seconds = configuration.shutdownGraceSeconds
        config.temporary_folder = UnsafePointer(tmp)
        config.context = box.toOpaque()
        config.on_association = onAssociation
        config.on_association_end = onAssociationEnd
        config.on_echo = onEcho
        config.on_store = onStore
        config.on_store_refused = onStoreRefused
        config.on_find = onFind
        config.on_move = onMove
        config.on_get = onGet
        config.on_connection_dropped = onConnectionDropped
        config.tls_certificate_file = UnsafePointer(certificate)
        config.tls_private_key_file = UnsafePointer(key)
        config.tls_trusted_certificates_file = UnsafePointer(trusted)
        config.tls_require_client_certificate = configuration.requireClientCertificate ? 1 : 0
        var error = cdcm_error()
        var out: OpaquePointer?
        let status = cdcm_scp_create(&config, &out, &error)
        guard status == 0, let out else {
            box.release()
            owned.forEach { free($0) }
            throw DcmtkError(status: status, error: error)
        }
        handle = out
        context = box
        strings = owned
    }

    deinit {
        cdcm_scp_free(handle)
        context.release()
        strings.forEach { free($0) }
    }

    /// The port bound.
    public var port: UInt16 { cdcm_scp_port(handle) }

    /// Accepts associations until `stop()`; returns after those in flight have ended.
    public func run() throws(DcmtkError) {
        var error = cdcm_error()
        let status = cdcm_scp_run(handle, &error)
        if status != 0 { throw DcmtkError(status: status, error: error) }
    }

    /// Stops accepting; `run()` returns once the associations in flight are done, or aborted past
    /// `shutdownGraceSeconds`. Thread-safe.
    public func stop() { cdcm_scp_stop(handle) }

    /// How many associations the last `run()` aborted at its stop (they outlived the grace period).
    public var abortedAtStop: Int { Int(cdcm_scp_aborted_at_stop(handle)) }
}

/// Holds the delegate for the C callbacks' context pointer.
private final class DelegateBox {
    let delegate: any DimseServiceProviderDelegate
    init(_ delegate: any DimseServiceProviderDelegate) { self.delegate = delegate }
}

private func delegate(_ context: UnsafeMutableRawPointer?) -> any DimseServiceProviderDelegate {
    Unmanaged<DelegateBox>.fromOpaque(context!).takeUnretainedValue().delegate
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}

/// Copies an error comment into the shim's 65-byte buffer (64 characters at most, ASCII).
private func fill(_ buffer: UnsafeMutablePointer<CChar>?, _ comment: String?) {
    guard let buffer, let comment else { return }
    let bytes = Array(comment.utf8.filter { $0 >= 0x20 && $0 < 0x7F }.prefix(64))
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}

private func model(_ c: CChar) -> QueryRetrieveModel {
    c == CChar(UInt8(ascii: "P")) ? .patientRoot : .studyRoot
}

private let onAssociation: cdcm_association_callback = { context, info, reject in
    guard let info = info?.pointee else { return 0 }
    let request = AssociationRequest(id: info.association_id, callingAETitle: string(info.calling_ae),
                                     calledAETitle: string(info.called_ae), peerHost: string(info.peer_host),
                                     peerMaxPDU: info.max_pdu_peer, tls: info.tls != 0,
                                     peerCertificateSubject: info.peer_certificate_subject.map { String(cString: $0) },
                                     peerCertificateSHA256: info.peer_certificate_sha256.map { String(cString: $0) })
    guard let rejection = delegate(context).shouldAccept(request) else { return 1 }
    reject?.pointee = cdcm_reject(result: rejection.result, source: rejection.source, reason: rejection.reason)
    return 0
}

private let onAssociationEnd: cdcm_association_end_callback = { context, id, aborted in
    delegate(context).associationEnded(id, aborted: aborted != 0)
}

private let onConnectionDropped: cdcm_connection_dropped_callback = { context, peer, reason in
    delegate(context).connectionDropped(peerHost: string(peer), reason: string(reason))
}

private let onEcho: cdcm_echo_callback = { context, id in
    delegate(context).echo(association: id).status.code
}

private let onStore: cdcm_store_callback = { context, id, path, sopClass, sopInstance, syntax, comment in
    let answer = delegate(context).store(association: id, file: string(path), sopClassUID: string(sopClass),
                                         sopInstanceUID: string(sopInstance), transferSyntaxUID: string(syntax))
    fill(comment, answer.comment)
    return answer.status.code
}

private let onStoreRefused: cdcm_store_refused_callback = { context, id, sopInstance, status, comment in
    let text = string(comment)
    delegate(context).storeRefused(association: id, sopInstanceUID: string(sopInstance),
                                   answer: DimseAnswer(DimseStatus(status), comment: text.isEmpty ? nil : text))
}

private let onFind: cdcm_find_callback = { context, id, m, options, identifier, responder, comment in
    guard let identifier else { return DimseStatus.cannotUnderstand.code }
    let request = DicomFile(handle: identifier, owned: false)
    let fuzzy = options & CDCM_FIND_FUZZY_NAMES != 0
    let answer = delegate(context).find(association: id, model: model(m), identifier: request, fuzzyNames: fuzzy) { match in
        cdcm_find_respond(responder, match.handle) != 0
    }
    fill(comment, answer.comment)
    return answer.status.code
}

private func retrieve(_ context: UnsafeMutableRawPointer?, _ id: UInt64, _ m: CChar, _ identifier: OpaquePointer?,
                      _ moveDestination: UnsafePointer<CChar>?, _ destination: UnsafeMutablePointer<cdcm_move_destination>?,
                      _ request: OpaquePointer?, _ comment: UnsafeMutablePointer<CChar>?) -> UInt16 {
    guard let identifier else { return DimseStatus.cannotUnderstand.code }
    let kind: RetrieveKind = moveDestination.map { .move(destinationAETitle: String(cString: $0)) } ?? .get
    let resolution = delegate(context).retrieve(association: id, kind: kind, model: model(m),
                                                identifier: DicomFile(handle: identifier, owned: false))
    switch resolution {
    case .refuse(let status, let text):
        fill(comment, text)
        return status.code
    case .send(let files, let target):
        if let target, let destination {
            withUnsafeMutableBytes(of: &destination.pointee.host) { raw in
                let bytes = Array(target.host.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            destination.pointee.port = target.port
        }
        for file in files {
            _ = cdcm_retrieve_add_file(request, file.path, file.sopClassUID, file.sopInstanceUID, file.transferSyntaxUID)
        }
        return DimseStatus.success.code
    }
}

private let onMove: cdcm_retrieve_callback = { context, id, m, identifier, moveDestination, destination, request, comment in
    retrieve(context, id, m, identifier, moveDestination, destination, request, comment)
}

private let onGet: cdcm_retrieve_callback = { context, id, m, identifier, _, destination, request, comment in
    retrieve(context, id, m, identifier, nil, destination, request, comment)
}
