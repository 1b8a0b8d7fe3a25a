import ArgumentParser
import Foundation
import DicomCore
import DicomIndex
import ImagingIndexApp
import PatientIdentity
import AccessControl
import AuditTrail

struct FindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find",
        abstract: "Query the index with DICOM matching (wildcards * ?, ranges a-b, UID lists a\\b).",
        discussion: """
            Examples:
              imaging-index find --patient-id 001085012345 --issuer VN-CCCD
              imaging-index find --name 'nguyen van*' --fuzzy --date 20240101-20241231
              imaging-index find --level series --study-uid 1.2.3 --json
              imaging-index find --citizen-id 001085012345     (the person's studies at every hospital)
            Names match case-insensitively ('^' and spaces alike); --fuzzy also ignores diacritics.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "PATIENT, STUDY, SERIES or IMAGE (instance).")
    var level: String = "study"

    @Option(help: "A 12-digit citizen ID: every local patient linked to it, at every hospital.")
    var citizenId: String?
    @Option(help: "PatientID.") var patientId: String?
    @Option(help: "IssuerOfPatientID.") var issuer: String?
    @Option(help: "PatientName.") var name: String?
    @Option(help: "PatientBirthDate (YYYYMMDD or range).") var birthDate: String?
    @Option(help: "StudyDate: YYYYMMDD, a range a-b, a- or -b.") var date: String?
    @Option(help: "Modality (series) / ModalitiesInStudy (study and above).") var modality: String?
    @Option(help: "AccessionNumber.") var accession: String?
    @Option(help: "StudyDescription.") var description: String?
    @Option(help: "InstitutionName.") var institution: String?
    @Option(help: "StudyInstanceUID (a\\b for a list).") var studyUid: String?
    @Option(help: "SeriesInstanceUID.") var seriesUid: String?
    @Option(help: "SOPInstanceUID.") var sopUid: String?
    @Option(name: .customLong("extra"), help: "An extra indexed tag: GGGG,EEEE=value (repeatable).")
    var extra: [String] = []

    @Flag(help: "Diacritic-insensitive name matching (nguyen finds Nguyễn).") var fuzzy = false
    @Flag(help: "Case-sensitive exact name matching (DICOM's default).") var exactNames = false
    @Option(help: "At most this many results.") var limit: Int?
    @Option(help: "Skip this many results.") var offset: Int = 0
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Answer as a radiologist of this hospital would be answered (the sharing consent applies).")
    var hospital: String?
    @Option(help: "With --hospital: an emergency override of the sharing consent, with its reason (audited).")
    var emergency: String?

    func run() throws {
        guard let queryLevel = QueryLevel(parsing: level) else {
            throw ValidationError("--level must be patient, study, series or image")
        }
        var filters: [QueryAttribute: String] = [:]
        filters[.patientID] = patientId
        filters[.issuerOfPatientID] = issuer
        filters[.patientName] = name
        filters[.patientBirthDate] = birthDate
        filters[.studyDate] = date
        filters[.accessionNumber] = accession
        filters[.studyDescription] = description
        filters[.institutionName] = institution
        filters[.studyInstanceUID] = studyUid
        filters[.seriesInstanceUID] = seriesUid
        filters[.sopInstanceUID] = sopUid
        if let modality { filters[queryLevel >= .series ? .modality : .modalitiesInStudy] = modality }
        var extraFilters: [DicomTag: String] = [:]
        for item in extra {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let tag = DicomTag(parsing: parts[0]) else {
                throw ValidationError("--extra takes GGGG,EEEE=value, not '\(item)'")
            }
            extraFilters[tag] = parts[1]
        }
        var ordering: [IndexQuery.Ordering] = []
        if queryLevel >= .study { ordering.append(.init(.studyDate, ascending: false)) }
        if queryLevel >= .series { ordering.append(.init(.seriesNumber)) }
        if queryLevel >= .instance { ordering.append(.init(.instanceNumber)) }
        var query = IndexQuery(level: queryLevel, filters: filters, extra: extraFilters,
                               nameMatching: fuzzy ? .folded : (exactNames ? .exact : .caseInsensitive),
                               limit: limit, offset: offset, ordering: ordering)
        if let citizenId {
            do {
                query.citizenID = try CitizenID(validating: citizenId).value
            } catch {
                throw ValidationError("--citizen-id: \(error.description)")
            }
        }

        if emergency != nil && hospital == nil { throw ValidationError("--emergency goes with --hospital") }
        if let hospital {
            query.sharingRestriction = SharingScope.restriction(
                for: Principal(actor: "cli", hospital: hospital, permissions: [.query]), override: emergency)
        }
        let configuration = try common.load()
        let index = try ImagingIndexReader.open(configuration)
        let matches: [QueryMatch]
        do {
            matches = try index.query(query)
        } catch {
            throw CommandFailure(message: "find: \(error.message)")
        }
        // The CLI reads the index directly (an administrator's access): recorded all the same.
        try AuditLog(path: configuration.auditPath).append(AuditRecord(
            actor: "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown"), hospital: hospital, via: "cli",
            action: "query", patients: Array(Set(matches.map(\.patient.patientID) + (query.citizenID.map { [$0] } ?? []))).sorted(),
            studies: Array(Set(matches.compactMap { $0.study?.studyInstanceUID })).sorted(),
            detail: "find " + CommandLine.arguments.dropFirst(2).filter { !$0.hasPrefix("/") }.joined(separator: " "),
            outcome: "ok", results: matches.count, override: emergency))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(matches), as: UTF8.self))
            return
        }
        print(FindCommand.table(matches, level: queryLevel))
        print("\(matches.count) match\(matches.count == 1 ? "" : "es")")
    }

    static func table(_ matches: [QueryMatch], level: QueryLevel) -> String {
        var header = ["PatientID", "Issuer", "Name"]
        switch level {
        case .patient: header += ["Birth", "Sex", "Studies"]
        case .study: header += ["Date", "Modalities", "Description", "Institution", "Series", "Inst.", "StudyInstanceUID"]
        case .series: header += ["Date", "Mod.", "No.", "Description", "Inst.", "SeriesInstanceUID"]
        case .instance: header += ["Series", "No.", "Size", "Syntax", "SOPInstanceUID"]
        }
        var rows = [header]
        for m in matches {
            var row = [m.patient.patientID, m.patient.issuerOfPatientID, m.patient.patientName ?? ""]
            switch level {
            case .patient:
                row += [m.patient.birthDate ?? "", m.patient.sex ?? "", String(m.patient.numberOfStudies)]
            case .study:
                let s = m.study!
                row += [s.studyDate ?? "", s.modalitiesInStudy.joined(separator: ","), s.studyDescription ?? "",
                        s.institutionName ?? "", String(s.numberOfSeries), String(s.numberOfInstances), s.studyInstanceUID]
            case .series:
                let s = m.series!
                row += [s.seriesDate ?? m.study?.studyDate ?? "", s.modality ?? "", s.seriesNumber.map(String.init) ?? "",
                        s.seriesDescription ?? "", String(s.numberOfInstances), s.seriesInstanceUID]
            case .instance:
                let i = m.instance!
                row += [m.series?.seriesNumber.map(String.init) ?? "", i.instanceNumber.map(String.init) ?? "",
                        String(i.fileSize), TransferSyntax.lookup(i.transferSyntaxUID).name, i.sopInstanceUID]
            }
            rows.append(row)
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], min(cell.count, 40)) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let c = cell.count > 40 ? String(cell.prefix(39)) + "…" : cell
                return c + String(repeating: " ", count: max(0, widths[i] - c.count))
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
