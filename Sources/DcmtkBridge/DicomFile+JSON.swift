import Foundation
import DicomCore
internal import CDcmtkShim

extension DicomFile {
    /// The data set as DICOM JSON (PS3.18 Annex F): pixel data and binary values longer than
    /// `inlineLimit` bytes as BulkDataURIs `<bulkDataBase>/bulkdata/GGGGEEEE`.
    public func dicomJSON(bulkDataBase: String, inlineLimit: Int = 256) throws(DcmtkError) -> Data {
        var error = cdcm_error()
        var buffer: OpaquePointer?
        let status = cdcm_dataset_write_json(handle, bulkDataBase, UInt32(clamping: inlineLimit), &buffer, &error)
        guard status == 0, let buffer else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_buffer_free(buffer) }
        let json = Data(bytes: cdcm_buffer_bytes(buffer), count: cdcm_buffer_length(buffer))
        // Text DCMTK could not convert (an unknown or misspelt SpecificCharacterSet, 8-bit bytes
        // without one, an item in a character set of its own) is written as received: JSON must
        // be UTF-8, so such bytes become U+FFFD, as in the index.
        if String(validating: json, as: UTF8.self) != nil { return json }
        return Data(String(decoding: json, as: UTF8.self).utf8)
    }
}

extension DicomFile {
    /// The value of a top-level element as bytes (bulk data); nil when absent.
    public func elementBytes(_ tag: DicomTag) throws(DcmtkError) -> Data? {
        var error = cdcm_error()
        var buffer: OpaquePointer?
        let status = cdcm_dataset_element_bytes(handle, tag.rawValue, &buffer, &error)
        if status == 1 { return nil }  // CDCM_NOT_FOUND
        guard status == 0, let buffer else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_buffer_free(buffer) }
        return Data(bytes: cdcm_buffer_bytes(buffer), count: cdcm_buffer_length(buffer))
    }

    /// One frame (0-based), uncompressed; nil when there is no such frame.
    public func frame(_ index: Int) throws(DcmtkError) -> Data? {
        var error = cdcm_error()
        var buffer: OpaquePointer?
        let status = cdcm_dataset_frame(handle, UInt32(clamping: index), &buffer, &error)
        if status == 1 { return nil }  // CDCM_NOT_FOUND
        guard status == 0, let buffer else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_buffer_free(buffer) }
        return Data(bytes: cdcm_buffer_bytes(buffer), count: cdcm_buffer_length(buffer))
    }
}

extension DicomFile {
    /// The object as a Part 10 file in an uncompressed transfer syntax (compressed pixel data
    /// decoded). Open the file with `.keepOriginalCharacterSet`.
    public func part10Data(transferSyntax uid: String) throws(DcmtkError) -> Data {
        var error = cdcm_error()
        var buffer: OpaquePointer?
        let status = cdcm_dataset_write_part10_as(handle, uid, &buffer, &error)
        guard status == 0, let buffer else { throw DcmtkError(status: status, error: error) }
        defer { cdcm_buffer_free(buffer) }
        return Data(bytes: cdcm_buffer_bytes(buffer), count: cdcm_buffer_length(buffer))
    }
}
