import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
import NIOSSL
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import DicomCore
import DicomIndex
import AccessControl

/// The HTTP server: DICOMweb under `/dicom-web` (QIDO-RS, WADO-RS, STOW-RS), WADO-URI at
/// `/wado`, health and metrics. A swift-service-lifecycle `Service` of the app's ServiceGroup.
public final class DicomWebServer: Service, Sendable {
    let configuration: DicomWebConfiguration
    let backend: any DicomWebBackend
    let jobs: (any JobRunning)?
    let thumbnails: WebThumbnails?
    let authenticator: Authenticator
    let logger: Logger
    private let boundPort = Mutex<Int?>(nil)
    private let onListening: @Sendable (Int) -> Void

    /// `onListening` is told the port once the socket listens (port 0 picks a free one).
    public init(configuration: DicomWebConfiguration, backend: any DicomWebBackend, authenticator: Authenticator,
                jobs: (any JobRunning)? = nil, thumbnails: WebThumbnails? = nil, logger: Logger = Logger(label: "imaging-index.http"),
                onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.configuration = configuration
        self.backend = backend
        self.jobs = jobs
        self.thumbnails = thumbnails
        self.authenticator = authenticator
        self.logger = logger
        self.onListening = onListening
    }

    public var port: Int? { boundPort.withLock { $0 } }

    public func run() async throws {
        let app = Application(
            router: makeRouter(),
            server: try makeServer(),
            configuration: .init(address: .hostname(configuration.bindAddress, port: configuration.port),
                                 serverName: "ImagingIndex"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? self.configuration.port
                self.boundPort.withLock { $0 = port }
                self.logger.info("HTTP listener started", metadata: ["http.port": "\(port)"])
                self.onListening(port)
            },
            logger: logger)
        try await app.run()
    }

