import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import DicomCore
import DicomIndex

extension DicomWebServer {
    /// WADO-RS (PS3.18 §10.4): studies, series and instances as multipart/related of
    /// application/dicom parts streamed from disk, and their metadata as DICOM JSON.
    func addWADORoutes(_ group: RouterGroup<WebRequestContext>) {
        let scopes: [(String, [(String, DicomTag)])] = [
            ("studies/:study", [("study", .studyInstanceUID)]),
            ("studies/:study/series/:series", [("study", .studyInstanceUID), ("series", .seriesInstanceUID)]),
            ("studies/:study/series/:series/instances/:instance",
             [("study", .studyInstanceUID), ("series", .seriesInstanceUID), ("instance", .sopInstanceUID)]),
        ]
        for (path, parameters) in scopes {
            group.get(RouterPath(path)) { [self] request, context -> Response in
                try await retrieve(request, keys: Self.keys(context, parameters), context: context)
            }
            group.get(RouterPath(path + "/metadata")) { [self] request, context -> Response in
                try await metadata(request, keys: Self.keys(context, parameters), context: context)
            }
        }
    }

    /// Bulk data (from metadata BulkDataURIs) and frames of one instance, as
    /// multipart/related; type="application/octet-stream".
    func addInstancePartRoutes(_ group: RouterGroup<WebRequestContext>) {
        let instance: [(String, DicomTag)] = [("study", .studyInstanceUID), ("series", .seriesInstanceUID),
                                              ("instance", .sopInstanceUID)]
        group.get("studies/:study/series/:series/instances/:instance/bulkdata/:tag") { [self] request, context -> Response in
            try Self.requireAccept(request, ["multipart/related", "application/octet-stream"])
            guard let text = context.parameters.get("tag"), let tag = DicomTag(parsing: text) else {
                throw DicomWebError(.badRequest, "bulk data is addressed by a tag GGGGEEEE")
            }
            let path = backend.store.path(forRelativePath: try await instances(Self.keys(context, instance), context: context)[0].instance!.path)
            let backend = self.backend
            guard let bytes = try await Self.blocking({ try backend.bulkData(ofFileAt: path, tag: tag.rawValue) }) else {
                throw DicomWebError(.notFound, "the instance has no element \(tag)")
            }
            return Self.octetParts([bytes])
        }
        group.get("studies/:study/series/:series/instances/:instance/frames/:frames") { [self] request, context -> Response in
            try Self.requireAccept(request, ["multipart/related", "application/octet-stream"])
            let list = (context.parameters.get("frames") ?? "").split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                throw DicomWebError(.badRequest, "frames are numbered from 1, separated by commas")
            }
            let numbers = list.map { $0! }
            let path = backend.store.path(forRelativePath: try await instances(Self.keys(context, instance), context: context)[0].instance!.path)
            let backend = self.backend
            let frames: [Data]?
            do {
                frames = try await Self.blocking { try backend.frames(ofFileAt: path, numbers: numbers) }
            } catch {
                throw DicomWebError(.notAcceptable, "the frames cannot be decoded to an uncompressed form here")
            }
            guard let frames else { throw DicomWebError(.notFound, "no such frame") }
            return Self.octetParts(frames)
        }
    }

    static func octetParts(_ parts: [Data]) -> Response {
        let boundary = "imaging-index-" + UUID().uuidString
        var body = ByteBuffer()
        for part in parts {
            body.writeString("--\(boundary)\r\nContent-Type: application/octet-stream\r\n\r\n")
            body.writeBytes(part)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        return Response(status: .ok,
                        headers: [.contentType: "multipart/related; type=\"application/octet-stream\"; boundary=\(boundary)"],
                        body: .init(byteBuffer: body))
    }

    /// WADO-URI (PS3.18 §9): `requestType=WADO&studyUID=&seriesUID=&objectUID=`, as application/dicom.
    func addWADOURIRoute(_ router: Router<WebRequestContext>) {
        router.get("wado") { [self] request, context -> Response in
            let q = request.uri.queryParameters
            guard q["requestType"].map(String.init) == "WADO" else {
                throw DicomWebError(.badRequest, "requestType must be WADO")
            }
            guard let study = q["studyUID"], let series = q["seriesUID"], let object = q["objectUID"] else {
                throw DicomWebError(.badRequest, "studyUID, seriesUID and objectUID are required")
            }
            // PS3.18 §9: without contentType, a single-frame image comes as image/jpeg; we send
            // application/dicom unless an image type is named (viewers using WADO-URI ask for it).
            let contentType = q["contentType"].map(String.init) ?? "application/dicom"
            guard ["application/dicom", "image/jpeg", "image/png"].contains(contentType) else {
                throw DicomWebError(.notAcceptable, "contentType \(contentType) is not offered; use application/dicom, image/jpeg or image/png")
            }
            let files = try await instances([.studyInstanceUID: String(study), .seriesInstanceUID: String(series),
                                             .sopInstanceUID: String(object)], context: context)
            let file = files[0].instance!
            if contentType != "application/dicom" {
                guard let thumbnails else { throw DicomWebError(.notAcceptable, "rendering is not available") }
                let parameters = Self.queryParameters(request.uri.query)
                var window: (center: Double, width: Double)?
                if let c = parameters.first(where: { $0.0 == "windowCenter" })?.1, let w = parameters.first(where: { $0.0 == "windowWidth" })?.1 {
                    guard let center = Double(c), let width = Double(w), width >= 1 else {
                        throw DicomWebError(.badRequest, "windowCenter and windowWidth must be numbers, width ≥ 1")
                    }
                    window = (center, width)
                }
                var box: (width: Int, height: Int)?
                if let r = parameters.first(where: { $0.0 == "rows" })?.1, let c = parameters.first(where: { $0.0 == "columns" })?.1 {
                    guard let rows = Int(r), let columns = Int(c), rows >= 1, columns >= 1, rows <= 4096, columns <= 4096 else {
                        throw DicomWebError(.badRequest, "rows and columns must be 1 ... 4096")
                    }
                    box = (columns, rows)
                }
                var frame: Int?
                if let f = parameters.first(where: { $0.0 == "frameNumber" })?.1 {
                    guard let n = Int(f), n >= 1 else { throw DicomWebError(.badRequest, "frameNumber starts at 1") }
                    frame = n - 1
                }
                let quality = Int(parameters.first { $0.0 == "imageQuality" }?.1 ?? "90") ?? -1
                guard (1...100).contains(quality) else { throw DicomWebError(.badRequest, "imageQuality must be 1 ... 100") }
                return try await image(path: backend.store.path(forRelativePath: file.path), frame: frame, window: window,
                                       box: box, format: contentType == "image/png" ? .png : .jpeg(quality: quality),
                                       thumbnails: thumbnails)
            }
            return Response(status: .ok,
                            headers: [.contentType: "application/dicom", .contentLength: String(file.fileSize),
                                      .contentDisposition: "attachment; filename=\"\(file.sopInstanceUID).dcm\""],
                            body: ResponseBody(contentLength: Int(file.fileSize)) { [store = backend.store] writer in
                                try await Self.stream(store.path(forRelativePath: file.path), into: &writer)
                                try await writer.finish(nil)
                            })
        }
    }

    static func keys(_ context: WebRequestContext, _ parameters: [(String, DicomTag)]) -> [DicomTag: String] {
        var keys: [DicomTag: String] = [:]
        for (name, tag) in parameters { keys[tag] = context.parameters.get(name) ?? "" }
        return keys
    }

    /// The instances a WADO path names (404 when none).
    /// The instances the path names that this request may see (the sharing consent); 404 when none.
    /// Records what they reveal for the audit trail.
    func instances(_ keys: [DicomTag: String], context: WebRequestContext) async throws -> [QueryMatch] {
        for value in keys.values where value.isEmpty || value.contains("*") || value.contains("?") || value.contains("\\") {
            throw DicomWebError(.badRequest, "UIDs in the path must be single UIDs")
        }
        let index = backend.index
        var query = IndexQuery(level: .instance, dicomKeys: keys, nameMatching: .exact)
        query.ordering = [.init(.seriesNumber), .init(.instanceNumber)]
        query.sharingRestriction = context.access.sharingRestriction
        let fixedQuery = query
        let matches = try await Self.blocking { try index.query(fixedQuery) }
        let records = matches.filter { $0.instance != nil }
        if records.isEmpty { throw DicomWebError(.notFound, "no such \(keys[.sopInstanceUID] != nil ? "instance" : keys[.seriesInstanceUID] != nil ? "series" : "study")") }
        context.access.revealed(patients: Set(records.map(\.patient.patientID)),
                                studies: Set(records.compactMap { $0.study?.studyInstanceUID }), results: records.count)
        return records
    }

    /// Transfer syntaxes the server can decode to send uncompressed: DCMTK's codecs, and JPEG 2000
    /// and HTJ2K through OpenJPEG (the shim). Not video, not JPEG 2000 Part 2 multi-component.
    static let decodable: Set<String> = [
        "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
    ]
    static let uncompressed: Set<String> = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]
    static let explicitLittleEndian = "1.2.840.10008.1.2.1"

    /// The transfer syntax asked for: nil = as stored (`transfer-syntax=*`); no parameter means
    /// Explicit VR Little Endian, PS3.18's default.
    static func requestedTransferSyntax(_ request: Request) throws -> String? {
        guard let accept = request.headers[.accept], !accept.isEmpty else { return explicitLittleEndian }
        let lower = accept.lowercased()
        let dicom = lower.contains("application/dicom") && !lower.contains("application/dicom+json")
        if !(dicom || lower.contains("*/*") || lower.contains("multipart/related") && !lower.contains("type=")) {
            throw DicomWebError(.notAcceptable, "instances are sent as multipart/related; type=\"application/dicom\"")
        }
        guard let range = lower.range(of: "transfer-syntax=") else { return explicitLittleEndian }
        let value = lower[range.upperBound...].drop { $0 == "\"" }
        let wanted = String(value.prefix { $0 != ";" && $0 != "," && $0 != "\"" && $0 != " " })
        if wanted == "*" { return nil }
        guard uncompressed.contains(wanted) else {
            throw DicomWebError(.notAcceptable, "transfer syntax \(wanted) on request is not offered; ask for an "
                                + "uncompressed one (1.2.840.10008.1.2.1) or transfer-syntax=* (as stored)")
        }
        return wanted
    }

    func retrieve(_ request: Request, keys: [DicomTag: String], context: WebRequestContext) async throws -> Response {
        let target = try Self.requestedTransferSyntax(request)
        let files = try await instances(keys, context: context)
        let store = backend.store
        let parts = files.map { match -> (path: String, stored: String, send: String) in
            let i = match.instance!
            return (store.path(forRelativePath: i.path), i.transferSyntaxUID, target ?? i.transferSyntaxUID)
        }
        if let blocked = parts.first(where: { $0.stored != $0.send && !Self.decodable.contains($0.stored) }) {
            throw DicomWebError(.notAcceptable, "an instance is stored as \(blocked.stored), which cannot be decoded here; "
                                + "ask for transfer-syntax=* to receive it as stored")
        }
        let boundary = "imaging-index-" + UUID().uuidString
        let backend = self.backend
        let logger = self.logger
        return Response(
            status: .ok,
            headers: [.contentType: "multipart/related; type=\"application/dicom\"; boundary=\(boundary)"],
            body: ResponseBody { writer in
                for part in parts {
                    try await writer.write(ByteBuffer(string:
                        "--\(boundary)\r\nContent-Type: application/dicom; transfer-syntax=\(part.send)\r\n\r\n"))
                    if part.stored == part.send {
                        try await Self.stream(part.path, into: &writer)
                    } else {
                        // Decoded in memory: one instance at a time.
                        let bytes: Data
                        do {
                            bytes = try await Self.blocking { try backend.transcoded(fileAt: part.path, transferSyntax: part.send) }
                        } catch {
                            logger.error("WADO-RS: an instance could not be decoded mid-response", metadata: ["error": "\(error)"])
                            throw error
                        }
                        try await writer.write(ByteBuffer(bytes: bytes))
                    }
                    try await writer.write(ByteBuffer(string: "\r\n"))
                }
                try await writer.write(ByteBuffer(string: "--\(boundary)--\r\n"))
                try await writer.finish(nil)
            })
    }

    func metadata(_ request: Request, keys: [DicomTag: String], context: WebRequestContext) async throws -> Response {
        try Self.requireAccept(request, ["application/dicom+json", "application/json"])
        let files = try await instances(keys, context: context)
        let base = base(request)
        let study = keys[.studyInstanceUID] ?? ""
        let backend = self.backend
        let store = backend.store
        return Response(
            status: .ok, headers: [.contentType: "application/dicom+json"],
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "["))
                var first = true
                for match in files {
                    let file = match.instance!
                    let url = "\(base)/dicom-web/studies/\(study)/series/\(match.series?.seriesInstanceUID ?? "")/instances/\(file.sopInstanceUID)"
                    let path = store.path(forRelativePath: file.path)
                    let json = try await Self.blocking { try backend.metadata(ofFileAt: path, bulkDataBase: url) }
                    try await writer.write(ByteBuffer(string: first ? "" : ","))
                    try await writer.write(ByteBuffer(bytes: json))
                    first = false
                }
                try await writer.write(ByteBuffer(string: "]"))
                try await writer.finish(nil)
            })
    }

    /// Copies a file into the response 256 KiB at a time (reads on the thread pool): memory
    /// stays flat whatever the size of a study.
    static func stream(_ path: String, into writer: inout any ResponseBodyWriter) async throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DicomWebError(.internalServerError, "a stored file cannot be read") }
        defer { close(fd) }
        var offset: Int64 = 0
        while true {
            let at = offset
            let chunk: ByteBuffer = try await blocking { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: 256 * 1024)
                var failed = false
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 256 * 1024) { raw in
                    let n = pread(fd, raw.baseAddress, raw.count, off_t(at))
                    failed = n < 0
                    return max(0, n)
                }
                if failed { throw DicomWebError(.internalServerError, "a stored file cannot be read") }
                return buffer
            }
            if chunk.readableBytes == 0 { break }
            offset += Int64(chunk.readableBytes)
            try await writer.write(chunk)
        }
    }
}
