import DicomCore

/// What the index extracts from each instance. Every row records the fingerprint of the policy
/// it was made under, so `reindex --stale` finds rows made under an older one.
public struct IndexingPolicy: Sendable, Hashable {
    /// Bumped whenever the code extracts or normalises differently.
    public static let codeVersion = 1

    /// Extra top-level tags indexed for every instance (searchable with `IndexQuery.extra`).
    public var extraTags: [DicomTag]

    public init(extraTags: [DicomTag] = []) {
        self.extraTags = Array(Set(extraTags)).sorted()
    }

    /// `1` or `1+00081030,00180015`.
    public var fingerprint: String {
        let base = String(IndexingPolicy.codeVersion)
        guard !extraTags.isEmpty else { return base }
        return base + "+" + extraTags.map(\.hexString).joined(separator: ",")
    }
}
