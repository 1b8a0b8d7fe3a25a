/// A file written (or received) into the store's `tmp/` folder, checked and summed, but neither
/// durable nor in place yet: `FileStore.publish` makes a batch of them durable and renames them
/// into place with two file-system syncs for the whole batch instead of two fsyncs per file.
public struct StagedFile: Sendable, Hashable {
    /// Where it lies now, in `tmp/`.
    public var temporaryPath: String
    /// Where it goes, with its size, checksum and time.
    public var stored: StoredFile

    public init(temporaryPath: String, stored: StoredFile) {
        self.temporaryPath = temporaryPath
        self.stored = stored
    }
}
