import ArgumentParser
import Foundation
import ImagingIndexApp

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import DICOM files and folders (recursively, in parallel) into the store and index.",
        discussion: """
            Every file goes through the same pipeline as the network: parsed, stored durably, indexed.
            Files that are not DICOM or are damaged are reported with their reason and skipped; the run
            goes on. Exit status 0 unless something really failed (unreadable input, disk full, index).
            """
    )

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    @Flag(name: .long, help: "No progress display.")
    var quiet = false

    @Argument(help: "Files or folders to import.")
    var paths: [String]

    func run() throws {
        let node = try common.openNode()
        defer { node.shutdown() }
        let style: ProgressReporter.Style = quiet || json ? .silent : ProgressReporter.defaultStyle()
        let summary = ImportJob(node: node, paths: paths, progress: style).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            printSummary("import", summary)
        }
        if summary.failed > 0 { throw ExitCode(1) }
    }
}
