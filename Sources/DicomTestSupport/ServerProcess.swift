import Foundation

/// `imaging-index serve` started by a test on 127.0.0.1 with port 0 (the kernel picks a free
/// one; the server logs it), stopped with SIGTERM (or killed) at the end.
public final class ServerProcess: @unchecked Sendable {  // the Process is only touched by the test that owns this
    public let process: Process
    public let dataDirectory: URL
    public let logFile: URL
    public private(set) var port: UInt16 = 0
    /// The HTTP (DICOMweb) port, 0 when the HTTP server is off.
    public private(set) var httpPort: Int = 0
    /// The DICOM TLS port, 0 unless `dicom.tls` is configured.
    public private(set) var tlsPort: UInt16 = 0

    /// `dicomTLS`: the configuration has `dicom.tls` (wait for that listener too).
    public init(dataDirectory: URL, config: String? = nil, extraArguments: [String] = [], dicomTLS: Bool = false) throws {
        self.dataDirectory = dataDirectory
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        logFile = dataDirectory.deletingLastPathComponent()
            .appendingPathComponent("server-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        var arguments = ["serve", "--data-dir", dataDirectory.path, "--port", "0", "--http-port", "0", "--bind", "127.0.0.1"]
        if let config {
            let url = dataDirectory.deletingLastPathComponent().appendingPathComponent("config-\(UUID().uuidString.prefix(6)).json")
            try Data(config.utf8).write(to: url)
            arguments += ["--config", url.path]
        }
        process = ProcessRunner.process(ProcessRunner.imagingIndexBinary, arguments + extraArguments)
        var env = ProcessInfo.processInfo.environment
        env["TCP_NODELAY"] = "1"
        process.environment = env
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOf: logFile, encoding: .utf8),
               let range = text.range(of: "dicom.port=") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                port = UInt16(digits) ?? 0
                let httpOff = (arguments + extraArguments).contains("--no-http")
                if let http = text.range(of: "http.port=") {
                    httpPort = Int(text[http.upperBound...].prefix { $0.isNumber }) ?? 0
                }
                if let tls = text.range(of: "dicom.tls_port=") {
                    tlsPort = UInt16(text[tls.upperBound...].prefix { $0.isNumber }) ?? 0
                }
                if port != 0 && (httpPort != 0 || httpOff) && (tlsPort != 0 || !dicomTLS) { return }
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ServerError(message: "server did not start: \(log)")
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    public func stop(timeout: TimeInterval = 30) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { killHard() } }

    public struct ServerError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }
}

/// DCMTK's command-line peers, by absolute path (pynetdicom installs scripts of the same names).
public enum DcmtkTool {
    public static func run(_ tool: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> ProcessResult {
        try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/\(tool)"), arguments, timeout: timeout)
    }
}

/// A Python peer script from `Tests/peers/` (pynetdicom), run with python3.
public enum PythonPeer {
    public static func run(_ script: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> ProcessResult {
        let path = TestImages.packageRoot.appendingPathComponent("Tests/peers/\(script)").path
        return try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", path] + arguments, timeout: timeout)
    }
}

/// DCMTK's `storescp` as a C-MOVE destination on 127.0.0.1: files it receives go to `folder`.
/// Killed with SIGKILL when released (a process started from a test thread inherits its blocked
/// signals, SIGTERM among them).
public final class StoreSCP: @unchecked Sendable {  // the Process is only touched by the test that owns this
    public let process: Process
    public let folder: URL

    public init(aeTitle: String, port: UInt16, folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        process = ProcessRunner.process(URL(fileURLWithPath: "/usr/bin/storescp"), ["-aet", aeTitle, "-od", folder.path, String(port)])
        process.environment = ["TCP_NODELAY": "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 0.5)
    }

    /// How many files it has received.
    public var received: Int { (try? FileManager.default.contentsOfDirectory(atPath: folder.path).count) ?? 0 }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// pynetdicom holding associations open (`Tests/peers/hold_associations.py`): `count`
/// Verification associations for `seconds`, then released. Killed when released early.
public final class HeldAssociations: @unchecked Sendable {  // the Process is only touched by the test that owns this
    public let process: Process
    /// What the peer said once it had opened them, e.g. `{"open": 4}`.
    public let said: String

    public init(port: UInt16, calling: String, called: String = "IMAGINGINDEX", count: Int, seconds: Double) throws {
        process = ProcessRunner.process(URL(fileURLWithPath: "/usr/bin/env"), ["python3",
            TestImages.packageRoot.appendingPathComponent("Tests/peers/hold_associations.py").path,
            "127.0.0.1", String(port), calling, called, String(count), String(seconds)])
        let opened = Pipe()
        process.standardOutput = opened
        try process.run()
        // Wait until they are open (Python starts slowly on a busy machine).
        var said = ""
        let deadline = Date().addingTimeInterval(60)
        while !said.contains("\"open\"") && Date() < deadline {
            let chunk = opened.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said += String(decoding: chunk, as: UTF8.self)
        }
        self.said = said
    }

    /// How many associations it opened (nil: it said nothing).
    public var opened: Int? {
        guard let range = said.range(of: "\"open\": ") else { return nil }
        return Int(said[range.upperBound...].prefix { $0.isNumber })
    }

    /// Waits for the peer to release them and exit.
    public func waitUntilReleased() { process.waitUntilExit() }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
