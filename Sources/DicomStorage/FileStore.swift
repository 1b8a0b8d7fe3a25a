import Foundation
import Crypto
import Synchronization
import DicomCore
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
/// complete new file (and at worst an orphan in `tmp`, removed by `recoverTemporaryFiles`).
/// Batches (the ingest pipeline's group commit) stage their files in `tmp/` instead and `publish`
/// them together: one sync of the file system, then the renames. A file at its final path is
/// thus always complete. The renames become durable with the index commit that follows (its
/// sync); should power fail before, the staged file is still complete in `tmp/`, and
/// `recoverTemporaryFiles` puts it in place at the next start when its row was committed.
public final class FileStore: Sendable {
    public let root: URL
    private let rootPath: String
    public var objectsRoot: URL { root.appendingPathComponent("objects", isDirectory: true) }
    /// `tmp/`: one folder per open store (process), named `<pid>-<random>`, which its owner keeps
    /// locked (`flock` on its `.owner` file) while open. The start-up recovery of another process
    /// (`recoverTemporaryFiles`) only touches the folders nobody holds, so an `import` next to a
    /// running `serve` never takes the files the server is receiving.
    public var sharedTemporaryRoot: URL { root.appendingPathComponent("tmp", isDirectory: true) }
    /// This store's own folder in `tmp/`: where its files (and DCMTK's received data sets) are
    /// written before they are put in place.
    public let temporaryRoot: URL
    private let temporaryPath: String
    /// The descriptors of `temporaryRoot`'s lock and of its publish log (-1 once closed), and
    /// the paths of the batch published before the last one.
    private let ownerLock: Mutex<(owner: Int32, log: Int32, previous: [String])>
    /// Folders known to exist (`ensureDirectory`).
    private let knownFolders = Mutex<Set<String>>([])
    /// The root folder, open for `syncfs` (-1: opened at each sync).
    private let rootDescriptor: Int32
    static let publishLogName = ".publishing"

