import DicomIndex
import DicomStorage

/// The group committer's barrier: a batch's staged files are made durable (one sync of the
/// file system, while its rows are applied) and put in place just before its transaction
/// commits, so a row never points to a file that a crash could lose.
struct StagedFilePublisher: CommitBarrier {
    let store: FileStore

    func sync(_ writes: [InstanceWrite]) -> IndexError? {
        store.syncStaged().map { IndexError(.storage, $0.message, underlying: $0) }
    }

    func publish(_ writes: [InstanceWrite]) -> [IndexError?] {
        let files = writes.map { w in
            StagedFile(temporaryPath: w.stagedFrom ?? "", stored: StoredFile(relativePath: w.path, size: w.fileSize,
                                                                           checksum: w.checksum, modified: w.receivedAt))
        }
        return store.place(files).map { error in error.map { IndexError(.storage, $0.message, underlying: $0) } }
    }
}
