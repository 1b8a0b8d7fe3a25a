import GRDB
import DicomCore
import DicomIndex

/// Turns an `IndexQuery` into one SQL statement. Values are always bound, never interpolated:
/// only column names and placeholders are written into the text.
struct SQLQueryBuilder {
    struct Statement: Sendable {
        var text: String
        var arguments: [DatabaseValue]

        init(text: String, arguments: [(any DatabaseValueConvertible)?]) {
            self.text = text
            self.arguments = arguments.map { $0?.databaseValue ?? .null }
        }
    }

    let query: IndexQuery

    /// Table alias per level (main chain) and for the EXISTS sub-chain.
    private static let alias: [QueryLevel: String] = [.patient: "p", .study: "s", .series: "se", .instance: "i"]
    private static let table: [QueryLevel: String] = [.patient: "patient", .study: "study", .series: "series", .instance: "instance"]
    private static let parentColumn: [QueryLevel: String] = [.study: "patient_ref", .series: "study_ref", .instance: "series_ref"]

    static let patientColumns = """
        p.id AS p_id, p.patient_id AS p_patient_id, p.issuer AS p_issuer, p.name AS p_name, p.birth_date AS p_birth_date,
        p.sex AS p_sex, p.other_ids AS p_other_ids
        """
    /// The patient's counts: a look-up of its studies for every row.
    static let patientCounts = """
        (SELECT count(*) FROM study WHERE patient_ref = p.id) AS p_nstudies,
        (SELECT COALESCE(sum(num_series), 0) FROM study WHERE patient_ref = p.id) AS p_nseries,
        (SELECT COALESCE(sum(num_instances), 0) FROM study WHERE patient_ref = p.id) AS p_ninstances
        """
    static let studyColumns = """
        s.id AS s_id, s.study_uid AS s_study_uid, s.study_date AS s_study_date, s.study_time AS s_study_time,
        s.accession AS s_accession, s.accession_issuer AS s_accession_issuer, s.study_id AS s_study_id,
        s.description AS s_description, s.referring AS s_referring, s.institution AS s_institution,
        s.source_ae AS s_source_ae, s.modalities AS s_modalities, s.num_series AS s_num_series,
        s.num_instances AS s_num_instances, s.hospital AS s_hospital, s.patient_age AS s_patient_age,
        s.patient_size AS s_patient_size, s.patient_weight AS s_patient_weight
        """
    static let seriesColumns = """
        se.id AS se_id, se.series_uid AS se_series_uid, se.modality AS se_modality, se.series_number AS se_series_number,
        se.description AS se_description, se.body_part AS se_body_part, se.series_date AS se_series_date,
        se.series_time AS se_series_time, se.manufacturer AS se_manufacturer, se.station_name AS se_station_name,
        se.num_instances AS se_num_instances
        """
    static let instanceColumns = """
        i.id AS i_id, i.sop_uid AS i_sop_uid, i.sop_class_uid AS i_sop_class_uid, i.instance_number AS i_instance_number,
        i.transfer_syntax AS i_transfer_syntax, i.rows AS i_rows, i.columns AS i_columns, i.frames AS i_frames,
        i.photometric AS i_photometric, i.file_size AS i_file_size, i.path AS i_path, i.checksum AS i_checksum,
        i.received_at AS i_received_at, i.source_ae AS i_source_ae, i.origin AS i_origin, i.policy AS i_policy
        """

