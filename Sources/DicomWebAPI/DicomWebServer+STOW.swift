import Foundation
import Hummingbird
import NIOCore
import DicomCore

extension DicomWebServer {
    /// STOW-RS (PS3.18 §10.5): multipart/related of application/dicom parts, each through the
    /// one ingest pipeline as it arrives; per-instance results in the response.
    func addSTOWRoutes(_ group: RouterGroup<WebRequestContext>) {
        group.post("studies") { [self] request, context -> Response in try await stow(request, study: nil, context: context) }
        group.post("studies/:study") { [self] request, context -> Response in
            try await stow(request, study: context.parameters.get("study"), context: context)
        }
    }

    func stow(_ request: Request, study: String?, context: WebRequestContext) async throws -> Response {
        let hospital = context.access.principal?.hospital
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/related") else {
            throw DicomWebError(.unsupportedMediaType, "STOW-RS takes multipart/related; type=\"application/dicom\"")
        }
        if let type = contentType.lowercased().range(of: "type=") {
            let value = contentType[type.upperBound...].prefix { $0 != ";" }.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            guard value.lowercased() == "application/dicom" else {
                throw DicomWebError(.unsupportedMediaType, "only application/dicom parts are accepted (not \(value))")
            }
        }
        guard let boundary = MultipartReader.boundary(of: contentType), !boundary.isEmpty else {
            throw DicomWebError(.badRequest, "the multipart Content-Type has no boundary")
        }
        let temporary = backend.store.temporaryRoot.path
        var reader = MultipartReader(boundary: boundary) { temporary + "/stow-" + UUID().uuidString + ".part" }
        var outcomes: [StowOutcome] = []
        let backend = self.backend
        do {
            for try await chunk in request.body {
                let parts: [MultipartReader.Part]
                do {
                    parts = try reader.feed(chunk)
                } catch {
                    throw DicomWebError(error.message == "storage full" ? .serviceUnavailable : .badRequest, "STOW-RS: \(error.message)")
                }
                for part in parts {
                    let type = part.headers["content-type"]?.lowercased() ?? "application/dicom"
                    guard type.hasPrefix("application/dicom") else {
                        unlink(part.path)
                        outcomes.append(.failed(sopClassUID: nil, sopInstanceUID: nil, reason: 0xC000,
                                                message: "part of type \(type) is not application/dicom"))
                        continue
                    }
                    let path = part.path
                    let source = "STOW-RS part \(outcomes.count + 1)"
                    outcomes.append(await Self.blocking { backend.ingest(partAt: path, expectedStudy: study, hospital: hospital, source: source) })
                }
            }
        } catch {
            _ = reader.finish()
            throw error
        }
        guard reader.finish() else {
            throw DicomWebError(.badRequest, "the multipart body ends before its closing boundary")
        }
        if outcomes.isEmpty { throw DicomWebError(.badRequest, "the request holds no part") }
        return stowResponse(outcomes, base: base(request), study: study)
    }

    /// 200 when every instance is stored, 202 when some failed or were warnings, 409 when none
    /// was stored; the body lists them (ReferencedSOPSequence / FailedSOPSequence).
    func stowResponse(_ outcomes: [StowOutcome], base: String, study: String?) -> Response {
        var referenced: [DicomJSON.Item] = []
        var failed: [DicomJSON.Item] = []
        for outcome in outcomes {
            switch outcome {
            case .stored(let sopClass, let sop), .duplicate(let sopClass, let sop):
                // A copy already stored (duplicate policy keepFirst) is there to retrieve: success.
                referenced.append(DicomJSON.Item([.referencedSOPClassUID: sopClass, .referencedSOPInstanceUID: sop]))
            case .failed(let sopClass, let sop, let reason, _):
                var item: [DicomTag: String] = [.failureReason: String(reason)]
                item[.referencedSOPClassUID] = sopClass ?? ""
                item[.referencedSOPInstanceUID] = sop ?? ""
                failed.append(DicomJSON.Item(item))
            }
        }
        var body = DicomJSON.Item()
        if let study { body.attributes[.retrieveURL] = "\(base)/dicom-web/studies/\(study)" }
        if !referenced.isEmpty { body.sequences[.referencedSOPSequence] = referenced }
        if !failed.isEmpty { body.sequences[.failedSOPSequence] = failed }
        let status: HTTPResponse.Status = referenced.isEmpty ? .conflict : (failed.isEmpty ? .ok : .accepted)
        let json = (try? JSONSerialization.data(withJSONObject: DicomJSON.object(body), options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/dicom+json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}
