import Foundation
import Logging
import ServiceLifecycle
import DcmtkBridge

/// The DIMSE listener as a swift-service-lifecycle `Service`: DCMTK's accept loop runs on a
/// thread of its own; graceful shutdown stops accepting and lets associations in flight finish.
public final class DimseService: Service, Sendable {
    let node: DimseNode
    let temporaryFolder: String
    let logger: Logger

    public init(node: DimseNode, temporaryFolder: String, logger: Logger = Logger(label: "imaging-index.dimse")) {
        self.node = node
        self.temporaryFolder = temporaryFolder
        self.logger = logger
    }

    /// One listening socket: plain TCP or DICOM TLS.
    public struct Listener: Sendable {
        public let provider: DimseServiceProvider
        public let tls: Bool
    }

    /// Binds the ports now (so a taken port is reported before anything else starts): the plain
    /// listener unless TLS only, and the TLS listener when `dicom.tls` is configured.
    public func makeListeners() throws(NetworkError) -> [Listener] {
        let c = node.configuration
        func make(port: UInt16, tls: DicomNodeConfiguration.TLS?) throws(NetworkError) -> Listener {
            var config = DimseServiceProvider.Configuration(aeTitle: c.aeTitle, bindAddress: c.bindAddress, port: port,
                                                            temporaryFolder: temporaryFolder)
            config.maxReceivePDU = c.maxReceivePDU
            config.acseTimeoutSeconds = c.acseTimeoutSeconds
            config.dimseTimeoutSeconds = c.dimseTimeoutSeconds
            config.maxAssociations = c.maxAssociations
            config.shutdownGraceSeconds = c.shutdownGraceSeconds
            if let tls {
                config.certificatePath = tls.certificatePath
                config.keyPath = tls.keyPath
                config.trustedCertificatesPath = tls.trustedCertificatesPath
                config.requireClientCertificate = tls.requireClientCertificate
            }
            do {
                return Listener(provider: try DimseServiceProvider(configuration: config, delegate: node), tls: tls != nil)
            } catch {
                throw NetworkError(.startFailed, "cannot start the DICOM\(tls == nil ? "" : " TLS") listener on port \(port): \(error.message)")
            }
        }
        var listeners: [Listener] = []
        if c.tls?.alsoPlain ?? true { listeners.append(try make(port: c.port, tls: nil)) }
        if let tls = c.tls { listeners.append(try make(port: tls.port, tls: tls)) }
        return listeners
    }

    public func run() async throws {
        try await run(try makeListeners())
    }

    /// Runs every listener's accept loop on a thread of its own until shutdown.
    public func run(_ listeners: [Listener]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for listener in listeners {
                group.addTask { try await self.run(listener) }
            }
            try await group.waitForAll()
        }
    }

    func run(_ listener: Listener) async throws {
        let provider = listener.provider
        logger.info(listener.tls ? "DICOM TLS listener started" : "DICOM listener started", metadata: [
            "dicom.ae_title": "\(node.configuration.aeTitle)", listener.tls ? "dicom.tls_port" : "dicom.port": "\(provider.port)",
            "dicom.max_associations": "\(node.configuration.maxAssociations)"])
        let finished: AsyncStream<Result<Void, DcmtkError>>
        let continuation: AsyncStream<Result<Void, DcmtkError>>.Continuation
        (finished, continuation) = AsyncStream.makeStream()
        let thread = Thread {
            do throws(DcmtkError) {
                try provider.run()
                continuation.yield(.success(()))
            } catch {
                continuation.yield(.failure(error))
            }
            continuation.finish()
        }
        thread.name = "imaging-index.dimse-accept"
        thread.start()
        let logger = self.logger
        let node = self.node
        let result = await withTaskCancellationOrGracefulShutdownHandler {
            var outcome: Result<Void, DcmtkError> = .success(())
            for await r in finished { outcome = r }
            return outcome
        } onCancelOrGracefulShutdown: {
            logger.info("DICOM listener stopping: no new associations; waiting for those in flight",
                        metadata: ["dicom.open_associations": "\(node.openAssociations)",
                                   "dicom.shutdown_grace_seconds": "\(node.configuration.shutdownGraceSeconds)"])
            provider.stop()
        }
        if provider.abortedAtStop > 0 {
            logger.warning("associations still open after the shutdown grace period were aborted",
                           metadata: ["dicom.aborted_associations": "\(provider.abortedAtStop)"])
        }
        logger.info("DICOM listener stopped")
        if case .failure(let error) = result {
            throw NetworkError(.startFailed, "the DICOM listener failed: \(error.message)")
        }
    }
}