    func select() throws(IndexError) -> Statement {
        var (from, whereClause, arguments) = try body()
        var counts = Self.patientCounts
        if !query.patientCounts {
            counts = "0 AS p_nstudies, 0 AS p_nseries, 0 AS p_ninstances"
        } else if let hospital = query.sharingRestriction {
            // The patient's counts cover only the studies the restriction lets through.
            counts = counts.replacingOccurrences(of: "WHERE patient_ref = p.id",
                                                 with: "WHERE patient_ref = p.id AND \(Self.visible("study"))")
            arguments = [hospital, hospital, hospital] + arguments
        }
        let columns = [Self.patientColumns + ",\n" + counts, Self.studyColumns, Self.seriesColumns, Self.instanceColumns]
            .prefix(query.level.depth + 1).joined(separator: ",\n")
        var text = "SELECT \(columns)\nFROM \(from)"
        if !whereClause.isEmpty { text += "\nWHERE " + whereClause.joined(separator: "\n  AND ") }
        text += "\nORDER BY " + orderBy()
        if let limit = query.limit {
            text += "\nLIMIT ? OFFSET ?"
            arguments.append(limit)
            arguments.append(query.offset)
        } else if query.offset > 0 {
            text += "\nLIMIT -1 OFFSET ?"
            arguments.append(query.offset)
        }
        return Statement(text: text, arguments: arguments)
    }

    func count() throws(IndexError) -> Statement {
        let (from, whereClause, arguments) = try body()
        var text = "SELECT count(*) FROM \(from)"
        if !whereClause.isEmpty { text += " WHERE " + whereClause.joined(separator: " AND ") }
        return Statement(text: text, arguments: arguments)
    }

    /// The local patient `p` belongs to a person who opted out of cross-hospital sharing.
    static let optedOut = """
        EXISTS (SELECT 1 FROM patient_link l JOIN sharing_consent c ON c.citizen_id = l.citizen_id AND c.opted_out = 1
                WHERE l.patient_id = p.patient_id AND l.issuer = p.issuer AND l.state = 'linked')
        """

    /// A study (alias `study`) the sharing restriction lets through: one of the asking hospital's
    /// (bound next), or any study of a person who did not opt out.
    static func visible(_ study: String) -> String {
        "(\(study).hospital = ? OR NOT \(optedOut))"
    }

