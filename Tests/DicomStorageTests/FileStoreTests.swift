import Foundation
import Testing
import DicomTestSupport
@testable import DicomStorage

@Suite struct FileStoreTests {
    @Test func layoutIsTwoLevelsOfSmallFoldersAndStable() {
        let a = FileStore.relativePath(forSOPInstanceUID: "1.2.3.4")
        #expect(a == FileStore.relativePath(forSOPInstanceUID: "1.2.3.4"))
        #expect(a != FileStore.relativePath(forSOPInstanceUID: "1.2.3.5"))
        let parts = a.split(separator: "/")
        #expect(parts.count == 4)
        #expect(parts[0] == "objects" && parts[1].count == 2 && parts[2].count == 2 && parts[3].hasSuffix(".dcm"))
        // 10,000 UIDs spread over the leaf folders: none gets more than a handful.
        var perLeaf: [String: Int] = [:]
        for i in 0..<10_000 {
            let p = FileStore.relativePath(forSOPInstanceUID: "1.2.826.0.1.3680043.10.\(i)").split(separator: "/")
            perLeaf["\(p[1])/\(p[2])", default: 0] += 1
        }
        #expect(perLeaf.values.max()! < 10)
    }

    @Test func writesDurablyReadsBackAndReplacesInPlace() throws {
        let dir = TemporaryDirectory()
        let store = try FileStore(root: dir.url)
        let first = try store.write(Data("first".utf8), sopInstanceUID: "1.2.3")
        #expect(first.size == 5)
        #expect(first.checksum == FileStore.sha256Hex(Data("first".utf8)))
        #expect(first.checksum == "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e")
        #expect(try store.read(relativePath: first.relativePath) == Data("first".utf8))
        #expect(store.modificationDate(relativePath: first.relativePath) == first.modified)

        let second = try store.write(Data("second copy".utf8), sopInstanceUID: "1.2.3")
        #expect(second.relativePath == first.relativePath)
        #expect(try store.read(relativePath: first.relativePath) == Data("second copy".utf8))
        // No temporary files and exactly one stored file remain.
        #expect(leftoverTemporaryFiles(store.sharedTemporaryRoot).isEmpty)
        #expect(store.leafFolders().flatMap { store.files(inLeaf: $0) } == [first.relativePath])

        try store.remove(relativePath: first.relativePath)
        #expect(!store.exists(relativePath: first.relativePath))
        try store.remove(relativePath: first.relativePath)  // already gone: not an error
    }

    /// At start, what a gone process left in `tmp/` is removed (or put in place, when the caller
    /// names where): its own folder, no longer locked, and loose files of older versions. The
    /// folder of a store still open (another process's live `serve`) is left alone.
    @Test func leftoverTemporaryFilesOfGoneProcessesAreCleanedUp() throws {
        let dir = TemporaryDirectory()
        let live = try FileStore(root: dir.url)
        try Data("being received".utf8).write(to: live.temporaryRoot.appendingPathComponent("in-flight.partial"))
        let gone = try FileStore(root: dir.url)
        try Data("half".utf8).write(to: gone.temporaryRoot.appendingPathComponent("crash.partial"))
        try Data("staged".utf8).write(to: gone.temporaryRoot.appendingPathComponent("staged.partial"))
        // A crash: the folder stays, its lock goes with the process.
        let goneFolder = gone.temporaryRoot
        try FileManager.default.moveItem(at: goneFolder, to: dir.url.appendingPathComponent("kept"))
        gone.closeTemporaryFolder()
        try FileManager.default.moveItem(at: dir.url.appendingPathComponent("kept"), to: goneFolder)
        try Data("old".utf8).write(to: live.sharedTemporaryRoot.appendingPathComponent("loose.partial"))

        let store = try FileStore(root: dir.url)
        let outcome = store.recoverTemporaryFiles { data in data == Data("staged".utf8) ? "objects/aa/bb/staged.dcm" : nil }
        #expect(outcome.restored == ["objects/aa/bb/staged.dcm"])
        #expect(outcome.removed == 2)
        #expect(try store.read(relativePath: "objects/aa/bb/staged.dcm") == Data("staged".utf8))
        #expect(!FileManager.default.fileExists(atPath: goneFolder.path))
        #expect(leftoverTemporaryFiles(store.sharedTemporaryRoot) == [live.temporaryRoot.lastPathComponent + "/in-flight.partial"])

        // Closed, a store's folder goes with what is left in it.
        live.closeTemporaryFolder()
        #expect(leftoverTemporaryFiles(store.sharedTemporaryRoot).isEmpty)
        #expect(store.recoverTemporaryFiles { _ in nil }.removed == 0)
    }

