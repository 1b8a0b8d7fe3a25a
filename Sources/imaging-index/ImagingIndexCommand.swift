import ArgumentParser
import Foundation
import Logging
import ImagingIndexApp

@main
struct ImagingIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imaging-index",
        abstract: "ImagingIndex: a city-wide DICOM store and index.",
        subcommands: [ServeCommand.self, ImportCommand.self, ReindexCommand.self, FindCommand.self, PatientsCommand.self,
                      StatsCommand.self, ThumbnailCommand.self, AuditCommand.self]
    )
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory: stored files, the index, imaging-index.json.")
    var dataDir: String = "./data"

    @Option(name: .long, help: "Configuration file (JSON); default <data-dir>/imaging-index.json when it exists.")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func load() throws -> Configuration {
        let dir = URL(fileURLWithPath: dataDir, isDirectory: true)
        var configuration = try Configuration.load(dataDirectory: dir, file: config.map { URL(fileURLWithPath: $0) })
        if let logLevel { configuration.logLevel = logLevel }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSetup.bootstrap(level: level)
        return configuration
    }

    func openNode() throws -> ImagingIndexNode {
        let configuration = try load()
        return try ImagingIndexNode(configuration: configuration)
    }
}

enum LoggingSetup {
    nonisolated(unsafe) static var done = false  // set once, from the main thread, before any other thread starts
    static func bootstrap(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Errors reach the user as one clear line and a non-zero exit status.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

func printSummary(_ title: String, _ s: JobSummary, showProblems: Bool = true) {
    var lines: [String] = []
    lines.append("\(title) summary: \(s.processed) files in \(String(format: "%.1f", s.seconds)) s"
                 + (s.seconds > 0 ? String(format: " (%.0f files/s, %.1f MB/s)", Double(s.processed) / s.seconds,
                                           Double(s.bytes) / 1_048_576 / s.seconds) : ""))
    if s.imported > 0 || title == "import" { lines.append("  imported:    \(s.imported)") }
    if s.reindexed > 0 || title == "reindex" { lines.append("  reindexed:   \(s.reindexed)") }
    lines.append("  duplicates:  \(s.duplicates)" + (s.replaced > 0 ? " (\(s.replaced) replaced)" : ""))
    lines.append("  not DICOM:   \(s.notDicom)")
    lines.append("  corrupt:     \(s.corrupt)")
    lines.append("  failed:      \(s.failed)")
    if title == "reindex" { lines.append("  rows removed (file gone): \(s.removedRows)") }
    if showProblems && !s.problems.isEmpty {
        lines.append("problems:")
        for p in s.problems { lines.append("  [\(p.category)] \(p.reason)") }
    }
    print(lines.joined(separator: "\n"))
}
