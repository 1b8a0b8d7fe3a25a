import Foundation
import DicomCore
internal import CDcmtkShim

/// One parsed DICOM object (file meta information + dataset), owned by this value's lifetime.
/// Not thread-safe: use one `DicomFile` per thread (DCMTK objects are not shared).
public final class DicomFile {
    public struct LoadOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Stop before the pixel data: metadata only.
        public static let skipPixelData = LoadOptions(rawValue: 1 << 0)
        /// Keep text in its original character set (needed to re-serialise the object).
        public static let keepOriginalCharacterSet = LoadOptions(rawValue: 1 << 1)
    }

    let handle: OpaquePointer
    /// False for datasets lent by the shim for the duration of a callback (never freed here).
    private let owned: Bool

    init(handle: OpaquePointer, owned: Bool = true) {
        self.handle = handle
        self.owned = owned
    }

    deinit { if owned { cdcm_dataset_free(handle) } }

    /// Parses the file at `path`.
    public convenience init(path: String, options: LoadOptions = []) throws(DcmtkError) {
        var error = cdcm_error()
        var out: OpaquePointer?
        let status = cdcm_dataset_open_file(path, options.rawValue, &out, &error)
        guard status == 0, let out else { throw DcmtkError(status: status, error: error, source: path) }
        self.init(handle: out)
    }

    /// Parses a DICOM object held in memory.
    public convenience init(bytes: UnsafeRawBufferPointer, options: LoadOptions = [], source: String? = nil) throws(DcmtkError) {
        var error = cdcm_error()
        var out: OpaquePointer?
        let status = cdcm_dataset_open_memory(bytes.baseAddress, bytes.count, options.rawValue, &out, &error)
        guard status == 0, let out else { throw DcmtkError(status: status, error: error, source: source) }
        self.init(handle: out)
    }

    public convenience init(data: Data, options: LoadOptions = [], source: String? = nil) throws(DcmtkError) {
        var error = cdcm_error()
        var out: OpaquePointer?
        let status = data.withUnsafeBytes { raw in
            cdcm_dataset_open_memory(raw.baseAddress, raw.count, options.rawValue, &out, &error)
        }
        guard status == 0, let out else { throw DcmtkError(status: status, error: error, source: source) }
        self.init(handle: out)
    }

    /// True when the source had the 128-byte preamble and `DICM`.
    public var hasPart10Header: Bool { cdcm_dataset_has_part10_header(handle) == 1 }

    /// The transfer syntax UID the object was encoded in.
    public var transferSyntaxUID: String {
        var out: UnsafePointer<CChar>?
        guard cdcm_dataset_transfer_syntax(handle, &out) == 0, let out else { return "" }
        return String(cString: out)
    }

    /// nil when text is UTF-8; otherwise why the character set could not be converted.
    public var characterSetWarning: String? {
        var warning: UnsafePointer<CChar>?
        if cdcm_dataset_charset_converted(handle, &warning) == 1 { return nil }
        return warning.map { String(cString: $0) } ?? "character set not converted"
    }

    /// The text value of a top-level element (or a meta header element, group 0002);
    /// nil when absent or binary; "" when empty.
    public func string(_ tag: DicomTag) -> String? {
        string(at: [(tag, 0)])
    }

    /// The text value at a path of (sequence tag, item index) pairs ending in the element's tag
    /// (its item index is ignored).
    public func string(at path: [(tag: DicomTag, item: Int)]) -> String? {
        let tags = path.map(\.tag.rawValue)
        let items = path.map { UInt32(clamping: $0.item) }
        var out: UnsafePointer<CChar>?
        var length = 0
        let status = tags.withUnsafeBufferPointer { t in
            items.withUnsafeBufferPointer { i in
                cdcm_dataset_get_string(handle, cdcm_path(tags: t.baseAddress, items: i.baseAddress, depth: path.count),
                                        &out, &length)
            }
        }
        switch status {
        case 0:
            guard let out else { return nil }
            return out.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
        case 2: return ""
        default: return nil
        }
    }

    /// The number of items of a sequence (0 when absent or empty).
    public func sequenceCount(at path: [(tag: DicomTag, item: Int)]) -> Int {
        let tags = path.map(\.tag.rawValue)
        let items = path.map { UInt32(clamping: $0.item) }
        var count = 0
        let status = tags.withUnsafeBufferPointer { t in
            items.withUnsafeBufferPointer { i in
                cdcm_dataset_sequence_count(handle, cdcm_path(tags: t.baseAddress, items: i.baseAddress, depth: path.count),
                                            &count)
            }
        }
        return status == 0 ? count : 0
    }

    public func sequenceCount(_ tag: DicomTag) -> Int { sequenceCount(at: [(tag, 0)]) }

    /// The object as a Part 10 file (meta information regenerated, original transfer syntax).
    /// The file must have been loaded with `.keepOriginalCharacterSet`.
    public func part10Data() throws(DcmtkError) -> Data {
        var error = cdcm_error()
        var buffer: OpaquePointer?
        let status = cdcm_dataset_write_part10(handle, &buffer, &error)
        guard status == 0, let buffer else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_buffer_free(buffer) }
        return Data(bytes: cdcm_buffer_bytes(buffer), count: cdcm_buffer_length(buffer))
    }
}
