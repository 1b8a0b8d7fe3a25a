import Hummingbird
import NIOCore

/// The request context of the DICOMweb routes: Hummingbird's basic one plus the peer's address
/// (for the audit trail).
public struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