    /// A process killed between a batch's renames and its index commit: at the next start, the
    /// files of its last two batches (one committing, one published meanwhile) that no index row
    /// names (never acknowledged) are removed from `objects/`; the others stay.
    @Test func filesOfABatchKilledBeforeItsCommitAreRemovedUnlessIndexed() throws {
        let dir = TemporaryDirectory()
        let killed = try FileStore(root: dir.url)
        let committed = try killed.stage(Data("committed".utf8), sopInstanceUID: "1.5.1")
        let uncommitted = try killed.stage(Data("uncommitted".utf8), sopInstanceUID: "1.5.2")
        #expect(killed.publish([committed, uncommitted]).allSatisfy { $0 == nil })
        // The next batch is published while that one commits (the group committer's pipeline).
        let next = try killed.stage(Data("next".utf8), sopInstanceUID: "1.5.3")
        #expect(killed.publish([next]).allSatisfy { $0 == nil })
        let folder = killed.temporaryRoot
        try FileManager.default.moveItem(at: folder, to: dir.url.appendingPathComponent("kept"))
        killed.closeTemporaryFolder()  // the lock goes with the process; the folder stays
        try FileManager.default.moveItem(at: dir.url.appendingPathComponent("kept"), to: folder)

        let store = try FileStore(root: dir.url)
        let outcome = store.recoverTemporaryFiles(destination: { _ in nil },
                                                  isIndexed: { $0 == committed.stored.relativePath })
        #expect(outcome.removed == 2)
        #expect(store.exists(relativePath: committed.stored.relativePath))
        #expect(!store.exists(relativePath: uncommitted.stored.relativePath))
        #expect(!store.exists(relativePath: next.stored.relativePath))
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        // Only paths of the store's own form are ever taken from a log.
        #expect(FileStore.isStoredPath(committed.stored.relativePath))
        #expect(!FileStore.isStoredPath("objects/ab/../../index.sqlite"))
        #expect(!FileStore.isStoredPath("index.sqlite"))
    }

    @Test func unwritableStoreIsAClearIOError() throws {
        let dir = TemporaryDirectory()
        let store = try FileStore(root: dir.url)
        // A file where the temporary folder should be: creating the temp file fails.
        try FileManager.default.removeItem(at: store.temporaryRoot)
        try Data().write(to: store.temporaryRoot)
        do {
            _ = try store.write(Data("x".utf8), sopInstanceUID: "1.2.4")
            Issue.record("write succeeded without a temporary folder")
        } catch {
            #expect(error.code == .io)
            #expect(!error.message.isEmpty)
        }
        #expect(!store.exists(relativePath: FileStore.relativePath(forSOPInstanceUID: "1.2.4")))
    }

