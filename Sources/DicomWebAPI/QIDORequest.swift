import DicomCore
import DicomIndex
import PatientIdentity

/// A QIDO-RS search (PS3.18 §10.6) turned into an index query and the attributes to answer.
struct QIDORequest: Sendable {
    var query: IndexQuery
    /// Attributes of each answer: the level's defaults, the matching keys, `includefield`s.
    var returnTags: Set<DicomTag>
    var includeAll: Bool
    /// PatientID was a citizen ID with the national issuer: answers carry it as PatientID.
    var citizenID: String?
    var limit: Int

    /// `scope`: UIDs from the path (`/studies/{study}/series` ...). `parameters`: the query
    /// string's (name, value) pairs in order.
    static func parse(level: QueryLevel, scope: [DicomTag: String], parameters: [(String, String)],
                      configuration: DicomWebConfiguration) throws(DicomWebError) -> QIDORequest {
        var keys = scope
        var include = Set<DicomTag>()
        var includeAll = false
        var fuzzy = false
        var limit = configuration.maxResults
        var offset = 0
        for (name, value) in parameters {
            switch name {
            case "includefield":
                for field in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    if field == "all" { includeAll = true; continue }
                    guard let tag = Self.tag(named: field) else {
                        throw DicomWebError(.badRequest, "includefield: unknown attribute '\(field)'")
                    }
                    include.insert(tag)
                }
            case "limit":
                guard let n = Int(value), n >= 0 else { throw DicomWebError(.badRequest, "limit must be a number ≥ 0, not '\(value)'") }
                limit = min(n, configuration.maxResults)
            case "offset":
                guard let n = Int(value), n >= 0 else { throw DicomWebError(.badRequest, "offset must be a number ≥ 0, not '\(value)'") }
                offset = n
            case "emergency":
                continue // the emergency override's reason (the access middleware reads it)
            case "fuzzymatching":
                guard value == "true" || value == "false" else {
                    throw DicomWebError(.badRequest, "fuzzymatching must be true or false, not '\(value)'")
                }
                fuzzy = value == "true"
            default:
                guard let tag = Self.tag(named: name) else {
                    throw DicomWebError(.badRequest, "unknown query parameter or attribute '\(name)'")
                }
                if let scoped = scope[tag], scoped != value {
                    throw DicomWebError(.badRequest, "\(name) contradicts the UID in the path")
                }
                keys[tag] = value
            }
        }
        var query = IndexQuery(level: level, dicomKeys: keys, nameMatching: fuzzy ? .folded : .caseInsensitive)
        // Keys the index cannot match on are refused rather than silently ignored.
        for tag in keys.keys where QueryAttribute(tag: tag) == nil && !keys[tag]!.isEmpty {
            throw DicomWebError(.badRequest, "attribute \(Self.keyword(tag) ?? tag.hexString) cannot be used to match")
        }
        do {
            _ = try query.conditions()
        } catch {
            throw DicomWebError(.badRequest, error.message)
        }
        var citizen: String?
        if let id = CitizenIDRules(nationalIssuer: configuration.nationalIssuer).lookup(keys) {
            citizen = id.value
            query.filters[.patientID] = nil
            query.filters[.issuerOfPatientID] = nil
            query.citizenID = id.value
        }
        query.offset = offset
        query.limit = limit + 1  // one more: tells whether results were cut
        var returnTags = Self.defaults(level: level, scoped: scope)
        returnTags.formUnion(keys.keys)
        returnTags.formUnion(include)
        if !includeAll { query.countPatients(returning: returnTags) }
        return QIDORequest(query: query, returnTags: returnTags, includeAll: includeAll, citizenID: citizen, limit: limit)
    }

    /// PS3.18's default return attributes of each level; unscoped series and instance searches
    /// also get the levels above.
    static func defaults(level: QueryLevel, scoped: [DicomTag: String]) -> Set<DicomTag> {
        let study: Set<DicomTag> = [.studyDate, .studyTime, .accessionNumber, .instanceAvailability, .modalitiesInStudy,
                                    .referringPhysicianName, .retrieveURL, .patientName, .patientID, .issuerOfPatientID,
                                    .patientBirthDate, .patientSex, .studyInstanceUID, .studyID,
                                    .numberOfStudyRelatedSeries, .numberOfStudyRelatedInstances]
        let series: Set<DicomTag> = [.modality, .seriesDescription, .seriesNumber, .seriesInstanceUID,
                                     .numberOfSeriesRelatedInstances, .retrieveURL, .studyInstanceUID]
        let instance: Set<DicomTag> = [.sopClassUID, .sopInstanceUID, .instanceAvailability, .retrieveURL,
                                       .instanceNumber, .rows, .columns, .numberOfFrames, .studyInstanceUID,
                                       .seriesInstanceUID]
        switch level {
        case .patient: return [.patientName, .patientID, .issuerOfPatientID, .patientBirthDate, .patientSex]
        case .study: return study
        case .series: return scoped[.studyInstanceUID] == nil ? series.union(study) : series
        case .instance:
            if scoped[.seriesInstanceUID] != nil { return instance }
            return scoped[.studyInstanceUID] == nil ? instance.union(series).union(study) : instance.union(series)
        }
    }

    /// An attribute by DICOM keyword (`PatientID`) or tag (`00100020`).
    static func tag(named name: String) -> DicomTag? {
        if name.count == 8, name.allSatisfy(\.isHexDigit) { return DicomTag(parsing: name) }
        return keywords[name]
    }

    static func keyword(_ tag: DicomTag) -> String? {
        keywords.first { $0.value == tag }?.key
    }

    static let keywords: [String: DicomTag] = {
        var table: [String: DicomTag] = [:]
        for attribute in QueryAttribute.allCases {
            guard let tag = attribute.tag else { continue }
            var name = attribute.rawValue
            if name.hasPrefix("sop") { name = "SOP" + name.dropFirst(3) } else { name = name.prefix(1).uppercased() + name.dropFirst() }
            table[name] = tag
        }
        let more: [(String, DicomTag)] = [
            ("NumberOfPatientRelatedStudies", .numberOfPatientRelatedStudies),
            ("NumberOfPatientRelatedSeries", .numberOfPatientRelatedSeries),
            ("NumberOfPatientRelatedInstances", .numberOfPatientRelatedInstances),
            ("NumberOfStudyRelatedSeries", .numberOfStudyRelatedSeries),
            ("NumberOfStudyRelatedInstances", .numberOfStudyRelatedInstances),
            ("NumberOfSeriesRelatedInstances", .numberOfSeriesRelatedInstances),
            ("OtherPatientIDs", .otherPatientIDs), ("OtherPatientIDsSequence", .otherPatientIDsSequence),
            ("RetrieveURL", .retrieveURL), ("InstanceAvailability", .instanceAvailability),
            ("Rows", .rows), ("Columns", .columns), ("NumberOfFrames", .numberOfFrames),
            ("TimezoneOffsetFromUTC", .timezoneOffsetFromUTC), ("BitsAllocated", .bitsAllocated),
            ("SOPClassesInStudy", .sopClassesInStudy), ("SpecificCharacterSet", .specificCharacterSet),
        ]
        for (name, tag) in more { table[name] = tag }
        return table
    }()
}
