import Foundation
import Synchronization
import Testing
import DcmtkBridge
import DicomTestSupport
@testable import Thumbnails

/// An in-memory `ThumbnailSource`: series (with their study) and their instances' files.
final class FakeSource: ThumbnailSource {
    struct Series {
        var uid: String
        var study: String
        var number: Int?
        var members: [SeriesMember]
    }

    private let content = Mutex<[Series]>([])
    /// Every series and study asked about, in order (to see what was made).
    let asked = Mutex<[String]>([])

    init(_ series: [Series] = []) {
        content.withLock { $0 = series }
    }

    func add(_ series: Series) { content.withLock { $0.append(series) } }

    func instances(inSeries uid: String) throws(ThumbnailError) -> [SeriesMember] {
        asked.withLock { $0.append(uid) }
        return content.withLock { $0.first { $0.uid == uid }?.members ?? [] }
    }

    func series(inStudy uid: String) throws(ThumbnailError) -> [StudyMember] {
        content.withLock { list in
            list.filter { $0.study == uid }.map { StudyMember(seriesInstanceUID: $0.uid, seriesNumber: $0.number) }
        }
    }

    func seriesReferences(offset: Int, limit: Int) throws(ThumbnailError) -> [SeriesReference] {
        content.withLock { list in
            Array(list.dropFirst(offset).prefix(limit)).map {
                SeriesReference(seriesInstanceUID: $0.uid, studyInstanceUID: $0.study)
            }
        }
    }
}

/// A series made of corpus files (paths relative to TestImages/), numbered 1, 2, 3...
func corpusSeries(_ uid: String, study: String, number: Int? = nil, _ files: [String]) -> FakeSource.Series {
    FakeSource.Series(uid: uid, study: study, number: number, members: files.enumerated().map { i, file in
        SeriesMember(sopInstanceUID: "\(uid).\(i + 1)", path: TestImages.url(file).path, instanceNumber: i + 1)
    })
}

func fixtureSeries(_ uid: String, study: String, number: Int? = nil, _ files: [String]) throws -> FakeSource.Series {
    FakeSource.Series(uid: uid, study: study, number: number, members: try files.enumerated().map { i, file in
        SeriesMember(sopInstanceUID: "\(uid).\(i + 1)", path: try RenderFixtures.url(file).path, instanceNumber: i + 1)
    })
}

/// Decoded pixels of a PNG thumbnail.
func decode(_ thumbnail: Thumbnail) throws -> Raster {
    let folder = TemporaryDirectory("png")
    return try Raster.decodePNG(thumbnail.png, in: folder.url)
}

func raster(_ image: RenderedImage) -> Raster {
    Raster(width: image.width, height: image.height, channels: image.channels, pixels: image.pixels)
}

