import ArgumentParser
import Foundation
import DicomIndex
import ImagingIndexApp
import PatientIdentity
import AuditTrail

/// Admin commands for the person ↔ local patient links.
struct PatientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patients",
        abstract: "Citizen-ID links: show, link, unlink, the review list of conflicts, and sharing consent.",
        subcommands: [Show.self, Link.self, Unlink.self, Conflicts.self, Consent.self]
    )

    struct LocalPatient: ParsableArguments {
        @Option(help: "The hospital's local PatientID.") var patientId: String
        @Option(help: "Its IssuerOfPatientID as indexed (\"\" for none).") var issuer: String = ""
    }

    struct Actor: ParsableArguments {
        @Option(help: "Why (recorded in the link history).") var reason: String
        @Option(help: "Who (default: cli:$USER).") var by: String?
        var name: String { by ?? "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown") }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A person's local patient records, or one local patient's link, with the history.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "A citizen ID (or use --patient-id/--issuer).") var citizenId: String?
        @Option(help: "A local PatientID.") var patientId: String?
        @Option(help: "Its issuer.") var issuer: String = ""
        @Flag(help: "JSON output.") var json = false

        func run() throws {
            let configuration = try common.load()
            let index = try ImagingIndexReader.open(configuration)
            struct Output: Encodable { var links: [PatientLink]; var history: [LinkEvent] }
            let output: Output
            do {
                if let citizenId {
                    let id = try PatientsCommand.citizen(citizenId)
                    output = Output(links: try index.patientLinks(citizenID: id.value),
                                    history: try index.linkEvents(patientID: nil, issuer: nil, citizenID: id.value))
                } else if let patientId {
                    output = Output(links: try index.patientLink(patientID: patientId, issuer: issuer).map { [$0] } ?? [],
                                    history: try index.linkEvents(patientID: patientId, issuer: issuer, citizenID: nil))
                } else {
                    throw ValidationError("give a citizen ID or --patient-id")
                }
            } catch let error as IndexError {
                throw CommandFailure(message: "patients show: \(error.message)")
            }
            if json { return print(try PatientsCommand.json(output)) }
            if output.links.isEmpty { print("no linked local patient") }
            for l in output.links {
                let who = l.demographics.map { "\($0.name ?? "") \($0.birthDate ?? "") \($0.sex ?? "")" } ?? "(no stored study)"
                print("\(l.patientID) [\(l.issuer)] → \(l.citizenID ?? "-") \(l.state.rawValue) (\(l.origin)) \(who); "
                      + "\(l.numberOfStudies) studies; \(l.institutions.joined(separator: ", "))"
                      + (l.warnings.isEmpty ? "" : "; warnings: " + l.warnings.joined(separator: "; ")))
            }
            for e in output.history {
                print("  \(ISO8601DateFormatter().string(from: e.at)) \(e.action) \(e.patientID) [\(e.issuer)] \(e.citizenID ?? "-") by \(e.actor): \(e.reason)")
            }
        }
    }

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a local patient to a citizen ID (its earlier studies then appear in look-ups).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var patient: LocalPatient
        @Option(help: "The citizen ID.") var citizenId: String
        @OptionGroup var actor: Actor

        func run() throws {
            let id = try PatientsCommand.citizen(citizenId)
            try PatientsCommand.setLink(common, patient, to: id, actor)
            print("linked \(patient.patientId) [\(patient.issuer)] to \(id.value)")
        }
    }

    struct Unlink: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unlink a local patient; automatic linking leaves it unlinked from then on.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var patient: LocalPatient
        @OptionGroup var actor: Actor

        func run() throws {
            try PatientsCommand.setLink(common, patient, to: nil, actor)
            print("unlinked \(patient.patientId) [\(patient.issuer)]")
        }
    }

    struct Conflicts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The review list: links not made because they conflict; --resolve ID closes one.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Include resolved cases.") var all = false
        @Option(help: "Close this case (with --reason).") var resolve: Int64?
        @Option(help: "Why (with --resolve).") var reason: String?
        @Option(help: "Who (default: cli:$USER).") var by: String?
        @Flag(help: "JSON output.") var json = false

        func run() throws {
            let index = try ImagingIndexReader.open(try common.load())
            if let resolve {
                guard let reason else { throw ValidationError("--resolve needs --reason") }
                do {
                    try index.resolveConflict(id: resolve, actor: by ?? "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown"),
                                              resolution: reason)
                } catch {
                    throw CommandFailure(message: "patients conflicts: \(error.message)")
                }
                print("case \(resolve) resolved")
                return
            }
            let conflicts: [LinkConflict]
            do {
                conflicts = try index.linkConflicts(includeResolved: all)
            } catch {
                throw CommandFailure(message: "patients conflicts: \(error.message)")
            }
            if json { return print(try PatientsCommand.json(conflicts)) }
            for c in conflicts {
                print("#\(c.id) \(ISO8601DateFormatter().string(from: c.at)) \(c.kind.rawValue): \(c.patientID) [\(c.issuer)] "
                      + "→ \(c.citizenID): \(c.detail)" + (c.resolvedAt != nil ? " (resolved by \(c.resolvedBy ?? "?"): \(c.resolution ?? ""))" : ""))
            }
            print("\(conflicts.count) case\(conflicts.count == 1 ? "" : "s")")
        }
    }

    struct Consent: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A person's consent to cross-hospital sharing: show it, or record an opt-out / its withdrawal.",
            discussion: """
                Opted out: a radiologist of hospital X sees only hospital X's studies of the person, over DIMSE,
                DICOMweb and thumbnails alike, unless an (audited) emergency override is used. Without a citizen
                ID: the list of every person opted out.
                """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "The citizen ID.") var citizenId: String?
        @Flag(help: "Record that the person opts out of sharing.") var optOut = false
        @Flag(help: "Record that the person shares again.") var optIn = false
        @Option(help: "Why (the person's request, a form number); required with --opt-out/--opt-in.") var reason: String?
        @Option(help: "Who (default: cli:$USER).") var by: String?
        @Flag(help: "JSON output.") var json = false

        func run() throws {
            let configuration = try common.load()
            let index = try ImagingIndexReader.open(configuration)
            guard let citizenId else {
                if optOut || optIn { throw ValidationError("--opt-out/--opt-in need a citizen ID") }
                let list: [SharingConsent]
                do { list = try index.optedOutCitizens() } catch { throw CommandFailure(message: "patients consent: \(error.message)") }
                if json { return print(try PatientsCommand.json(list)) }
                for c in list { print("\(c.citizenID) opted out \(ISO8601DateFormatter().string(from: c.updatedAt)) by \(c.actor): \(c.reason)") }
                return print("\(list.count) person\(list.count == 1 ? "" : "s") opted out")
            }
            let id = try PatientsCommand.citizen(citizenId)
            if optOut && optIn { throw ValidationError("--opt-out or --opt-in, not both") }
            let actor = by ?? "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown")
            if optOut || optIn {
                guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("--reason is required to change a consent")
                }
                do {
                    try index.setSharingConsent(citizenID: id.value, optedOut: optOut, actor: actor, reason: reason)
                } catch {
                    throw CommandFailure(message: "patients consent: \(error.message)")
                }
                try AuditLog(path: configuration.auditPath).append(AuditRecord(
                    actor: actor, via: "cli", action: optOut ? "consent-opt-out" : "consent-opt-in", patients: [id.value],
                    detail: reason, outcome: "ok", results: 1))
            }
            struct Output: Encodable { var citizenID: String; var optedOut: Bool; var history: [SharingConsent] }
            let output: Output
            do {
                output = Output(citizenID: id.value, optedOut: try index.sharingConsent(citizenID: id.value)?.optedOut ?? false,
                                history: try index.sharingConsentHistory(citizenID: id.value))
            } catch {
                throw CommandFailure(message: "patients consent: \(error.message)")
            }
            if json { return print(try PatientsCommand.json(output)) }
            print("\(id.value): \(output.optedOut ? "opted OUT of cross-hospital sharing" : "shared across hospitals")")
            for c in output.history {
                print("  \(ISO8601DateFormatter().string(from: c.updatedAt)) \(c.optedOut ? "opt-out" : "opt-in") by \(c.actor): \(c.reason)")
            }
        }
    }

    static func setLink(_ common: CommonOptions, _ patient: LocalPatient, to id: CitizenID?, _ actor: Actor) throws {
        let configuration = try common.load()
        let index = try ImagingIndexReader.open(configuration)
        let action = id == nil ? "unlink" : "link"
        do {
            try index.setLink(patientID: patient.patientId, issuer: patient.issuer, citizenID: id?.value,
                              actor: actor.name, reason: actor.reason)
        } catch {
            throw CommandFailure(message: "patients \(action): \(error.message)")
        }
        try AuditLog(path: configuration.auditPath).append(AuditRecord(
            actor: actor.name, via: "cli", action: action, patients: [patient.patientId] + (id.map { [$0.value] } ?? []),
            detail: "\(patient.patientId) [\(patient.issuer)]: \(actor.reason)", outcome: "ok"))
    }

    static func citizen(_ text: String) throws -> CitizenID {
        do {
            return try CitizenID(validating: text)
        } catch {
            throw ValidationError("not a citizen ID: \(error.description)")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
