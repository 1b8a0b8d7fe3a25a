import DicomIndex
import DicomStorage
import Thumbnails

/// What the thumbnail module asks about stored instances, answered from the index (the module
/// itself never sees the index): a series' instances with their files, a study's series, and
/// every series a page at a time.
struct IndexThumbnailSource: ThumbnailSource {
    let index: any IndexStore
    let store: FileStore

    func instances(inSeries seriesInstanceUID: String) throws(ThumbnailError) -> [SeriesMember] {
        guard Self.isSingleUID(seriesInstanceUID) else { return [] }
        let files: [SeriesInstanceFile]
        do {
            files = try index.instanceFiles(inSeries: seriesInstanceUID)
        } catch {
            throw ThumbnailError(.sourceUnavailable, "the index cannot be read: \(error.message)", underlying: error)
        }
        return files.map {
            SeriesMember(sopInstanceUID: $0.sopInstanceUID, path: store.path(forRelativePath: $0.path), instanceNumber: $0.instanceNumber)
        }
    }

    func series(inStudy studyInstanceUID: String) throws(ThumbnailError) -> [StudyMember] {
        guard Self.isSingleUID(studyInstanceUID) else { return [] }
        let matches = try query(IndexQuery(level: .series, filters: [.studyInstanceUID: studyInstanceUID],
                                           nameMatching: .exact))
        return matches.compactMap { match in
            guard let series = match.series else { return nil }
            return StudyMember(seriesInstanceUID: series.seriesInstanceUID, seriesNumber: series.seriesNumber)
        }
    }

    func seriesReferences(offset: Int, limit: Int) throws(ThumbnailError) -> [SeriesReference] {
        // Ordered by row id: new series come last, so pages stay stable while instances arrive.
        let matches = try query(IndexQuery(level: .series, limit: limit, offset: offset))
        return matches.compactMap { match in
            guard let series = match.series, let study = match.study else { return nil }
            return SeriesReference(seriesInstanceUID: series.seriesInstanceUID, studyInstanceUID: study.studyInstanceUID)
        }
    }

    private func query(_ query: IndexQuery) throws(ThumbnailError) -> [QueryMatch] {
        do {
            return try index.query(query)
        } catch {
            throw ThumbnailError(.sourceUnavailable, "the index cannot be read: \(error.message)", underlying: error)
        }
    }

    /// One UID, not a DICOM list or a wildcard (a UID filter matches lists `a\b`).
    static func isSingleUID(_ uid: String) -> Bool {
        !uid.isEmpty && !uid.contains("\\") && !uid.contains("*") && !uid.contains("?")
    }
}