    private func body() throws(IndexError) -> (String, [String], [(any DatabaseValueConvertible)?]) {
        let level = query.level
        var from = "patient p"
        for l in QueryLevel.allCases where l > .patient && l <= level {
            from += " JOIN \(Self.table[l]!) \(Self.alias[l]!) ON \(Self.alias[l]!).\(Self.parentColumn[l]!) = \(Self.parentAlias(l))"
        }
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        let restriction = query.sharingRestriction
        if let restriction {
            if level >= .study {
                clauses.append(Self.visible("s"))
            } else {
                // A patient record shows when it has a visible study (an empty one never does).
                clauses.append("EXISTS (SELECT 1 FROM study sv WHERE sv.patient_ref = p.id AND \(Self.visible("sv")))")
            }
            arguments.append(restriction)
        }
        var deeper: [(column: String, level: QueryLevel, matcher: Matcher, kind: QueryAttribute.Kind)] = []

        for (attribute, matcher) in try query.conditions() {
            if attribute == .modalitiesInStudy {
                // A study's modalities are its series': match any series of the study. Several
                // values (CT\MR, as viewers send them) match a study with any of them.
                var matcher = matcher
                if case .exact(let value) = matcher, value.contains("\\") {
                    matcher = .anyOf(value.split(separator: "\\").map(String.init))
                }
                let (c, a) = Self.condition(column: "se2.modality", matcher: matcher, kind: .text)
                let studyRef = level >= .study ? "s.id" : nil
                if let studyRef {
                    clauses.append("EXISTS (SELECT 1 FROM series se2 WHERE se2.study_ref = \(studyRef) AND \(c))")
                    arguments += a
                } else {
                    let hidden = restriction == nil ? "" : " AND \(Self.visible("s2"))"
                    clauses.append("EXISTS (SELECT 1 FROM study s2 JOIN series se2 ON se2.study_ref = s2.id WHERE s2.patient_ref = p.id AND \(c)\(hidden))")
                    arguments += a
                    if let restriction { arguments.append(restriction) }
                }
                continue
            }
            let column = Self.column(attribute, nameMatching: query.nameMatching)
            let value = Self.matchValue(matcher, attribute: attribute, nameMatching: query.nameMatching)
            if attribute == .patientName {
                // Any spelling the patient's instances carried matches, not only the newest.
                if case .universal = value { continue }
                let (c, a) = Self.condition(column: "n.\(column)", matcher: value, kind: attribute.kind)
                clauses.append("p.id IN (SELECT n.patient_ref FROM patient_spelling n WHERE \(c))")
                arguments += a
                continue
            }
            if attribute.level <= level {
                let (c, a) = Self.condition(column: "\(Self.alias[attribute.level]!).\(column)", matcher: value, kind: attribute.kind)
                clauses.append(c)
                arguments += a
            } else {
                deeper.append((column, attribute.level, value, attribute.kind))
            }
        }
        if let citizenID = query.citizenID {
            // Every hospital's record of the person: the local patients linked to the citizen ID.
            clauses.append("""
                (p.patient_id, p.issuer) IN (SELECT l.patient_id, l.issuer FROM patient_link l
                                             WHERE l.citizen_id = ? AND l.state = 'linked')
                """)
            arguments.append(citizenID)
        }
        let extra = try query.extraConditions()
        if level == .instance {
            // Nothing lies below an instance but its extra tags.
            for (tag, matcher) in extra {
                let (c, a) = Self.condition(column: "x.value", matcher: matcher, kind: .text)
                clauses.append("EXISTS (SELECT 1 FROM instance_extra x WHERE x.instance_ref = i.id AND x.tag = ? AND \(c))")
                arguments.append(tag.hexString)
                arguments += a
            }
        } else if !deeper.isEmpty || !extra.isEmpty {
            // Conditions below the query level: some one descendant must satisfy all of them.
            let bottom: QueryLevel = extra.isEmpty ? deeper.map(\.level).max()! : .instance
            let levels = QueryLevel.allCases.filter { $0 > level && $0 <= bottom }
            var sub = ""
            for (index, l) in levels.enumerated() {
                let a = Self.alias[l]! + "2"
                if index == 0 {
                    sub = "\(Self.table[l]!) \(a)"
                } else {
                    sub += " JOIN \(Self.table[l]!) \(a) ON \(a).\(Self.parentColumn[l]!) = \(Self.alias[levels[index - 1]]!)2.id"
                }
            }
            var subClauses = ["\(Self.alias[levels[0]]!)2.\(Self.parentColumn[levels[0]]!) = \(Self.alias[level]!).id"]
            if let restriction, levels.contains(.study) {
                subClauses.append(Self.visible("s2"))
                arguments.append(restriction)
            }
            for d in deeper {
                let (c, a) = Self.condition(column: "\(Self.alias[d.level]!)2.\(d.column)", matcher: d.matcher, kind: d.kind)
                subClauses.append(c)
                arguments += a
            }
            for (tag, matcher) in extra {
                let (c, a) = Self.condition(column: "x.value", matcher: matcher, kind: .text)
                subClauses.append("EXISTS (SELECT 1 FROM instance_extra x WHERE x.instance_ref = i2.id AND x.tag = ? AND \(c))")
                arguments.append(tag.hexString)
                arguments += a
            }
            clauses.append("EXISTS (SELECT 1 FROM \(sub) WHERE \(subClauses.joined(separator: " AND ")))")
        }
        return (from, clauses, arguments)
    }

    private static func parentAlias(_ level: QueryLevel) -> String {
        switch level {
        case .study: "p.id"
        case .series: "s.id"
        case .instance: "se.id"
        case .patient: ""
        }
    }

    private func orderBy() -> String {
        var terms: [String] = []
        for o in query.ordering {
            guard o.attribute.level <= query.level, o.attribute != .modalitiesInStudy else { continue }
            var column = Self.column(o.attribute, nameMatching: .exact)
            if o.attribute.kind == .time { column = column + "_key" }
            terms.append("\(Self.alias[o.attribute.level]!).\(column) \(o.ascending ? "ASC" : "DESC")")
        }
        terms.append("\(Self.alias[query.level]!).id ASC")
        return terms.joined(separator: ", ")
    }

