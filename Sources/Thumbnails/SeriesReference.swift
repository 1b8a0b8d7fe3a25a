/// A series and the study it belongs to.
public struct SeriesReference: Sendable, Hashable {
    public var seriesInstanceUID: String
    public var studyInstanceUID: String

    public init(seriesInstanceUID: String, studyInstanceUID: String) {
        self.seriesInstanceUID = seriesInstanceUID
        self.studyInstanceUID = studyInstanceUID
    }
}
