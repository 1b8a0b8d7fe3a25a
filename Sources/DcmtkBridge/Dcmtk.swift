internal import CDcmtkShim

/// Process-wide DCMTK set-up. Every shim call initialises on demand; calling this at start-up
/// turns a missing data dictionary into a clear error before any work arrives.
public enum Dcmtk {
    public static func initialize() throws(DcmtkError) {
        var error = cdcm_error()
        let status = cdcm_initialize(&error)
        if status != 0 { throw DcmtkError(status: status, error: error) }
    }

    public static var version: String { String(cString: cdcm_version()) }
}

extension DcmtkError {
    init(status: Int32, error: cdcm_error, source: String? = nil) {
        let message = withUnsafeBytes(of: error.message) { raw -> String in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        self.init(code: Code(rawValue: status) ?? .internal,
                  message: message.isEmpty ? "DCMTK failure (status \(status))" : message,
                  source: source)
    }
}
