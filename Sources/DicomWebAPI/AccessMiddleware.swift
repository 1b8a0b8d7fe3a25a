import Foundation
import Hummingbird
import HTTPTypes
import Logging
import AccessControl

/// Authenticates every request but the health and metrics endpoints (API token or JWT; 401 when
/// missing or invalid) and checks the identity's permission for the route (403): `query` for
/// QIDO-RS searches, `retrieve` for WADO, `store` for STOW-RS, `admin` for `/admin`. An
/// emergency override (`X-Emergency-Access: <reason>` or `emergency=<reason>`) lifts the sharing
/// consent for that request; it is logged here and recorded in the audit trail.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let authenticator: Authenticator
    let logger: Logger

    enum Requirement: Equatable {
        case open
        case permission(Permission)
    }

    static let overrideHeader = HTTPField.Name("X-Emergency-Access")!

    /// The path's components, lowercased, empty ones dropped (`//admin/` is `/admin`), so that no
    /// spelling of a path reaches a route under a weaker requirement.
    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map { $0.lowercased() }
    }

    static func requirement(method: HTTPRequest.Method, path: String) -> Requirement {
        let parts = components(path)
        if parts.count == 1, ["healthz", "readyz", "metrics"].contains(parts[0]) { return .open }
        switch parts.first {
        case "admin":
            return .permission(.admin)
        case "dicom-web":
            switch method {
            case .post: return .permission(.store)
            case .get, .head:
                return ["studies", "series", "instances"].contains(parts.last ?? "") ? .permission(.query) : .permission(.retrieve)
            default: return .permission(.admin)
            }
        default:
            // WADO-URI and anything else (unknown paths answer 404 only to an identity).
            return .permission(.retrieve)
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requirement = Self.requirement(method: request.method, path: request.uri.path)
        guard case .permission(let permission) = requirement else { return try await next(request, context) }
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(authorization: request.headers[.authorization])
        } catch {
            throw DicomWebError(error.code == .forbidden ? .forbidden : .unauthorized, error.message)
        }
        let reason = request.headers[Self.overrideHeader]
            ?? DicomWebServer.queryParameters(request.uri.query).first { $0.0 == "emergency" }?.1
        let override = reason.map { $0.trimmingCharacters(in: .whitespaces) }
        context.access.authenticated(principal, override: override?.isEmpty == false ? override : nil)
        guard principal.may(permission) else {
            throw DicomWebError(.forbidden, "\(principal.actor) may not \(permission.rawValue) (its roles do not allow it)")
        }
        if let override {
            guard !override.isEmpty else {
                throw DicomWebError(.badRequest, "an emergency override needs a reason (X-Emergency-Access: <reason>)")
            }
            guard principal.may(.query) || principal.may(.retrieve) else {
                throw DicomWebError(.forbidden, "\(principal.actor) may not use the emergency override")
            }
            logger.notice("emergency override of the sharing consent", metadata: [
                "http.actor": "\(principal.actor)", "http.hospital": "\(principal.hospital)", "http.path": "\(request.uri.path)"])
        }
        return try await next(request, context)
    }
}
