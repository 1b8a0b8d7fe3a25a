import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import DicomNetwork
import DicomWebAPI
import Thumbnails
import AccessControl

extension ImagingIndexNode {
    /// The DIMSE listener of this node (port bound now, so a taken port fails here).
    public func makeDimseService(logger: Logger = Logger(label: "imaging-index.dimse")) throws(ImagingIndexError)
        -> (service: DimseService, port: UInt16, run: @Sendable () async throws -> Void) {
        let handlers = DicomNodeHandlers(pipeline: pipeline, index: index, store: store,
                                         extraTags: configuration.extraTags, identity: configuration.identity,
                                         audit: audit, logger: logger)
        let node = DimseNode(configuration: configuration.dicom, storage: handlers, query: handlers, retrieve: handlers,
                             refusals: handlers, logger: logger)
        let service = DimseService(node: node, temporaryFolder: store.temporaryRoot.path, logger: logger)
        do {
            let listeners = try service.makeListeners()
            let port = (listeners.first { !$0.tls } ?? listeners[0]).provider.port
            return (service, port, { try await service.run(listeners) })
        } catch {
            throw ImagingIndexError(.configuration, error.message)
        }
    }

    /// Runs the node's services until SIGINT or SIGTERM, then shuts down gracefully.
    public func serve(logger: Logger) async throws {
        if getenv("TCP_NODELAY") == nil { setenv("TCP_NODELAY", "1", 1) }
        // A parent may have started us with SIGTERM/SIGINT blocked: unblock them, or a graceful
        // shutdown could never be asked for.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let registry = Self.bootstrapMetrics()
        if configuration.access.developmentMode {
            logger.warning("DEVELOPMENT MODE: every HTTP request is let in as an administrator and every DICOM peer is accepted; never use this with patient data")
        }
        if configuration.access.tokens.isEmpty && configuration.access.jwt == nil && !configuration.access.developmentMode
            && configuration.http.enabled {
            logger.notice("no API tokens or JWT keys are configured: every DICOMweb and admin request will be refused (401)")
        }
        // Studies indexed before their hospital was known get it from their sending AE title.
        let assigned = (try? index.assignHospitals(bySourceAETitle: configuration.dicom.hospitalsByAETitle)) ?? 0
        if assigned > 0 { logger.info("hospital recorded for earlier studies", metadata: ["count": "\(assigned)"]) }
        let dimse = try makeDimseService(logger: logger)
        // Services stop in reverse order: the HTTP server and the DICOM listener first, then the
        // thumbnail generator.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let thumbnails { services.append(.init(service: thumbnails)) }
        services.append(.init(service: DimseRunner(body: dimse.run)))
        if configuration.http.enabled {
            let backend = DicomWebBackendAdapter(pipeline: pipeline, metrics: { registry.emitToString() }, audit: audit,
                                                 logger: logger)
            let renderer = ThumbnailRenderer(compressionLevel: configuration.thumbnails.compressionLevel)
            let web = WebThumbnails(
                maker: thumbnails?.maker ?? ThumbnailMaker(source: IndexThumbnailSource(index: index, store: store), renderer: renderer),
                cache: thumbnails?.cache, renderer: renderer, defaultSize: configuration.thumbnails.size)
            let authenticator: Authenticator
            do {
                authenticator = try await Authenticator.make(configuration.access)
            } catch {
                throw ImagingIndexError(.configuration, "access: \(error.message)")
            }
            services.append(.init(service: DicomWebServer(configuration: configuration.http, backend: backend,
                                                          authenticator: authenticator, jobs: JobRunner(node: self, logger: logger), thumbnails: web,
                                                          logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        shutdown()
    }
}

extension ImagingIndexNode {
    private static let metricsRegistry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// swift-metrics goes to one Prometheus registry per process (served at /metrics).
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        metricsRegistry.withLock { registry in
            if let registry { return registry }
            let created = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: created))
            registry = created
            return created
        }
    }
}

/// Adapts the pre-bound listener to a `Service`.
struct DimseRunner: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws { try await body() }
}
