import Foundation

/// Runs a command and collects its output: for end-to-end tests against the `imaging-index`
/// binary and real DICOM peers (DCMTK's tools are called by absolute path, /usr/bin/...).
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public enum ProcessRunner {
    /// Processes started from a test thread inherit its blocked signals (SIGTERM among them), so a
    /// child could never be asked to stop, and Python's multiprocessing pools hang on exit. Every
    /// child is therefore started through a one-line trampoline that clears the signal mask and
    /// execs the real program.
    public static func unblocked(_ executable: URL, _ arguments: [String]) -> (URL, [String]) {
        let trampoline = "import os,signal,sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"
        return (URL(fileURLWithPath: "/usr/bin/python3"), ["-c", trampoline, executable.path] + arguments)
    }

    /// A `Process` for `executable` that starts with no blocked signals.
    public static func process(_ executable: URL, _ arguments: [String]) -> Process {
        let process = Process()
        (process.executableURL, process.arguments) = unblocked(executable, arguments)
        return process
    }

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
        let process = process(executable, arguments)
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
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
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