    /// A real full disk: a 256 KiB tmpfs. Needs root (mount), as CI and the dev machines have.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func fullDiskIsOutOfSpaceAndLeavesNothingHalfWritten() throws {
        try withFullDisk { store throws in
            let small = try store.write(Data(repeating: 1, count: 10_000), sopInstanceUID: "1.9.1")
            do throws(StorageError) {
                _ = try store.write(Data(repeating: 2, count: 1_000_000), sopInstanceUID: "1.9.2")
                Issue.record("a 1 MB write into a 256 KB disk succeeded")
            } catch {
                #expect(error.code == .outOfSpace, "\(error)")
            }
            #expect(!store.exists(relativePath: FileStore.relativePath(forSOPInstanceUID: "1.9.2")))
            #expect(leftoverTemporaryFiles(store.sharedTemporaryRoot).isEmpty)
            #expect(try store.read(relativePath: small.relativePath).count == 10_000)
        }
    }

    /// A store on a 256 KiB tmpfs, unmounted afterwards.
    func withFullDisk(_ body: (FileStore) throws -> Void) throws {
        let dir = TemporaryDirectory("full-disk")
        let mountPoint = dir.url.path
        let mount = try ProcessRunner.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint])
        try #require(mount.status == 0, "mount failed: \(mount.stderr)")
        defer { _ = try? ProcessRunner.run(URL(fileURLWithPath: "/bin/umount"), [mountPoint]) }
        try body(try FileStore(root: dir.url))
    }

    @Test func stagedFilesArePublishedInPlaceAsABatch() throws {
        let dir = TemporaryDirectory()
        let store = try FileStore(root: dir.url)
        let old = try store.write(Data("old".utf8), sopInstanceUID: "1.5.1")
        let a = try store.stage(Data("a new copy".utf8), sopInstanceUID: "1.5.1")
        let b = try store.stage(Data("b".utf8), sopInstanceUID: "1.5.2")
        let gone = try store.stage(Data("c".utf8), sopInstanceUID: "1.5.3")
        // Staged: nothing in place yet, the old copy still readable.
        #expect(a.stored.relativePath == old.relativePath && a.stored.checksum == FileStore.sha256Hex(Data("a new copy".utf8)))
        #expect(try store.read(relativePath: old.relativePath) == Data("old".utf8))
        #expect(!store.exists(relativePath: b.stored.relativePath))
        unlink(gone.temporaryPath)  // a staged file that vanished fails alone
        let results = store.publish([a, b, gone])
        #expect(results[0] == nil && results[1] == nil)
        #expect(results[2]?.code == .notFound)
        #expect(try store.read(relativePath: a.stored.relativePath) == Data("a new copy".utf8))
        #expect(try store.read(relativePath: b.stored.relativePath) == Data("b".utf8))
        #expect(!store.exists(relativePath: gone.stored.relativePath))
        #expect(leftoverTemporaryFiles(store.sharedTemporaryRoot).isEmpty)
        #expect(store.publish([]).isEmpty)
    }

    /// The store remembers the folders it made; one removed by hand since is made again when a
    /// file is put in place there.
    @Test func aFolderRemovedByHandIsMadeAgain() throws {
        let dir = TemporaryDirectory()
        let store = try FileStore(root: dir.url)
        let first = try store.write(Data("first".utf8), sopInstanceUID: "1.5.9")
        let folder = store.url(forRelativePath: first.relativePath).deletingLastPathComponent()
        try FileManager.default.removeItem(at: folder)
        let again = try store.stage(Data("second".utf8), sopInstanceUID: "1.5.9")
        #expect(store.publish([again]).allSatisfy { $0 == nil })
        #expect(try store.read(relativePath: again.stored.relativePath) == Data("second".utf8))
        // Both levels gone (objects/ab removed): both are made again.
        try FileManager.default.removeItem(at: folder.deletingLastPathComponent())
        let third = try store.stage(Data("third".utf8), sopInstanceUID: "1.5.9")
        #expect(store.publish([third]).allSatisfy { $0 == nil })
        #expect(try store.read(relativePath: third.stored.relativePath) == Data("third".utf8))
        // A new store (nothing remembered) makes a missing two-level folder at once.
        try FileManager.default.removeItem(at: folder.deletingLastPathComponent())
        let fresh = try FileStore(root: dir.url)
        let fourth = try fresh.write(Data("fourth".utf8), sopInstanceUID: "1.5.9")
        #expect(try fresh.read(relativePath: fourth.relativePath) == Data("fourth".utf8))
    }

    /// Staging into a full disk is refused as out of space and leaves no temporary file.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func stagingIntoAFullDiskIsOutOfSpace() throws {
        try withFullDisk { store throws in
            do throws(StorageError) {
                _ = try store.stage(Data(repeating: 2, count: 1_000_000), sopInstanceUID: "1.9.3")
                Issue.record("a 1 MB staged write into a 256 KB disk succeeded")
            } catch {
                #expect(error.code == .outOfSpace, "\(error)")
            }
            #expect(leftoverTemporaryFiles(store.sharedTemporaryRoot).isEmpty)
        }
    }
}
