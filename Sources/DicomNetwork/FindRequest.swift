import DicomCore
import DcmtkBridge

/// A C-FIND identifier, read: the level, the matching values, and the return keys asked for.
public struct FindRequest: Sendable {
    public var model: QueryRetrieveModel
    public var level: QueryLevel
    /// Every key of the identifier with its value ("" for a return key with no matching).
    public var keys: [DicomTag: String]
    /// The keys to return, in the order asked (QueryRetrieveLevel and SpecificCharacterSet excluded).
    public var returnKeys: [DicomTag]
    /// Return keys with no text form: sequences (answered empty unless the handler fills them) and
    /// binary keys (OB, OW, ...: left out of the responses).
    public var sequenceKeys: Set<DicomTag>
    /// Person names match ignoring diacritics too (fuzzy semantic matching of person names, agreed
    /// in the C-FIND extended negotiation).
    public var fuzzyNames = false

    public static let queryRetrieveLevel = DicomTag(0x0008, 0x0052)

    public init(model: QueryRetrieveModel, level: QueryLevel, keys: [DicomTag: String], returnKeys: [DicomTag],
                sequenceKeys: Set<DicomTag> = []) {
        self.model = model
        self.level = level
        self.keys = keys
        self.returnKeys = returnKeys
        self.sequenceKeys = sequenceKeys
    }

    /// Reads an identifier; a missing or unknown QueryRetrieveLevel, or a level the model does not
    /// have, is refused with 0xA900 (identifier does not match SOP class).
    public init(identifier: DicomFile, model: QueryRetrieveModel) throws(NetworkError) {
        guard let levelText = identifier.string(Self.queryRetrieveLevel), let level = QueryLevel(parsing: levelText) else {
            throw NetworkError(.identifierDoesNotMatch, "QueryRetrieveLevel (0008,0052) is missing or unknown")
        }
        if model == .studyRoot && level == .patient {
            throw NetworkError(.identifierDoesNotMatch, "the Study Root model has no PATIENT level")
        }
        var keys: [DicomTag: String] = [:]
        var returnKeys: [DicomTag] = []
        var sequences = Set<DicomTag>()
        // Group lengths (gggg,0000), which some older SCUs still send, are neither matched nor returned.
        for tag in identifier.topLevelTags
        where tag != Self.queryRetrieveLevel && tag != .specificCharacterSet && tag.element != 0x0000 {
            if let value = identifier.string(tag) {
                keys[tag] = value
            } else {
                // No text form: a sequence or binary return key.
                sequences.insert(tag)
            }
            returnKeys.append(tag)
        }
        self.init(model: model, level: level, keys: keys, returnKeys: returnKeys, sequenceKeys: sequences)
        try checkHierarchy()
    }

    /// The unique keys of the levels above must be single values (PS3.4 C.4.1.2.2, hierarchical query).
    func checkHierarchy() throws(NetworkError) {
        var required: [(QueryLevel, DicomTag, String)] = []
        if model == .patientRoot && level > .patient { required.append((.patient, .patientID, "PatientID")) }
        if level > .study { required.append((.study, .studyInstanceUID, "StudyInstanceUID")) }
        if level > .series { required.append((.series, .seriesInstanceUID, "SeriesInstanceUID")) }
        for (_, tag, name) in required {
            let value = keys[tag] ?? ""
            if value.isEmpty || value.contains("*") || value.contains("?") || value.contains("\\") {
                throw NetworkError(.identifierDoesNotMatch, "\(name) must be a single value at \(level.rawValue) level")
            }
        }
    }

    /// The unique key of the query level.
    public static func uniqueKey(of level: QueryLevel) -> DicomTag {
        switch level {
        case .patient: .patientID
        case .study: .studyInstanceUID
        case .series: .seriesInstanceUID
        case .instance: .sopInstanceUID
        }
    }
}
