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

/// The files under a store's `tmp/` (every process's folder in it), relative to it, without the
/// folders' own bookkeeping (`.owner`, `.publishing`): what an interrupted or failed write left.
public func leftoverTemporaryFiles(_ tmp: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: tmp.path) else { return [] }
    var files: [String] = []
    while let name = walker.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: tmp.appendingPathComponent(name).path, isDirectory: &isDirectory),
           !isDirectory.boolValue, !(name as NSString).lastPathComponent.hasPrefix(".") {
            files.append(name)
        }
    }
    return files.sorted()
}
