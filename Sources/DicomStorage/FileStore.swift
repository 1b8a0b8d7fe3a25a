import Foundation
import Crypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Every instance kept as one file under `root/objects`, at a path derived from the SHA-256 of
/// its SOP Instance UID: `objects/ab/cd/abcdef….dcm`. Two levels of 256 folders keep every
/// folder small (a million instances make ~15 files per leaf folder); the same UID always maps
/// to the same path, so a second copy can never leave a stray file.
///
/// Writes are durable: a temporary file in `root/tmp` is written and fsync'ed, renamed into
/// place, and the destination folder is fsync'ed. A crash leaves either the old state or the
/// complete new file (and at worst an orphan in `tmp`, removed by `removeTemporaryFiles`).
public final class FileStore: Sendable {
    public let root: URL
    public var objectsRoot: URL { root.appendingPathComponent("objects", isDirectory: true) }
    public var temporaryRoot: URL { root.appendingPathComponent("tmp", isDirectory: true) }

    public init(root: URL) throws(StorageError) {
        self.root = root
        for dir in [root, objectsRoot, temporaryRoot] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw StorageError(.io, "cannot create \(dir.path): \(error.localizedDescription)")
            }
        }
    }

    /// SHA-256 of bytes, lower-case hex (the checksum the index keeps).
    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The relative path for a SOP Instance UID.
    public static func relativePath(forSOPInstanceUID uid: String) -> String {
        let digest = SHA256.hash(data: Data(uid.utf8)).map { String(format: "%02x", $0) }.joined()
        return "objects/\(digest.prefix(2))/\(digest.dropFirst(2).prefix(2))/\(digest.prefix(40)).dcm"
    }

    public func url(forRelativePath path: String) -> URL {
        root.appendingPathComponent(path)
    }

    public func exists(relativePath: String) -> Bool {
        FileManager.default.fileExists(atPath: url(forRelativePath: relativePath).path)
    }

    /// Writes `bytes` durably as the file of `sopInstanceUID`, replacing any file already there.
    public func write(_ bytes: UnsafeRawBufferPointer, sopInstanceUID: String) throws(StorageError) -> StoredFile {
        let relative = FileStore.relativePath(forSOPInstanceUID: sopInstanceUID)
        let destination = url(forRelativePath: relative)
        let folder = destination.deletingLastPathComponent()
        let temporary = temporaryRoot.appendingPathComponent("\(UUID().uuidString).partial")

        try ensureDirectory(folder)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot create \(temporary.lastPathComponent)") }
        var ok = false
        defer {
            if !ok { unlink(temporary.path) }
        }
        do {
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StorageError.fromErrno(errno, "cannot write \(relative)")
                }
                offset += n
            }
            guard fsync(fd) == 0 else { throw StorageError.fromErrno(errno, "cannot fsync \(relative)") }
        }
        guard rename(temporary.path, destination.path) == 0 else {
            throw StorageError.fromErrno(errno, "cannot rename into \(relative)")
        }
        ok = true
        try syncDirectory(folder)
        let checksum = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return StoredFile(relativePath: relative, size: Int64(bytes.count), checksum: checksum,
                          modified: modificationDate(relativePath: relative) ?? Date())
    }

    public func write(_ data: Data, sopInstanceUID: String) throws(StorageError) -> StoredFile {
        do {
            return try data.withUnsafeBytes { raw in try write(raw, sopInstanceUID: sopInstanceUID) }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.io, "\(error)")
        }
    }

    /// Deletes a stored file (and fsyncs its folder). Missing files are not an error.
    public func remove(relativePath: String) throws(StorageError) {
        let target = url(forRelativePath: relativePath)
        if unlink(target.path) != 0 && errno != ENOENT {
            throw StorageError.fromErrno(errno, "cannot remove \(relativePath)")
        }
        try syncDirectory(target.deletingLastPathComponent())
    }

    /// The modification time of a stored file.
    public func modificationDate(relativePath: String) -> Date? {
        var st = stat()
        guard stat(url(forRelativePath: relativePath).path, &st) == 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
    }

    /// Reads a stored file whole (memory-mapped).
    public func read(relativePath: String) throws(StorageError) -> Data {
        do {
            return try Data(contentsOf: url(forRelativePath: relativePath), options: .alwaysMapped)
        } catch {
            throw StorageError(.notFound, "cannot read \(relativePath)")
        }
    }

    /// SHA-256 of a stored file, lower-case hex.
    public func checksum(relativePath: String) throws(StorageError) -> String {
        let data = try read(relativePath: relativePath)
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The two-level folder names (`ab/cd`) in sorted order: the unit reindex resumes by.
    public func leafFolders() -> [String] {
        let fm = FileManager.default
        var result: [String] = []
        let top = (try? fm.contentsOfDirectory(atPath: objectsRoot.path)) ?? []
        for a in top.sorted() where a.count == 2 {
            let sub = (try? fm.contentsOfDirectory(atPath: objectsRoot.appendingPathComponent(a).path)) ?? []
            for b in sub.sorted() where b.count == 2 { result.append("\(a)/\(b)") }
        }
        return result
    }

    /// The stored files (relative paths) of one leaf folder, sorted.
    public func files(inLeaf leaf: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: objectsRoot.appendingPathComponent(leaf).path)) ?? []
        return names.filter { $0.hasSuffix(".dcm") }.sorted().map { "objects/\(leaf)/\($0)" }
    }

    /// Removes temporary files left by a crash. Returns how many.
    @discardableResult
    public func removeTemporaryFiles() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporaryRoot.path)) ?? []
        for name in names { unlink(temporaryRoot.appendingPathComponent(name).path) }
        return names.count
    }

    /// Bytes used by stored files (st_blocks, as `du` counts).
    public func diskUsage() -> Int64 {
        var total: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: objectsRoot.path) else { return 0 }
        while let name = walker.nextObject() as? String {
            var st = stat()
            if stat(objectsRoot.appendingPathComponent(name).path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
                total += Int64(st.st_blocks) * 512
            }
        }
        return total
    }

    private func ensureDirectory(_ folder: URL) throws(StorageError) {
        if FileManager.default.fileExists(atPath: folder.path) { return }
        // Create the two levels and fsync their parents, so the new folders survive a crash.
        let parent = folder.deletingLastPathComponent()
        for dir in [parent, folder] where !FileManager.default.fileExists(atPath: dir.path) {
            if mkdir(dir.path, 0o755) != 0 && errno != EEXIST {
                throw StorageError.fromErrno(errno, "cannot create folder \(dir.lastPathComponent)")
            }
            try syncDirectory(dir.deletingLastPathComponent())
        }
    }

    private func syncDirectory(_ folder: URL) throws(StorageError) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot open folder \(folder.lastPathComponent)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError.fromErrno(errno, "cannot fsync folder \(folder.lastPathComponent)") }
    }
}
