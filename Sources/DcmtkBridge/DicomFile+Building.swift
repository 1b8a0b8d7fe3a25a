import DicomCore
internal import CDcmtkShim

extension DicomFile {
    /// An empty dataset, to be filled with `put` (C-FIND identifiers and responses).
    public static func empty() throws(DcmtkError) -> DicomFile {
        var error = cdcm_error()
        var out: OpaquePointer?
        let status = cdcm_dataset_new(&out, &error)
        guard status == 0, let out else { throw DcmtkError(status: status, error: error) }
        return DicomFile(handle: out)
    }

    /// Puts a text value (UTF-8; numbers as text for binary VRs) at a path of (sequence, item)
    /// pairs ending in the element's tag. An empty value makes an empty element.
    public func put(_ value: String, at path: [(tag: DicomTag, item: Int)]) throws(DcmtkError) {
        let tags = path.map(\.tag.rawValue)
        let items = path.map { UInt32(clamping: $0.item) }
        var error = cdcm_error()
        let status = tags.withUnsafeBufferPointer { t in
            items.withUnsafeBufferPointer { i in
                cdcm_dataset_put_string(handle, cdcm_path(tags: t.baseAddress, items: i.baseAddress, depth: path.count),
                                        value, &error)
            }
        }
        if status != 0 { throw DcmtkError(status: status, error: error) }
    }

    /// Puts a top-level element (as `put(_:at:)` with a one-step path, without its arrays: a
    /// C-FIND response is a dozen of these, hundreds of responses a query).
    public func put(_ value: String, for tag: DicomTag) throws(DcmtkError) {
        var error = cdcm_error()
        let status = withUnsafePointer(to: tag.rawValue) { t in
            withUnsafePointer(to: UInt32(0)) { i in
                cdcm_dataset_put_string(handle, cdcm_path(tags: t, items: i, depth: 1), value, &error)
            }
        }
        if status != 0 { throw DcmtkError(status: status, error: error) }
    }

    /// Puts an empty sequence (a sequence return key).
    public func putEmptySequence(_ tag: DicomTag) throws(DcmtkError) {
        let tags = [tag.rawValue]
        let items: [UInt32] = [0]
        var error = cdcm_error()
        let status = tags.withUnsafeBufferPointer { t in
            items.withUnsafeBufferPointer { i in
                cdcm_dataset_put_empty_sequence(handle, cdcm_path(tags: t.baseAddress, items: i.baseAddress, depth: 1), &error)
            }
        }
        if status != 0 { throw DcmtkError(status: status, error: error) }
    }

    /// The top-level tags of the dataset, in order.
    public var topLevelTags: [DicomTag] {
        var tags: UnsafePointer<UInt32>?
        var count = 0
        guard cdcm_dataset_top_level_tags(handle, &tags, &count) == 0, let tags else { return [] }
        return UnsafeBufferPointer(start: tags, count: count).map { DicomTag(rawValue: $0) }
    }
}
