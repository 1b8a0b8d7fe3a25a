import Foundation

/// Thumbnails on disk, next to the store:
/// ```
/// <data-dir>/thumbnails/series/ab/cd/<SeriesInstanceUID>-<size>.png
/// <data-dir>/thumbnails/study/ab/cd/<StudyInstanceUID>-<size>.png
///                                   <UID>-<size>.none   "no thumbnail", with the reason (JSON)
/// <data-dir>/thumbnails/tmp/                            files being written (emptied at start)
/// ```
/// `ab/cd` are the first four hex digits of a 32-bit hash of the UID (FNV-1a, mixed) (two levels of 256
/// folders keep each folder small); the UID itself names the file, so two UIDs never share one.
/// Writes are atomic (a temporary file renamed into place); they are not fsync'ed: a thumbnail is
/// derived data, and a damaged or missing file is simply made again. Readers never see half a file.
///
/// Blocking (file system calls). Safe to use from several threads and processes at once.
public final class ThumbnailCache: Sendable {
    public let root: URL
    let temporaryRoot: URL

    /// Opens (creates) the cache folder and removes files left by interrupted writes.
    public init(root: URL) throws(ThumbnailError) {
        self.root = root
        temporaryRoot = root.appendingPathComponent("tmp", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: temporaryRoot, withIntermediateDirectories: true)
        } catch {
            throw ThumbnailError(.cache, "cannot create the thumbnail folder \(root.path)")
        }
        let cutoff = Date().addingTimeInterval(-3600)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporaryRoot.path)) ?? [] {
            // Only old ones: another process (a CLI run next to the server) may be writing right now.
            let path = temporaryRoot.appendingPathComponent(name).path
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
               modified < cutoff {
                unlink(path)
            }
        }
    }

    /// The cached thumbnail or recorded absence; nil when nothing (readable) is cached.
    public func outcome(for key: ThumbnailKey, size: Int) -> ThumbnailOutcome? {
        if let data = Self.read(path(key, size: size, kind: .png)) {
            if let thumbnail = Thumbnail(png: data) { return .image(thumbnail) }
        }
        if let data = Self.read(path(key, size: size, kind: .absent)),
           let none = try? JSONDecoder().decode(NoThumbnail.self, from: data) {
            return .none(none)
        }
        return nil
    }

    /// True when a thumbnail or an absence is recorded (one `stat`, the file is not read).
    public func contains(_ key: ThumbnailKey, size: Int) -> Bool {
        var st = stat()
        return stat(path(key, size: size, kind: .png), &st) == 0 || stat(path(key, size: size, kind: .absent), &st) == 0
    }

    /// Records a thumbnail or an absence (replacing what was there).
    public func store(_ outcome: ThumbnailOutcome, for key: ThumbnailKey, size: Int) throws(ThumbnailError) {
        let data: Data, kind: Kind
        switch outcome {
        case .image(let thumbnail):
            (data, kind) = (thumbnail.png, .png)
        case .none(let none):
            (data, kind) = ((try? JSONEncoder().encode(none)) ?? Data("{}".utf8), .absent)
        }
        let target = path(key, size: size, kind: kind)
        let folder = (target as NSString).deletingLastPathComponent
        let temporary = temporaryRoot.appendingPathComponent("\(UUID().uuidString).part").path
        guard Self.write(data, to: temporary) else {
            unlink(temporary)
            throw ThumbnailError(.cache, "cannot write a thumbnail in \(temporaryRoot.path)")
        }
        if rename(temporary, target) != 0 {
            // The folder may not exist yet.
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if rename(temporary, target) != 0 {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw ThumbnailError(.cache, "cannot store a thumbnail at \(target): \(reason)")
            }
        }
        unlink(path(key, size: size, kind: kind == .png ? .absent : .png))
    }

    /// Writes a new file through a FileHandle, which does not sync. (Foundation's `Data.write`
    /// fsyncs the file: one disk cache flush per thumbnail, taken from the C-STOREs that must
    /// wait for theirs.)
    private static func write(_ data: Data, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        let file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        return (try? file.write(contentsOf: data)) != nil
    }

    /// Removes what is cached for `key`, at every size.
    public func invalidate(_ key: ThumbnailKey) {
        let folder = self.folder(key)
        let prefix = Self.fileStem(key.uid) + "-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            // "<size>.png" / "<size>.none" only: another UID may start with this one plus "-".
            if let dot = rest.firstIndex(of: "."), Int(rest[..<dot]) != nil {
                unlink(folder + "/" + name)
            }
        }
    }

    /// Removes every cached thumbnail and absence.
    public func removeAll() {
        for level in ThumbnailKey.Level.allCases {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(level.rawValue, isDirectory: true))
        }
    }

    enum Kind: String {
        case png
        case absent = "none"
    }

    func folder(_ key: ThumbnailKey) -> String {
        let hash = Self.fnv1a32(key.uid)
        let padded = String(hash >> 16, radix: 16).leftPadded(to: 4)
        return root.path + "/" + key.level.rawValue + "/" + padded.prefix(2) + "/" + padded.suffix(2)
    }

    func path(_ key: ThumbnailKey, size: Int, kind: Kind) -> String {
        folder(key) + "/" + Self.fileStem(key.uid) + "-\(size)." + kind.rawValue
    }

    /// The UID as a file name: UIDs are digits and dots; anything else is percent-encoded.
    static func fileStem(_ uid: String) -> String {
        var out = ""
        for byte in uid.utf8.prefix(200) {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "."):
                out += out.isEmpty ? "%2E" : "."
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out.isEmpty ? "%" : out
    }

    /// FNV-1a, then MurmurHash3's finaliser (UIDs differ mostly in their last digits).
    static func fnv1a32(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        hash ^= hash >> 16
        hash = hash &* 0x85EB_CA6B
        hash ^= hash >> 13
        hash = hash &* 0xC2B2_AE35
        hash ^= hash >> 16
        return hash
    }

    static func read(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0, st.st_size < 64 << 20 else { return nil }
        var data = Data(count: Int(st.st_size))
        let complete = data.withUnsafeMutableBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = Foundation.read(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        return complete ? data : nil
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
