import Foundation
import Hummingbird
import NIOCore
import DicomIndex
import PatientIdentity

/// The sharing consent over HTTP (admins): who opted out, one person's flag and history, and
/// setting it (`PUT /admin/consent/{citizenID}` with `{"optedOut": true, "reason": "..."}`).
struct ConsentAnswer: Codable, Sendable {
    var citizenID: String
    var optedOut: Bool
    var current: SharingConsent?
    var history: [SharingConsent]
}

struct ConsentChange: Codable, Sendable {
    var optedOut: Bool
    var reason: String
}

extension DicomWebServer {
    func addConsentRoutes(_ router: Router<WebRequestContext>) {
        let index = backend.index
        router.get("admin/consent") { _, _ in
            try Self.json(try await Self.blocking { try index.optedOutCitizens() })
        }
        router.get("admin/consent/:citizen") { _, context in
            let citizen = try Self.citizenID(context)
            context.access.revealed(patients: [citizen], studies: [], results: 1)
            return try Self.json(try await Self.blocking { try Self.consentAnswer(citizen, index: index) })
        }
        router.put("admin/consent/:citizen") { request, context in
            let citizen = try Self.citizenID(context)
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let change = try? JSONDecoder().decode(ConsentChange.self, from: Data(buffer: body)) else {
                throw DicomWebError(.badRequest, "the body must be {\"optedOut\": true|false, \"reason\": \"...\"}")
            }
            let reason = change.reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !reason.isEmpty else { throw DicomWebError(.badRequest, "a reason is required (the person's request, a form number)") }
            let actor = context.access.principal?.actor ?? "anonymous"
            context.access.revealed(patients: [citizen], studies: [], results: 1)
            return try Self.json(try await Self.blocking { () throws -> ConsentAnswer in
                try index.setSharingConsent(citizenID: citizen, optedOut: change.optedOut, actor: actor, reason: reason)
                return try Self.consentAnswer(citizen, index: index)
            })
        }
    }

    static func citizenID(_ context: WebRequestContext) throws -> String {
        let text = context.parameters.get("citizen") ?? ""
        guard let citizen = CitizenID(text) else {
            throw DicomWebError(.badRequest, "not a valid citizen ID (12 digits with a valid province, century and sex code)")
        }
        return citizen.value
    }

    static func consentAnswer(_ citizen: String, index: any IndexStore) throws -> ConsentAnswer {
        let current = try index.sharingConsent(citizenID: citizen)
        return ConsentAnswer(citizenID: citizen, optedOut: current?.optedOut ?? false, current: current,
                             history: try index.sharingConsentHistory(citizenID: citizen))
    }
}
