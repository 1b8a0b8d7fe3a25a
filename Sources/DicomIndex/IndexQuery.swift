import DicomCore

/// A query against the index, built from a C-FIND identifier, QIDO-RS parameters or the CLI.
/// Values use DICOM matching syntax (see `Matcher`); attributes of levels below `level` match
/// when any child matches.
public struct IndexQuery: Sendable, Hashable {
    public enum NameMatching: String, Sendable, Hashable, Codable {
        /// DICOM's default: case-sensitive, exact characters.
        case exact
        /// Case-insensitive; `^` and spaces equivalent.
        case caseInsensitive
        /// Case- and diacritic-insensitive (`nguyen van` finds `Nguyễn^Văn`).
        case folded
    }

    public struct Ordering: Sendable, Hashable {
        public var attribute: QueryAttribute
        public var ascending: Bool
        public init(_ attribute: QueryAttribute, ascending: Bool = true) {
            self.attribute = attribute
            self.ascending = ascending
        }
    }

    public var level: QueryLevel
    public var filters: [QueryAttribute: String]
    /// Filters on configured extra tags (instance level), keyed by tag.
    public var extra: [DicomTag: String]
    public var nameMatching: NameMatching
    public var limit: Int?
    public var offset: Int
    public var ordering: [Ordering]
    /// Only patients linked to this citizen ID (every hospital's record of the person).
    public var citizenID: String?
    /// The sharing consent: a person who opted out of cross-hospital sharing shows only this
    /// hospital's studies (their other records, studies and counts are as if absent).
    /// nil: no restriction (administrators, an audited emergency override).
    public var sharingRestriction: String?
    /// Whether matches carry their patient's NumberOfPatientRelatedStudies/Series/Instances.
    /// Counting takes a look-up of the patient's studies per match: a query that does not return
    /// them (most study, series and image queries) turns this off and gets zeros.
    public var patientCounts = true

    public init(level: QueryLevel, filters: [QueryAttribute: String] = [:], extra: [DicomTag: String] = [:],
                nameMatching: NameMatching = .caseInsensitive, limit: Int? = nil, offset: Int = 0,
                ordering: [Ordering] = [], citizenID: String? = nil, sharingRestriction: String? = nil) {
        self.citizenID = citizenID
        self.sharingRestriction = sharingRestriction
        self.level = level
        self.filters = filters
        self.extra = extra
        self.nameMatching = nameMatching
        self.limit = limit
        self.offset = offset
        self.ordering = ordering
    }

    /// The parsed conditions, universal ones dropped. Throws `.invalidQuery` on any bad value.
    public func conditions() throws(IndexError) -> [(attribute: QueryAttribute, matcher: Matcher)] {
        if let limit, limit < 0 { throw IndexError(.invalidQuery, "limit must not be negative") }
        if offset < 0 { throw IndexError(.invalidQuery, "offset must not be negative") }
        var result: [(attribute: QueryAttribute, matcher: Matcher)] = []
        for attribute in QueryAttribute.allCases {
            guard let value = filters[attribute] else { continue }
            let matcher = try Matcher.parse(value, kind: attribute.kind, attribute: attribute.rawValue)
            if matcher != .universal { result.append((attribute, matcher)) }
        }
        return result
    }

    public func extraConditions() throws(IndexError) -> [(tag: DicomTag, matcher: Matcher)] {
        var result: [(tag: DicomTag, matcher: Matcher)] = []
        for tag in extra.keys.sorted() {
            let matcher = try Matcher.parse(extra[tag]!, kind: .text, attribute: tag.description)
            if matcher != .universal { result.append((tag, matcher)) }
        }
        return result
    }
}
