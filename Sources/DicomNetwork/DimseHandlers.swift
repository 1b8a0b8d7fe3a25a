import DicomCore
import DcmtkBridge

/// Who is on the other end of an association.
public struct AssociationContext: Sendable {
    public var id: UInt64
    public var callingAETitle: String
    public var peerHost: String
    public var peer: DicomNodeConfiguration.Peer
}

/// C-STORE: take the received file (move it into the store) and answer with a status.
public protocol StoreHandler: Sendable {
    func store(file: String, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
               context: AssociationContext) -> DimseAnswer
}

/// One C-FIND match: attributes keyed by tag (UTF-8 text), and the items of sequence return
/// keys the handler can fill (other sequence return keys are answered empty).
public struct FindAnswer: Sendable {
    public var attributes: [DicomTag: String]
    public var sequences: [DicomTag: [[DicomTag: String]]]

    public init(_ attributes: [DicomTag: String], sequences: [DicomTag: [[DicomTag: String]]] = [:]) {
        self.attributes = attributes
        self.sequences = sequences
    }
}

/// C-FIND: call `emit` with each match until it returns true (the peer cancelled) or the
/// matches end; return the final status.
public protocol QueryHandler: Sendable {
    func find(_ request: FindRequest, context: AssociationContext, limit: Int,
              emit: (FindAnswer) -> Bool) -> DimseAnswer
}

/// Told of every refusal the node makes itself (for the audit trail): an association rejected by
/// the AE policy, an operation the peer's role does not allow.
public protocol RefusalObserver: Sendable {
    func associationRejected(_ request: AssociationRequest, reason: String)
    /// `action`: `store`, `query`, `retrieve`.
    func operationRefused(_ context: AssociationContext, action: String, reason: String)
}

/// C-MOVE / C-GET: the stored files the identifier names.
public protocol RetrieveHandler: Sendable {
    func files(for request: FindRequest, context: AssociationContext) -> Result<[RetrieveFile], NetworkError>
}
