import ArgumentParser
import Foundation
import ImagingIndexApp

struct ThumbnailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thumbnail",
        abstract: "Write the PNG thumbnail of a DICOM file, a series or a study.",
        discussion: """
            FILE is rendered directly (no data directory needed). --series and --study are looked up in
            the index: the cached thumbnail when there is one, else it is made (and cached). The PNG goes
            to -o FILE, or to standard output when that is not a terminal.
            Exit status: 0 written; 3 the object has no image (SR, PDF, video...: no thumbnail);
            4 unknown series or study UID; 1 any other failure (unreadable or damaged file, no index).
            """
    )

    static let noThumbnailExitCode: Int32 = 3
    static let unknownUIDExitCode: Int32 = 4

    @OptionGroup var common: CommonOptions

    @Argument(help: "A DICOM file.") var file: String?
    @Option(help: "A SeriesInstanceUID: the thumbnail of its representative instance.") var series: String?
    @Option(help: "A StudyInstanceUID: a mosaic of up to four of its series.") var study: String?
    @Option(name: .shortAndLong, help: "Write the PNG here (default: standard output).") var output: String?
    @Option(help: "Long side in pixels (default: thumbnails.size of the configuration, 256).") var size: Int?
    @Flag(help: "Neither read nor write the thumbnail cache.") var noCache = false

    // Benchmark mode (Scripts/bench thumbnails): every series of the data directory, --jobs threads.
    @Flag(help: .hidden) var bench = false
    @Option(help: .hidden) var jobs: Int = 4
    @Flag(help: .hidden) var cached = false
    @Option(help: .hidden) var benchSeconds: Double = 3

    func validate() throws {
        if bench { return }
        let targets = [file != nil, series != nil, study != nil].filter { $0 }.count
        if targets != 1 { throw ValidationError("give exactly one of FILE, --series UID, --study UID") }
        if let size, !(1...65535).contains(size) { throw ValidationError("--size must be 1 ... 65535") }
    }

    func run() throws {
        let configuration = try common.load()
        if bench {
            let result = try ThumbnailBenchmark(configuration: configuration, size: size ?? configuration.thumbnails.size,
                                                jobs: max(1, jobs), minSeconds: benchSeconds).run(cached: cached)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        if output == nil && isatty(STDOUT_FILENO) == 1 {
            throw CommandFailure(message: "not writing a PNG to a terminal: give -o FILE or redirect the output")
        }
        let target: ThumbnailJob.Target = if let file { .file(file) } else if let series { .series(series) } else { .study(study!) }
        let result: ThumbnailJob.Result
        do {
            result = try ThumbnailJob(configuration: configuration, size: size, useCache: !noCache).run(target)
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.code == .notFound ? Self.unknownUIDExitCode : 1)
        }
        switch result {
        case .noThumbnail(let reason):
            FileHandle.standardError.write(Data("no thumbnail: \(reason)\n".utf8))
            throw ExitCode(Self.noThumbnailExitCode)
        case .image(let png, let width, let height, let fromCache):
            if let output {
                do {
                    try png.write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    throw CommandFailure(message: "cannot write \(output): \(error.localizedDescription)")
                }
                print("\(output): \(width) x \(height) PNG, \(png.count) bytes\(fromCache ? " (from the cache)" : "")")
            } else {
                FileHandle.standardOutput.write(png)
            }
        }
    }
}
