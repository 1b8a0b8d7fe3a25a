import Foundation
import Hummingbird
import HTTPTypes
import DicomCore
import DicomIndex

extension DicomWebServer {
    /// QIDO-RS at every path of PS3.18 §10.6.
    func addQIDORoutes(_ group: RouterGroup<WebRequestContext>) {
        let routes: [(String, QueryLevel, [(String, DicomTag)])] = [
            ("studies", .study, []),
            ("series", .series, []),
            ("instances", .instance, []),
            ("studies/:study/series", .series, [("study", .studyInstanceUID)]),
            ("studies/:study/instances", .instance, [("study", .studyInstanceUID)]),
            ("studies/:study/series/:series/instances", .instance,
             [("study", .studyInstanceUID), ("series", .seriesInstanceUID)]),
        ]
        for (path, level, parameters) in routes {
            group.get(RouterPath(path)) { [self] request, context -> Response in
                var scope: [DicomTag: String] = [:]
                for (name, tag) in parameters { scope[tag] = context.parameters.get(name) ?? "" }
                return try await search(request, level: level, scope: scope, context: context)
            }
        }
    }

    func search(_ request: Request, level: QueryLevel, scope: [DicomTag: String],
                context: WebRequestContext) async throws -> Response {
        try Self.requireAccept(request, ["application/dicom+json", "application/json"])
        let parameters = Self.queryParameters(request.uri.query)
        let qido = try QIDORequest.parse(level: level, scope: scope, parameters: parameters, configuration: configuration)
        let index = backend.index
        // A search scoped by a study or series that is not there is a 404, not an empty list.
        if let study = scope[.studyInstanceUID] {
            var parent = [DicomTag.studyInstanceUID: study]
            if let series = scope[.seriesInstanceUID] { parent[.seriesInstanceUID] = series }
            let parentLevel: QueryLevel = scope[.seriesInstanceUID] == nil ? .study : .series
            var parentQuery = IndexQuery(level: parentLevel, dicomKeys: parent, nameMatching: .exact)
            parentQuery.sharingRestriction = context.access.sharingRestriction
            let fixedParent = parentQuery
            let found = try await Self.blocking { try index.count(fixedParent) }
            if found == 0 { throw DicomWebError(.notFound, "no such \(parentLevel == .study ? "study" : "series")") }
        }
        var query = qido.query
        query.sharingRestriction = context.access.sharingRestriction
        let matches: [QueryMatch]
        do {
            let fixedQuery = query
            matches = try await Self.blocking { try index.query(fixedQuery) }
        } catch let error as IndexError where error.code == .invalidQuery {
            throw DicomWebError(.badRequest, error.message)
        }
        let base = base(request)
        let shown = matches.prefix(qido.limit)
        context.access.revealed(patients: shown.map(\.patient.patientID) + (qido.citizenID.map { [$0] } ?? []),
                                studies: shown.compactMap { $0.study?.studyInstanceUID }, results: shown.count)
        let answers = shown.map { answer($0, qido: qido, base: base) }
        var headers: HTTPFields = [.contentType: "application/dicom+json"]
        if matches.count > qido.limit {
            headers[HTTPField.Name("Warning")!] = "299 ImagingIndex: \"There are additional results that can be requested\""
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: DicomJSON.encode(Array(answers)))))
    }

    func answer(_ match: QueryMatch, qido: QIDORequest, base: String) -> DicomJSON.Item {
        var attributes = match.dicomAttributes()
        let study = match.study?.studyInstanceUID ?? ""
        switch qido.query.level {
        case .study: attributes[.retrieveURL] = "\(base)/dicom-web/studies/\(study)"
        case .series:
            attributes[.retrieveURL] = "\(base)/dicom-web/studies/\(study)/series/\(match.series?.seriesInstanceUID ?? "")"
        case .instance:
            attributes[.retrieveURL] = "\(base)/dicom-web/studies/\(study)/series/\(match.series?.seriesInstanceUID ?? "")"
                + "/instances/\(match.instance?.sopInstanceUID ?? "")"
        case .patient: break
        }
        var others = match.patient.otherPatientIDs.map { other in
            DicomJSON.Item([.patientID: other.id, .issuerOfPatientID: other.issuer ?? "", .typeOfPatientID: other.type ?? "TEXT"])
        }
        if let citizen = qido.citizenID {
            attributes[.patientID] = citizen
            attributes[.issuerOfPatientID] = configuration.nationalIssuer
            others = [DicomJSON.Item([.patientID: match.patient.patientID, .issuerOfPatientID: match.patient.issuerOfPatientID,
                                      .typeOfPatientID: "TEXT"])]
        }
        if !qido.includeAll { attributes = attributes.filter { qido.returnTags.contains($0.key) } }
        var item = DicomJSON.Item(attributes)
        if qido.includeAll || qido.returnTags.contains(.otherPatientIDsSequence) {
            item.sequences[.otherPatientIDsSequence] = others
        }
        return item
    }

    /// The query string's (name, value) pairs in order, form-decoded ('+' is a space, %XX a byte).
    static func queryParameters(_ query: String?) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        func decode(_ text: Substring) -> String {
            let spaced = text.replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// 406 unless the Accept header allows one of `types` (or is absent, or `*/*`).
    static func requireAccept(_ request: Request, _ types: [String]) throws {
        guard let accept = request.headers[.accept], !accept.isEmpty else { return }
        let offered = accept.split(separator: ",").map {
            $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        }
        let ok = offered.contains { o in
            o == "*/*" || types.contains(o) || types.contains { $0.hasPrefix(o.replacingOccurrences(of: "*", with: "")) && o.hasSuffix("/*") }
        }
        if !ok {
            throw DicomWebError(.notAcceptable, "this resource is available as \(types.joined(separator: " or ")), not \(accept)")
        }
    }
}