    static func column(_ attribute: QueryAttribute, nameMatching: IndexQuery.NameMatching) -> String {
        func pn(_ base: String) -> String {
            switch nameMatching {
            case .exact: base
            case .caseInsensitive: base + "_ci"
            case .folded: base + "_fold"
            }
        }
        switch attribute {
        case .patientID: return "patient_id"
        case .issuerOfPatientID: return "issuer"
        case .patientName: return pn("name")
        case .patientBirthDate: return "birth_date"
        case .patientSex: return "sex"
        case .studyInstanceUID: return "study_uid"
        case .studyDate: return "study_date"
        case .studyTime: return "study_time"
        case .accessionNumber: return "accession"
        case .studyID: return "study_id"
        case .studyDescription: return "description"
        case .referringPhysicianName: return pn("referring")
        case .institutionName: return "institution"
        case .patientAge: return "patient_age"
        case .patientSize: return "patient_size"
        case .patientWeight: return "patient_weight"
        case .sourceAETitle: return "source_ae"
        case .modalitiesInStudy: return "modalities"
        case .seriesInstanceUID: return "series_uid"
        case .modality: return "modality"
        case .seriesNumber: return "series_number"
        case .seriesDescription: return "description"
        case .bodyPartExamined: return "body_part"
        case .manufacturer: return "manufacturer"
        case .stationName: return "station_name"
        case .seriesDate: return "series_date"
        case .seriesTime: return "series_time"
        case .sopInstanceUID: return "sop_uid"
        case .sopClassUID: return "sop_class_uid"
        case .instanceNumber: return "instance_number"
        case .transferSyntaxUID: return "transfer_syntax"
        case .photometricInterpretation: return "photometric"
        }
    }

    /// Person names are matched on their normalised forms.
    static func matchValue(_ matcher: Matcher, attribute: QueryAttribute, nameMatching: IndexQuery.NameMatching) -> Matcher {
        guard attribute.kind == .personName, nameMatching != .exact else { return matcher }
        func key(_ text: String) -> String {
            nameMatching == .folded ? PersonName.foldedKey(text) : PersonName.matchKey(text)
        }
        switch matcher {
        case .exact(let v): return .exact(key(v))
        case .wildcard(let v): return .wildcard(key(v))
        default: return matcher
        }
    }

    static func condition(column: String, matcher: Matcher, kind: QueryAttribute.Kind) -> (String, [(any DatabaseValueConvertible)?]) {
        // Times compare on their normalised key column.
        let rangeColumn = kind == .time ? column + "_key" : column
        switch matcher {
        case .universal:
            return ("1", [])
        case .exact(let value):
            if kind == .time { return ("\(rangeColumn) = ?", [value]) }
            return ("\(column) = ?", [value])
        case .integer(let n):
            return ("\(column) = ?", [n])
        case .anyOf(let values):
            return ("\(column) IN (\(SQLiteIndexStore.placeholders(values.count)))", values)
        case .range(let lower, let upper):
            var parts: [String] = []
            var args: [(any DatabaseValueConvertible)?] = []
            if let lower { parts.append("\(rangeColumn) >= ?"); args.append(lower) }
            if let upper { parts.append("\(rangeColumn) <= ?"); args.append(upper) }
            return (parts.joined(separator: " AND "), args)
        case .wildcard(let pattern):
            let glob = pattern.replacingOccurrences(of: "[", with: "[[]")
            let prefix = Matcher.literalPrefix(of: pattern)
            if prefix.isEmpty {
                return ("\(column) GLOB ?", [glob])
            }
            // The range lets SQLite use the column's index; GLOB does the rest.
            return ("\(column) >= ? AND \(column) < ? AND \(column) GLOB ?", [prefix, prefix + "\u{10FFFF}", glob])
        }
    }
}
