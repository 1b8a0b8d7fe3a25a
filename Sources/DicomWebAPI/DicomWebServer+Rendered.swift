import Foundation
import Hummingbird
import NIOCore
import DicomCore
import DicomIndex
import Thumbnails

/// What the thumbnail and rendered resources need: the maker (series representative, study
/// mosaic), the thumbnail cache when thumbnails are enabled, and the renderer.
public struct WebThumbnails: Sendable {
    public var maker: ThumbnailMaker
    public var cache: ThumbnailCache?
    public var renderer: ThumbnailRenderer
    public var defaultSize: Int

    public init(maker: ThumbnailMaker, cache: ThumbnailCache?, renderer: ThumbnailRenderer, defaultSize: Int) {
        self.maker = maker
        self.cache = cache
        self.renderer = renderer
        self.defaultSize = defaultSize
    }
}

extension DicomWebServer {
    /// WADO-RS `thumbnail` (study, series, instance; PNG, from the cache, made on demand when
    /// missing) and `rendered` (instance or frame; JPEG or PNG; `window`, `viewport`, `quality`).
    func addRenderedRoutes(_ group: RouterGroup<WebRequestContext>, thumbnails: WebThumbnails) {
        group.get("studies/:study/thumbnail") { [self] request, context -> Response in
            let size = try Self.viewportSize(request) ?? thumbnails.defaultSize
            try Self.requireAccept(request, ["image/png"])
            let study = context.parameters.get("study") ?? ""
            // 404 unless the study is there and visible (the mosaic is of the whole study).
            _ = try await instances([.studyInstanceUID: study], context: context)
            return try await cachedThumbnail(.study(study), size: size, thumbnails: thumbnails)
        }
        group.get("studies/:study/series/:series/thumbnail") { [self] request, context -> Response in
            let size = try Self.viewportSize(request) ?? thumbnails.defaultSize
            try Self.requireAccept(request, ["image/png"])
            let keys: [DicomTag: String] = [.studyInstanceUID: context.parameters.get("study") ?? "",
                                            .seriesInstanceUID: context.parameters.get("series") ?? ""]
            _ = try await instances(keys, context: context)  // 404 unless the series is in that study (and visible)
            return try await cachedThumbnail(.series(keys[.seriesInstanceUID]!), size: size, thumbnails: thumbnails)
        }
        let instance: [(String, DicomTag)] = [("study", .studyInstanceUID), ("series", .seriesInstanceUID),
                                              ("instance", .sopInstanceUID)]
        group.get("studies/:study/series/:series/instances/:instance/thumbnail") { [self] request, context -> Response in
            let size = try Self.viewportSize(request) ?? thumbnails.defaultSize
            try Self.requireAccept(request, ["image/png"])
            let path = backend.store.path(forRelativePath: try await instances(Self.keys(context, instance), context: context)[0].instance!.path)
            return try await image(path: path, frame: nil, window: nil, box: (size, size), format: .png, thumbnails: thumbnails)
        }
        for suffix in ["rendered", "frames/:frames/rendered"] {
            group.get(RouterPath("studies/:study/series/:series/instances/:instance/" + suffix)) { [self] request, context -> Response in
                let format = try Self.renderedFormat(request)
                var frame: Int?
                if let text = context.parameters.get("frames") {
                    guard let n = Int(text), n >= 1 else { throw DicomWebError(.badRequest, "one frame, numbered from 1") }
                    frame = n - 1
                }
                let parameters = Self.queryParameters(request.uri.query)
                let window = try Self.window(parameters)
                let box = try Self.viewport(request)
                let path = backend.store.path(forRelativePath: try await instances(Self.keys(context, instance), context: context)[0].instance!.path)
                return try await image(path: path, frame: frame, window: window, box: box, format: format, thumbnails: thumbnails)
            }
        }
    }

