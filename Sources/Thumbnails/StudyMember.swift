/// One series of a study.
public struct StudyMember: Sendable, Hashable {
    public var seriesInstanceUID: String
    public var seriesNumber: Int?

    public init(seriesInstanceUID: String, seriesNumber: Int?) {
        self.seriesInstanceUID = seriesInstanceUID
        self.seriesNumber = seriesNumber
    }
}
