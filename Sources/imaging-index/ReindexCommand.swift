import ArgumentParser
import Foundation
import ImagingIndexApp

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild index rows from the stored files.",
        discussion: """
            --stale (the default) remakes rows made under an older indexing policy and adds files never
            indexed; --all remakes every row. Both remove rows whose file is gone. A killed run resumes
            where it stopped when started again with the same mode.
            """
    )

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Only rows made under another indexing policy, and files never indexed (default).")
    var stale = false

    @Flag(name: .long, help: "Every stored file.")
    var all = false

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    @Flag(name: .long, help: "No progress display.")
    var quiet = false

    func validate() throws {
        if stale && all { throw ValidationError("choose one of --stale and --all") }
    }

    func run() throws {
        let node = try common.openNode()
        defer { node.shutdown() }
        let style: ProgressReporter.Style = quiet || json ? .silent : ProgressReporter.defaultStyle()
        let summary = try ReindexJob(node: node, mode: all ? .all : .stale, progress: style).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            printSummary("reindex", summary)
        }
        if summary.failed > 0 { throw ExitCode(1) }
    }
}
