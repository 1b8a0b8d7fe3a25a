/// What the thumbnail module needs to know about stored instances. The composition root
/// implements it over the index; this module never sees the index itself.
///
/// Calls are blocking (they query the index): they are made from worker threads.
public protocol ThumbnailSource: Sendable {
    /// The instances of a series, in the index's order (oldest first); empty when it is unknown.
    func instances(inSeries seriesInstanceUID: String) throws(ThumbnailError) -> [SeriesMember]

    /// The series of a study, in the index's order; empty when it is unknown.
    func series(inStudy studyInstanceUID: String) throws(ThumbnailError) -> [StudyMember]

    /// Every series, a page at a time, in a stable order in which new series come last (for the
    /// scan that finds series without a thumbnail).
    func seriesReferences(offset: Int, limit: Int) throws(ThumbnailError) -> [SeriesReference]
}