    public init(root: URL) throws(StorageError) {
        self.root = root
        var p = root.standardizedFileURL.path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.rootPath = p
        let shared = root.appendingPathComponent("tmp", isDirectory: true)
        for dir in [root, root.appendingPathComponent("objects", isDirectory: true), shared] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw StorageError(.io, "cannot create \(dir.path): \(error.localizedDescription)")
            }
        }
        // Made under a dot name (which recovery ignores), locked, then renamed: no other process
        // can see the folder unlocked.
        let session = "\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
        let building = shared.path + "/." + session
        let final = shared.path + "/" + session
        guard mkdir(building, 0o755) == 0 else { throw StorageError.fromErrno(errno, "cannot create a folder in tmp/") }
        let fd = open(building + "/.owner", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0, rename(building, final) == 0 else {
            let failure = StorageError.fromErrno(errno, "cannot set up this process's folder in tmp/")
            if fd >= 0 { Glibc.close(fd) }
            unlink(building + "/.owner")
            rmdir(building)
            throw failure
        }
        rootDescriptor = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        temporaryRoot = URL(fileURLWithPath: final, isDirectory: true)
        temporaryPath = final
        let log = open(final + "/" + FileStore.publishLogName, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        ownerLock = Mutex((fd, log, []))
    }

    deinit {
        closeTemporaryFolder()
        if rootDescriptor >= 0 { Glibc.close(rootDescriptor) }
    }

    /// Removes this store's folder in `tmp/` (what is left there was never acknowledged) and
    /// releases it. Call when the process is done storing; also done on deinit.
    public func closeTemporaryFolder() {
        ownerLock.withLock { fds in
            guard fds.owner >= 0 else { return }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: temporaryPath)) ?? [] {
                unlink(temporaryPath + "/" + name)
            }
            rmdir(temporaryPath)
            if fds.log >= 0 { Glibc.close(fds.log) }
            Glibc.close(fds.owner)
            fds = (-1, -1, [])
        }
    }

    /// SHA-256 of bytes, lower-case hex (the checksum the index keeps).
    public static func sha256Hex(_ data: Data) -> String {
        lowercaseHex(SHA256.hash(data: data))
    }

    /// A path of the `objects/ab/cd/<hash>.dcm` form (what a publish log may name; nothing else
    /// is ever removed on its word).
    static func isStoredPath(_ relative: String) -> Bool {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "objects" && parts[1].count == 2 && parts[2].count == 2
            && parts[3].hasSuffix(".dcm") && !parts.contains("..")
    }

    /// The relative path for a SOP Instance UID.
    public static func relativePath(forSOPInstanceUID uid: String) -> String {
        let digest = lowercaseHex(SHA256.hash(data: Data(uid.utf8)))
        return "objects/\(digest.prefix(2))/\(digest.dropFirst(2).prefix(2))/\(digest.prefix(40)).dcm"
    }

    public func url(forRelativePath path: String) -> URL {
        URL(fileURLWithPath: self.path(forRelativePath: path))
    }

    /// The absolute path of a stored file (string concatenation: this is on the hot path).
    public func path(forRelativePath relative: String) -> String {
        rootPath + "/" + relative
    }

    public func exists(relativePath: String) -> Bool {
        access(path(forRelativePath: relativePath), F_OK) == 0
    }

    /// Writes `bytes` durably as the file of `sopInstanceUID`, replacing any file already there.
    public func write(_ bytes: UnsafeRawBufferPointer, sopInstanceUID: String) throws(StorageError) -> StoredFile {
        let relative = FileStore.relativePath(forSOPInstanceUID: sopInstanceUID)
        let destination = path(forRelativePath: relative)
        let folder = String(destination[..<destination.lastIndex(of: "/")!])
        let temporary = temporaryPath + "/" + UUID().uuidString + ".partial"

        try ensureDirectory(folder)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot create a temporary file in tmp/") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            if let failure = FileStore.writeAll(fd, bytes) { throw StorageError.fromErrno(failure, "cannot write \(relative)") }
            guard fsync(fd) == 0 else { throw StorageError.fromErrno(errno, "cannot fsync \(relative)") }
        }
        guard rename(temporary, destination) == 0 else {
            throw StorageError.fromErrno(errno, "cannot rename into \(relative)")
        }
        ok = true
        try syncDirectory(folder)
        let checksum = lowercaseHex(SHA256.hash(data: bytes))
        return StoredFile(relativePath: relative, size: Int64(bytes.count), checksum: checksum,
                          modified: modificationDate(relativePath: relative) ?? Date())
    }

    /// Takes a complete file written elsewhere on this file system (the network layer writes
    /// received data sets into `tmp/`) and stores it durably as the file of `sopInstanceUID`:
    /// fsync, rename into place, fsync of the folder. The source path is gone afterwards.
    /// `contents`: the file's bytes when the caller has read them already (for the checksum).
    public func adopt(temporaryFile source: String, sopInstanceUID: String, contents: Data? = nil) throws(StorageError) -> StoredFile {
        let relative = FileStore.relativePath(forSOPInstanceUID: sopInstanceUID)
        let destination = path(forRelativePath: relative)
        let folder = String(destination[..<destination.lastIndex(of: "/")!])
        try ensureDirectory(folder)
        let data: Data
        if let contents {
            data = contents
        } else {
            do {
                data = try FileStore.readFile(source)
            } catch {
                throw StorageError(.io, "cannot read the received file")
            }
        }
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot open the received file") }
        let synced = fsync(fd)
        let syncErrno = errno
        close(fd)
        guard synced == 0 else { throw StorageError.fromErrno(syncErrno, "cannot fsync \(relative)") }
        guard rename(source, destination) == 0 else {
            throw StorageError.fromErrno(errno, "cannot rename into \(relative)")
        }
        try syncDirectory(folder)
        return StoredFile(relativePath: relative, size: Int64(data.count), checksum: FileStore.sha256Hex(data),
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
        let target = path(forRelativePath: relativePath)
        if unlink(target) != 0 && errno != ENOENT {
            throw StorageError.fromErrno(errno, "cannot remove \(relativePath)")
        }
        try syncDirectory(String(target[..<target.lastIndex(of: "/")!]))
    }

    /// The modification time of a stored file.
    public func modificationDate(relativePath: String) -> Date? {
        var st = stat()
        guard stat(path(forRelativePath: relativePath), &st) == 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
    }

    /// Reads a stored file whole (memory-mapped when large).
    public func read(relativePath: String) throws(StorageError) -> Data {
        do {
            return try FileStore.readFile(path(forRelativePath: relativePath))
        } catch {
            throw StorageError(.notFound, "cannot read \(relativePath)")
        }
    }

    /// Reads a file: small ones with plain POSIX reads into one buffer, large ones (over 4 MiB)
    /// memory-mapped. (Foundation's reader leaks its buffer on empty files.)
    public static func readFile(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot open \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StorageError.fromErrno(errno, "cannot stat \(path)") }
        let size = Int(st.st_size)
        if size > 4 << 20 {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        }
        var data = Data(count: size)
        var offset = 0
        let failure: Int32? = data.withUnsafeMutableBytes { raw -> Int32? in
            while offset < size {
                let n = Glibc.read(fd, raw.baseAddress! + offset, size - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { break }
                offset += n
            }
            return nil
        }
        if let failure { throw StorageError.fromErrno(failure, "cannot read \(path)") }
        if offset < size { data.count = offset }
        return data
    }

    /// SHA-256 of a stored file, lower-case hex.
    public func checksum(relativePath: String) throws(StorageError) -> String {
        FileStore.sha256Hex(try read(relativePath: relativePath))
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

    /// At start: each file left in `tmp/` by a process that is gone (its folder is not locked;
    /// or loose, from older versions) is either put in place, at the relative path `destination`
    /// names for its bytes (a staged file whose index row was committed but whose rename was
    /// lost with the power), or removed (nil: an interrupted write, never acknowledged). The
    /// folders of live processes are left alone. Files put in place are synced before this returns.
    /// `isIndexed`: whether a row names this relative path; the files of a gone process's last
    /// published batch that no row names are removed from `objects/` (counted in `removed`).
    public func recoverTemporaryFiles(destination: (Data) -> String?,
                                      isIndexed: (String) -> Bool = { _ in true }) -> (restored: [String], removed: Int) {
        let shared = sharedTemporaryRoot.path
        var restored: [String] = []
        var removed = 0
        func recover(_ temporary: String) {
            if let data = try? FileStore.readFile(temporary), let relative = destination(data) {
                let target = path(forRelativePath: relative)
                if (try? ensureDirectory(String(target[..<target.lastIndex(of: "/")!]))) != nil,
                   rename(temporary, target) == 0 {
                    restored.append(relative)
                    return
                }
            }
            unlink(temporary)
            removed += 1
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: shared)) ?? [] where !name.hasPrefix(".") {
            let entry = shared + "/" + name
            guard entry != temporaryPath else { continue }
            var st = stat()
            guard lstat(entry, &st) == 0 else { continue }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                recover(entry)
                continue
            }
            let lock = open(entry + "/.owner", O_RDWR | O_CLOEXEC)
            if lock >= 0, flock(lock, LOCK_EX | LOCK_NB) != 0 {
                Glibc.close(lock)  // its process is alive
                continue
            }
            // A pwrite is not torn by a killed process: a log that does not parse was being made
            // (its batch had not renamed anything yet).
            for relative in FileStore.publishedPaths(logAt: entry + "/" + FileStore.publishLogName) ?? []
            where FileStore.isStoredPath(relative) && !isIndexed(relative) {
                if unlink(path(forRelativePath: relative)) == 0 { removed += 1 }
            }
            for file in (try? FileManager.default.contentsOfDirectory(atPath: entry)) ?? []
            where file != ".owner" && file != FileStore.publishLogName {
                recover(entry + "/" + file)
            }
            unlink(entry + "/" + FileStore.publishLogName)
            unlink(entry + "/.owner")
            rmdir(entry)
            if lock >= 0 { Glibc.close(lock) }
        }
        if !restored.isEmpty { _ = syncFileSystem() }
        return (restored, removed)
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

    /// `sync`: fsync the parents of new folders now (false when a `publish` syncs them later).
    /// Folders seen once are remembered (at most the 65,536 leaves): no system call for them again.
    /// The leaf is made first; its parent only when that fails for want of it.
    private func ensureDirectory(_ folder: String, sync: Bool = true) throws(StorageError) {
        if knownFolders.withLock({ $0.contains(folder) }) { return }
        let parent = String(folder[..<folder.lastIndex(of: "/")!])
        if !(try makeFolder(folder, sync: sync)) {  // the parent is missing
            _ = try makeFolder(parent, sync: sync)
            guard try makeFolder(folder, sync: sync) else {
                throw StorageError.fromErrno(ENOENT, "cannot create folder \(folder.split(separator: "/").last ?? "")")
            }
        }
        knownFolders.withLock { _ = $0.insert(folder) }
    }

    /// mkdir, and when it made the folder and `sync`, fsync of its parent (so that the new folder
    /// survives a crash). false: its parent does not exist.
    private func makeFolder(_ dir: String, sync: Bool) throws(StorageError) -> Bool {
        if mkdir(dir, 0o755) == 0 {
            if sync { try syncDirectory(String(dir[..<dir.lastIndex(of: "/")!])) }
            return true
        }
        switch errno {
        case EEXIST: return true
        case ENOENT: return false
        default: throw StorageError.fromErrno(errno, "cannot create folder \(dir.split(separator: "/").last ?? "")")
        }
    }

    /// Renames a file into `destination`; a folder remembered but gone (removed by hand) is made
    /// again, synced, and the rename retried. The errno of a failure, or nil.
    private func renameIntoPlace(_ source: String, _ destination: String) -> Int32? {
        if rename(source, destination) == 0 { return nil }
        let failure = errno
        guard failure == ENOENT, access(source, F_OK) == 0 else { return failure }
        let folder = String(destination[..<destination.lastIndex(of: "/")!])
        knownFolders.withLock { _ = $0.remove(folder) }
        guard (try? ensureDirectory(folder)) != nil else { return failure }
        return rename(source, destination) == 0 ? nil : errno
    }

    // MARK: Staged writes (batches)

    /// Writes all of `bytes` to `fd`; the errno of a failure, or nil.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return nil
    }

    /// Stages bytes as the future file of `sopInstanceUID`: written to `tmp/`, not synced.
    public func stage(_ data: Data, sopInstanceUID: String) throws(StorageError) -> StagedFile {
        let temporary = temporaryPath + "/" + UUID().uuidString + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot create a temporary file in tmp/") }
        let failure = data.withUnsafeBytes { FileStore.writeAll(fd, $0) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw StorageError.fromErrno(failure, "cannot write a temporary file in tmp/")
        }
        do {
            return try stage(temporaryFile: temporary, sopInstanceUID: sopInstanceUID, contents: data)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Stages a complete file already in `tmp/` (a received data set) as the future file of
    /// `sopInstanceUID`; `contents` are its bytes (for the checksum). Its folder is made.
    public func stage(temporaryFile source: String, sopInstanceUID: String, contents: Data) throws(StorageError) -> StagedFile {
        let relative = FileStore.relativePath(forSOPInstanceUID: sopInstanceUID)
        let destination = path(forRelativePath: relative)
        try ensureDirectory(String(destination[..<destination.lastIndex(of: "/")!]), sync: false)
        var st = stat()
        guard stat(source, &st) == 0 else { throw StorageError.fromErrno(errno, "cannot stat the received file") }
        let modified = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
        return StagedFile(temporaryPath: source, stored: StoredFile(relativePath: relative, size: Int64(contents.count),
                                                                     checksum: FileStore.sha256Hex(contents), modified: modified))
    }

    /// Makes staged files durable and puts them in place: `syncStaged`, then `place`. Per file:
    /// nil, or why it is not stored (its temporary file is then removed).
    public func publish(_ files: [StagedFile]) -> [StorageError?] {
        guard !files.isEmpty else { return [] }
        if let error = syncStaged() {
            for f in files { unlink(f.temporaryPath) }
            return Array(repeating: error, count: files.count)
        }
        return place(files)
    }

    /// Makes every file staged so far durable, with the new folders made for them: one sync of
    /// the store's file system, however many files. nil, or why it failed (then none of them
    /// may be put in place).
    public func syncStaged() -> StorageError? {
        syncFileSystem()
    }

    /// Puts synced staged files in place (renames), after noting their paths in the publish log.
    /// The caller's index commit, which syncs, makes the renames durable in practice;
    /// `recoverTemporaryFiles` redoes any lost one at start (rather than a third flush on every
    /// batch for that case alone). Per file: nil, or why it is not stored (its temporary file is
    /// then removed). At most one earlier batch may still be uncommitted when this is called
    /// (the group committer's contract, `CommitBarrier`).
    public func place(_ files: [StagedFile]) -> [StorageError?] {
        guard !files.isEmpty else { return [] }
        logPublishing(files.map(\.stored.relativePath))
        var results: [StorageError?] = []
        results.reserveCapacity(files.count)
        for f in files {
            if let failure = renameIntoPlace(f.temporaryPath, path(forRelativePath: f.stored.relativePath)) {
                results.append(StorageError.fromErrno(failure, "cannot rename into \(f.stored.relativePath)"))
                unlink(f.temporaryPath)
            } else {
                results.append(nil)
            }
        }
        return results
    }

    /// Notes the paths a batch is about to fill, before its renames: should the process die
    /// before the batch's rows are committed, the next start removes the files that no row names
    /// (`recoverTemporaryFiles`): a file never acknowledged is not left in `objects/`. The group
    /// committer puts a batch in place just before its COMMIT, the previous batch committed; the
    /// log keeps that one's paths too, should it be called otherwise. One small overwrite per
    /// batch (count line, then one path per line); best effort.
    private func logPublishing(_ paths: [String]) {
        ownerLock.withLock { fds in
            guard fds.log >= 0 else { return }
            let all = fds.previous + paths
            let text = "\(all.count)\n" + all.map { $0 + "\n" }.joined()
            _ = text.utf8CString.withUnsafeBufferPointer { pwrite(fds.log, $0.baseAddress, $0.count - 1, 0) }
            fds.previous = paths
        }
    }

    /// The paths of the last batch a gone process published (nil: none, or a torn log).
    static func publishedPaths(logAt path: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let count = lines.first.flatMap({ Int($0) }), lines.count > count else { return nil }
        return lines[1...count].map(String.init)
    }

    /// syncfs(2) of the store's file system (glibc declares it only under _GNU_SOURCE, which
    /// Swift's Glibc module does not set: looked up once). Falls back to sync(2).
    nonisolated(unsafe) private static let syncfsFunction: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    private func syncFileSystem() -> StorageError? {
        guard let syncfs = FileStore.syncfsFunction else {
            sync()
            return nil
        }
        let fd = rootDescriptor >= 0 ? rootDescriptor : open(rootPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return StorageError.fromErrno(errno, "cannot open the store's folder") }
        defer { if fd != rootDescriptor { close(fd) } }
        guard syncfs(fd) == 0 else { return StorageError.fromErrno(errno, "cannot sync the store's file system") }
        return nil
    }

    private func syncDirectory(_ folder: String) throws(StorageError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.fromErrno(errno, "cannot open folder \(folder.split(separator: "/").last ?? "")") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError.fromErrno(errno, "cannot fsync folder \(folder.split(separator: "/").last ?? "")") }
    }
}