    /// HTTP/1.1, over TLS when a certificate and key are configured.
    func makeServer() throws -> HTTPServerBuilder {
        guard let tls = configuration.tls else { return .http1() }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)
            var settings = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            settings.minimumTLSVersion = .tlsv12
            return try .tls(.http1(), tlsConfiguration: settings)
        } catch {
            throw DicomWebError(.internalServerError,
                                "cannot use the TLS certificate \(tls.certificatePath) and key \(tls.keyPath): \(error)")
        }
    }

    func makeRouter() -> Router<WebRequestContext> {
        let router = Router(context: WebRequestContext.self)
        router.add(middleware: AuditMiddleware(backend: backend))
        router.add(middleware: AccessMiddleware(authenticator: authenticator, logger: logger))
        router.add(middleware: ErrorLogMiddleware(logger: logger))
        addHealthRoutes(router)
        addQIDORoutes(router.group("dicom-web"))
        addWADORoutes(router.group("dicom-web"))
        addInstancePartRoutes(router.group("dicom-web"))
        if let thumbnails { addRenderedRoutes(router.group("dicom-web"), thumbnails: thumbnails) }
        addSTOWRoutes(router.group("dicom-web"))
        addWADOURIRoute(router)
        if let jobs { addJobRoutes(router, jobs: jobs) }
        return router
    }

    func addHealthRoutes(_ router: Router<WebRequestContext>) {
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { [backend] _, _ -> Response in
            let ready = await Self.blocking { (try? backend.index.count(IndexQuery(level: .patient, limit: 1))) != nil }
            return Response(status: ready ? .ok : .serviceUnavailable,
                            headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "index unavailable\n")))
        }
        router.get("metrics") { [backend] _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: backend.metricsText())))
        }
        // The audit trail, and its emergency overrides alone (the report for admins).
        let audit: @Sendable (Request, WebRequestContext) async throws -> Response = { [backend] request, _ in
            let parameters = Self.queryParameters(request.uri.query)
            func value(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
            var since: Date?
            if let text = value("since") {
                guard let date = ISO8601DateFormatter().date(from: text) ?? ISO8601DateFormatter().date(from: text + "T00:00:00Z") else {
                    throw DicomWebError(.badRequest, "since must be YYYY-MM-DD or an ISO 8601 time")
                }
                since = date
            }
            let limit = Int(value("limit") ?? "1000") ?? -1
            guard (1...100_000).contains(limit) else { throw DicomWebError(.badRequest, "limit must be 1 ... 100000") }
            let (start, actor, patient) = (since, value("who"), value("patient"))
            let overrides = request.uri.path.hasSuffix("/overrides")
            let json = try await Self.blocking {
                try backend.auditRecords(since: start, actor: actor, patient: patient, overridesOnly: overrides, limit: limit)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        router.get("admin/audit", use: audit)
        router.get("admin/overrides", use: audit)
        addConsentRoutes(router)
        router.get("admin/stats") { [backend] _, _ -> Response in
            let stats = try await Self.blocking { try backend.index.statistics(currentPolicy: "") }
            return try Self.json(stats)
        }
    }

    /// `/admin/jobs`: start a reindex (POST `/admin/jobs/reindex?mode=stale|all`), list jobs with
    /// live progress, read one, cancel one (DELETE).
    func addJobRoutes(_ router: Router<WebRequestContext>, jobs: any JobRunning) {
        router.get("admin/jobs") { _, _ in try Self.json(jobs.jobs()) }
        router.get("admin/jobs/:id") { _, context in
            guard let job = jobs.jobs().first(where: { $0.id == context.parameters.get("id") }) else {
                throw DicomWebError(.notFound, "no such job")
            }
            return try Self.json(job)
        }
        router.post("admin/jobs/reindex") { request, _ in
            let mode = Self.queryParameters(request.uri.query).first { $0.0 == "mode" }?.1 ?? "stale"
            do {
                return try Self.json(try jobs.startReindex(mode: mode), status: .accepted)
            } catch {
                let text = "\(error)"
                throw DicomWebError(text.contains("still running") ? .conflict : .badRequest, text)
            }
        }
        router.delete("admin/jobs/:id") { _, context in
            guard let id = context.parameters.get("id"), jobs.cancel(id: id) else {
                throw DicomWebError(.notFound, "no such running job")
            }
            return Response(status: .accepted)
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Blocking index and file work runs on NIO's thread pool, never on the cooperative pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        // runIfActive only throws when the pool is shutting down.
        (try? await NIOThreadPool.singleton.runIfActive(body)) ?? body()
    }

    /// `http://host` of the request, for RetrieveURL and BulkDataURI values.
    func base(_ request: Request) -> String {
        var host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? "localhost"
        if !host.contains(":"), let port { host += ":\(port)" }
        return (configuration.tls == nil ? "http://" : "https://") + host
    }
}

/// Records every DICOMweb and admin request in the audit trail: who (the authenticated identity;
/// `anonymous` when authentication failed), from where, what (the path, and the patients and
/// studies the answer revealed), the HTTP status and the number of results. Refusals (401/403)
/// are recorded too. Health and metrics are not.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let backend: any DicomWebBackend

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // Every request but the open health and metrics ones (the access middleware's rule).
        guard AccessMiddleware.requirement(method: request.method, path: path) != .open else {
            return try await next(request, context)
        }
        let address = context.remoteAddress?.ipAddress
        let parts = AccessMiddleware.components(path)
        let action: String = parts.first == "admin" ? "admin"
            : request.method == .post ? "store"
            : ["studies", "series", "instances"].contains(parts.last ?? "") ? "query" : "retrieve"
        var named: [String] = []
        let original = path.split(separator: "/")  // UIDs keep their case
        if let i = original.firstIndex(of: "studies"), i + 1 < original.count { named.append(String(original[i + 1])) }
        if parts.first == "wado", let study = request.uri.queryParameters["studyUID"] { named.append(String(study)) }
        func record(_ status: Int) {
            let access = context.access
            let touched = access.touched
            let principal = access.principal
            backend.record(WebAccess(actor: principal?.actor ?? "anonymous", hospital: principal?.hospital, address: address,
                                     method: request.method.rawValue, target: request.uri.description, status: status,
                                     action: action, patients: touched.patients,
                                     studies: Array(Set(named + touched.studies)).sorted(),
                                     results: touched.results ?? 0, override: access.override))
        }
        do {
            let response = try await next(request, context)
            record(response.status.code)
            return response
        } catch let error as HTTPResponseError {
            record(error.status.code)
            throw error
        } catch {
            record(500)
            throw error
        }
    }
}

/// Logs server errors (5xx) with the request path; client errors go back to the client only.
struct ErrorLogMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as DicomWebError {
            throw error
        } catch let error as HTTPError {
            throw error
        } catch {
            logger.error("HTTP request failed", metadata: ["http.path": "\(request.uri.path)", "error": "\(error)"])
            throw DicomWebError(.internalServerError, "internal error")
        }
    }
}
