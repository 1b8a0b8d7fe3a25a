import Foundation

extension AuditRecord {
    /// The record as a DICOM PS3.15 Annex A.5 / IHE ATNA audit message (XML).
    public var atnaXML: String {
        let (code, name): (String, String) = switch action {
        case "query": ("110112", "Query")
        case "retrieve", "store": ("110104", "DICOM Instances Transferred")
        case "link", "unlink": ("110110", "Patient Record")
        default: ("110100", "Application Activity")
        }
        let actionCode = switch action {
        case "store": "C"
        case "link", "unlink": "U"
        case "query", "retrieve": "E"
        default: "E"
        }
        let outcomeIndicator = outcome == "ok" ? "0" : (outcome == "refused" ? "4" : "8")
        let time = ISO8601DateFormatter().string(from: at)
        var xml = "<AuditMessage>"
        xml += "<EventIdentification EventActionCode=\"\(actionCode)\" EventDateTime=\"\(time)\" EventOutcomeIndicator=\"\(outcomeIndicator)\">"
        xml += "<EventID csd-code=\"\(code)\" codeSystemName=\"DCM\" originalText=\"\(name)\"/></EventIdentification>"
        xml += "<ActiveParticipant UserID=\"\(Self.escape(actor))\" UserIsRequestor=\"true\""
        if let address { xml += " NetworkAccessPointID=\"\(Self.escape(address))\" NetworkAccessPointTypeCode=\"2\"" }
        xml += "/>"
        xml += "<AuditSourceIdentification AuditSourceID=\"ImagingIndex\"/>"
        for patient in patients {
            xml += "<ParticipantObjectIdentification ParticipantObjectID=\"\(Self.escape(patient))\" ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">"
            xml += "<ParticipantObjectIDTypeCode csd-code=\"2\" codeSystemName=\"RFC-3881\" originalText=\"Patient Number\"/></ParticipantObjectIdentification>"
        }
        for study in studies {
            xml += "<ParticipantObjectIdentification ParticipantObjectID=\"\(Self.escape(study))\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">"
            xml += "<ParticipantObjectIDTypeCode csd-code=\"110180\" codeSystemName=\"DCM\" originalText=\"Study Instance UID\"/></ParticipantObjectIdentification>"
        }
        if action == "query" && !detail.isEmpty {
            xml += "<ParticipantObjectIdentification ParticipantObjectID=\"query\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"24\">"
            xml += "<ParticipantObjectIDTypeCode csd-code=\"110181\" codeSystemName=\"DCM\" originalText=\"SOP Class UID\"/>"
            xml += "<ParticipantObjectQuery>\(Data(detail.utf8).base64EncodedString())</ParticipantObjectQuery></ParticipantObjectIdentification>"
        }
        return xml + "</AuditMessage>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
