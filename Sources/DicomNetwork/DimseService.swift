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

    /// Binds the port now (so a taken port is reported before anything else starts).
    public func makeProvider() throws(NetworkError) -> DimseServiceProvider {
        let c = node.configuration
        var config = DimseServiceProvider.Configuration(aeTitle: c.aeTitle, bindAddress: c.bindAddress, port: c.port,
                                                        temporaryFolder: temporaryFolder)
        config.maxReceivePDU = c.maxReceivePDU
        config.acseTimeoutSeconds = c.acseTimeoutSeconds
        config.dimseTimeoutSeconds = c.dimseTimeoutSeconds
        config.maxAssociations = c.maxAssociations
        do {
            return try DimseServiceProvider(configuration: config, delegate: node)
        } catch {
            throw NetworkError(.startFailed, "cannot start the DICOM listener on port \(c.port): \(error.message)")
        }
    }

    public func run() async throws {
        let provider = try makeProvider()
        try await run(provider)
    }

    public func run(_ provider: DimseServiceProvider) async throws {
        logger.info("DICOM listener started", metadata: [
            "dicom.ae_title": "\(node.configuration.aeTitle)", "dicom.port": "\(provider.port)",
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
                        metadata: ["dicom.open_associations": "\(node.openAssociations)"])
            provider.stop()
        }
        logger.info("DICOM listener stopped")
        if case .failure(let error) = result {
            throw NetworkError(.startFailed, "the DICOM listener failed: \(error.message)")
        }
    }
}