    func cachedThumbnail(_ key: ThumbnailKey, size: Int, thumbnails: WebThumbnails) async throws -> Response {
        let outcome: ThumbnailOutcome
        do {
            outcome = try await Self.blocking { () throws -> ThumbnailOutcome in
                // Only the configured size is cached (the background generator keeps it fresh);
                // other viewports are made on each request, so no client can fill the disk.
                let cache = size == thumbnails.defaultSize ? thumbnails.cache : nil
                if let cached = cache?.outcome(for: key, size: size) { return cached }
                let made = key.level == .study ? try thumbnails.maker.study(key.uid, size: size)
                                               : try thumbnails.maker.series(key.uid, size: size)
                try? cache?.store(made, for: key, size: size)
                return made
            }
        } catch let error as ThumbnailError where error.code == .unknownSeries || error.code == .unknownStudy {
            throw DicomWebError(.notFound, "no such \(key.level.rawValue)")
        }
        switch outcome {
        case .image(let thumbnail):
            return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: thumbnail.png)))
        case .none(let none):
            throw DicomWebError(.notFound, "no thumbnail: \(none)")
        }
    }

    func image(path: String, frame: Int?, window: (center: Double, width: Double)?, box: (width: Int, height: Int)?,
               format: ThumbnailRenderer.Format, thumbnails: WebThumbnails) async throws -> Response {
        let bytes: Data?
        do {
            bytes = try await Self.blocking {
                try thumbnails.renderer.rendered(file: path, frame: frame, window: window, box: box, format: format)
            }
        } catch let error as ThumbnailError where error.code == .invalidArgument {
            if frame != nil { throw DicomWebError(.notFound, "no such frame") }
            throw DicomWebError(.badRequest, error.message)
        } catch let error as ThumbnailError where error.code == .undecodable {
            throw DicomWebError(.notAcceptable, "the image cannot be decoded here: \(error.message)")
        }
        guard let bytes else { throw DicomWebError(.notFound, "the instance has no image (no pixel data, or video)") }
        let type: String = if case .png = format { "image/png" } else { "image/jpeg" }
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `viewport=vw,vh[,...]` (nil when absent).
    static func viewport(_ request: Request) throws -> (width: Int, height: Int)? {
        guard let text = queryParameters(request.uri.query).first(where: { $0.0 == "viewport" })?.1 else { return nil }
        let parts = text.split(separator: ",").prefix(2).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
            throw DicomWebError(.badRequest, "viewport must be vw,vh in pixels (1 ... 4096)")
        }
        return (parts[0]!, parts[1]!)
    }

    /// `viewport=vw,vh[,...]`: the long side of a thumbnail (nil when absent).
    static func viewportSize(_ request: Request) throws -> Int? {
        guard let text = queryParameters(request.uri.query).first(where: { $0.0 == "viewport" })?.1 else { return nil }
        let parts = text.split(separator: ",").prefix(2).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count >= 1, parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
            throw DicomWebError(.badRequest, "viewport must be vw,vh in pixels (1 ... 4096)")
        }
        return parts.map { $0! }.max()
    }

    /// `window=center,width[,function]` (linear only).
    static func window(_ parameters: [(String, String)]) throws -> (center: Double, width: Double)? {
        guard let text = parameters.first(where: { $0.0 == "window" })?.1 else { return nil }
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count >= 2, let center = Double(parts[0]), let width = Double(parts[1]), width >= 1 else {
            throw DicomWebError(.badRequest, "window must be center,width[,linear] with width ≥ 1")
        }
        if parts.count > 2, parts[2].lowercased() != "linear" {
            throw DicomWebError(.badRequest, "only the linear VOI LUT function is supported, not \(parts[2])")
        }
        return (center, width)
    }

    /// image/jpeg (PS3.18's default for rendered) or image/png, from the Accept header; `quality`.
    static func renderedFormat(_ request: Request) throws -> ThumbnailRenderer.Format {
        let quality = Int(queryParameters(request.uri.query).first { $0.0 == "quality" }?.1 ?? "90") ?? -1
        guard (1...100).contains(quality) else { throw DicomWebError(.badRequest, "quality must be 1 ... 100") }
        guard let accept = request.headers[.accept]?.lowercased(), !accept.isEmpty else { return .jpeg(quality: quality) }
        if accept.contains("image/jpeg") || accept.contains("*/*") || accept.contains("image/*") {
            return accept.contains("image/png") && !accept.contains("image/jpeg") ? .png : .jpeg(quality: quality)
        }
        if accept.contains("image/png") { return .png }
        throw DicomWebError(.notAcceptable, "rendered images are image/jpeg or image/png, not \(accept)")
    }
}
