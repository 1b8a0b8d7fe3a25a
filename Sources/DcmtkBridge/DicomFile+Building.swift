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
        try tags.withUnsafeBufferPointer { t throws(DcmtkError) in
            try items.withUnsafeBufferPointer { i throws(DcmtkError) in
                try check { cdcm_dataset_put_string(handle, cdcm_path(tags: t.baseAddress, items: i.baseAddress, depth: path.count),
                                                    value, &$0) }
            }
        }
    }

    /// Puts a top-level element (as `put(_:at:)` with a one-step path, without its arrays: a
    /// C-FIND response is a dozen of these, hundreds of responses a query).
    public func put(_ value: String, for tag: DicomTag) throws(DcmtkError) {
        try Self.withTopLevelPath(tag) { path throws(DcmtkError) in
            try check { cdcm_dataset_put_string(handle, path, value, &$0) }
        }
    }

    /// Puts an empty sequence (a sequence return key).
    public func putEmptySequence(_ tag: DicomTag) throws(DcmtkError) {
        try Self.withTopLevelPath(tag) { path throws(DcmtkError) in
            try check { cdcm_dataset_put_empty_sequence(handle, path, &$0) }
        }
    }

    /// The one-step path of a top-level tag, valid during `body`.
    private static func withTopLevelPath(_ tag: DicomTag,
                                         _ body: (cdcm_path) throws(DcmtkError) -> Void) throws(DcmtkError) {
        try withUnsafePointer(to: tag.rawValue) { t throws(DcmtkError) in
            try withUnsafePointer(to: UInt32(0)) { i throws(DcmtkError) in
                try body(cdcm_path(tags: t, items: i, depth: 1))
            }
        }
    }

    /// Runs a shim call that reports into a `cdcm_error`; a nonzero status is thrown.
    private func check(_ call: (inout cdcm_error) -> Int32) throws(DcmtkError) {
        var error = cdcm_error()
        let status = call(&error)
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
