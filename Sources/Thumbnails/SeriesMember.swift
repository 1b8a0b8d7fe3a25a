/// One instance of a series, as the index knows it.
public struct SeriesMember: Sendable, Hashable {
    public var sopInstanceUID: String
    /// Absolute path of the stored file.
    public var path: String
    public var instanceNumber: Int?

    public init(sopInstanceUID: String, path: String, instanceNumber: Int?) {
        self.sopInstanceUID = sopInstanceUID
        self.path = path
        self.instanceNumber = instanceNumber
    }
}
