import Foundation

/// The synthetic images the renderer is checked on (`Scripts/shim-tests/make-render-fixtures.py`:
/// a 512 x 512 CT and its MONOCHROME1, VOI LUT and JPEG 2000 copies, a 2048 x 2048 CR, a known
/// gradient, objects without pixels, videos...), made once per version of the script and kept
/// under the system's temporary folder (about 20 MB; never committed).
///
/// Needs Python 3 with pydicom, numpy and pylibjpeg-openjpeg (`Scripts/lib.sh` installs them).
public enum RenderFixtures {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    static let result: Result<URL, Unavailable> = {
        let script = TestImages.packageRoot.appendingPathComponent("Scripts/shim-tests/make-render-fixtures.py")
        guard let text = try? Data(contentsOf: script) else {
            return .failure(Unavailable(description: "\(script.path) is missing"))
        }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in text { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("imaging-index-render-fixtures-\(String(hash, radix: 16))", isDirectory: true)
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("manifest.json").path) {
            return .success(folder)
        }
        // Made beside the final folder, then renamed: a folder with a manifest is always complete.
        let partial = URL(fileURLWithPath: folder.path + ".partial-\(getpid())")
        try? FileManager.default.removeItem(at: partial)
        do {
            let run = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, partial.path])
            guard run.status == 0 else {
                return .failure(Unavailable(description: "make-render-fixtures.py failed: \(run.stderr)"))
            }
        } catch {
            return .failure(Unavailable(description: "cannot run python3: \(error)"))
        }
        guard FileManager.default.fileExists(atPath: partial.appendingPathComponent("ct512-j2k-lossless.dcm").path) else {
            try? FileManager.default.removeItem(at: partial)
            return .failure(Unavailable(description: "no JPEG 2000 fixtures: install pylibjpeg-openjpeg (Scripts/lib.sh)"))
        }
        if rename(partial.path, folder.path) != 0 {
            try? FileManager.default.removeItem(at: partial)  // another process won the race
        }
        return .success(folder)
    }()

    /// The folder of fixtures (made on first use).
    public static func folder() throws -> URL { try result.get() }

    public static func url(_ name: String) throws -> URL { try folder().appendingPathComponent(name) }
}
