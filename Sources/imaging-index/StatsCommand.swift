import ArgumentParser
import Foundation
import DicomIndex
import ImagingIndexApp

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts by level, modality and sending hospital; disk used."
    )

    @OptionGroup var common: CommonOptions
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let configuration = try common.load()
        let report = try ImagingIndexReader.statistics(configuration)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let s = report.index
        func mb(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }
        var out = """
            patients:  \(s.patients)
            studies:   \(s.studies)
            series:    \(s.series)
            instances: \(s.instances) (\(mb(s.bytes)) of DICOM files)
            stale rows (older indexing policy): \(s.staleInstances)
            disk used: \(mb(report.storeBytes)) files + \(mb(report.indexBytes)) index
            """
        for (title, buckets) in [("by modality", s.byModality), ("by sending hospital", s.byHospital),
                                 ("by day received (UTC)", s.byDay)] {
            out += "\n\(title):"
            for b in buckets {
                out += "\n  \(b.key.padding(toLength: max(b.key.count, 28), withPad: " ", startingAt: 0))  "
                    + "\(b.studies) studies, \(b.series) series, \(b.instances) instances, \(mb(b.bytes))"
            }
        }
        print(out)
    }
}
