import Hummingbird
import NIOCore

/// The request context of the DICOMweb routes: Hummingbird's basic one plus the peer's address
/// (for the audit trail) and the request's identity and access record.
public struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let access = RequestAccess()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
