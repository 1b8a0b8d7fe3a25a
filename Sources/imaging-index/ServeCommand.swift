import ArgumentParser
import Foundation
import Logging
import ImagingIndexApp

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the DICOM node (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET) and the HTTP server (DICOMweb).",
        discussion: """
            Peers, AE title, port and limits come from the "dicom" section of the configuration file
            (see README). SIGINT or SIGTERM stops accepting associations, lets those in flight finish
            (bounded by the DIMSE timeout), and exits 0.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "DICOM port (overrides dicom.port).") var port: UInt16?
    @Option(help: "Our AE title (overrides dicom.aeTitle).") var aeTitle: String?
    @Option(help: "Address to listen on (default: every interface).") var bind: String?
    @Flag(help: "Accept any calling AE title with every permission. For testing only.") var acceptAnyPeer = false
    @Option(help: "HTTP (DICOMweb) port (overrides http.port; 0 picks a free one).") var httpPort: Int?
    @Flag(help: "Do not start the HTTP server.") var noHttp = false
    @Flag(help: "Let every HTTP request in as an administrator and every DICOM peer in. Never with patient data.")
    var developmentMode = false

    func run() async throws {
        var configuration = try common.load()
        if let port { configuration.dicom.port = port }
        if let aeTitle { configuration.dicom.aeTitle = aeTitle }
        if let bind { configuration.dicom.bindAddress = bind }
        if acceptAnyPeer { configuration.dicom.acceptAnyPeer = true }
        if developmentMode {
            configuration.access.developmentMode = true
            configuration.dicom.acceptAnyPeer = true
        }
        if let httpPort { configuration.http.port = httpPort }
        if noHttp { configuration.http.enabled = false }
        if let bind { configuration.http.bindAddress = bind }
        let logger = Logger(label: "imaging-index")
        if configuration.dicom.acceptAnyPeer {
            logger.warning("accept-any-peer is ON: every calling AE title may store, query and retrieve. Do not use in production.")
        }
        let node = try ImagingIndexNode(configuration: configuration, logger: logger)
        try await node.serve(logger: logger)
    }
}
