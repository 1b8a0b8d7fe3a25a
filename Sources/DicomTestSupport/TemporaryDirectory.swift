import Foundation

/// A fresh folder under the system's temporary directory, removed when this value goes away.
public final class TemporaryDirectory: @unchecked Sendable {  // immutable after init
    public let url: URL

    public init(_ prefix: String = "imaging-index-test") {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public var path: String { url.path }

    public func appending(_ component: String) -> URL { url.appendingPathComponent(component) }

    deinit { try? FileManager.default.removeItem(at: url) }
}
