import DicomIndex
import DicomStorage

/// The group committer's barrier: a batch's staged files are made durable and put in place
/// (`FileStore.publish`: two file-system syncs for the batch) before its rows are committed, so a
/// row never points to a file that a crash could lose.
struct StagedFilePublisher: CommitBarrier {
    let store: FileStore

    func prepare(_ writes: [InstanceWrite]) -> [IndexError?] {
        let staged = writes.enumerated().compactMap { i, w in
            w.stagedFrom.map { (i, StagedFile(temporaryPath: $0, stored: StoredFile(relativePath: w.path, size: w.fileSize,
                                                                                     checksum: w.checksum, modified: w.receivedAt))) }
        }
        var errors = [IndexError?](repeating: nil, count: writes.count)
        for ((i, _), error) in zip(staged, store.publish(staged.map(\.1))) {
            if let error { errors[i] = IndexError(.storage, error.message, underlying: error) }
        }
        return errors
    }
}
