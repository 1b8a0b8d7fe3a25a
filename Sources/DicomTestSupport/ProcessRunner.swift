import Foundation

/// Runs a command and collects its output: for end-to-end tests against the `imaging-index`
/// binary and real DICOM peers (DCMTK's tools are called by absolute path, /usr/bin/...).
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public enum ProcessRunner {
    /// The built `imaging-index` executable next to the test bundle.
    public static var imagingIndexBinary: URL {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("imaging-index"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("imaging-index"),
            TestImages.packageRoot.appendingPathComponent(".build/debug/imaging-index"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
    }

    @discardableResult
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           timeout: TimeInterval = 300) throws -> ProcessResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["TCP_NODELAY"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        group.wait()
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    @discardableResult
    public static func imagingIndex(_ arguments: [String], timeout: TimeInterval = 300) throws -> ProcessResult {
        try run(imagingIndexBinary, arguments, timeout: timeout)
    }
}
