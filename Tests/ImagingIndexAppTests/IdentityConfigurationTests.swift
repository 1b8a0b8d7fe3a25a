import Foundation
import Testing
import PatientIdentity
import DicomTestSupport
@testable import ImagingIndexApp

/// The `identity` section of the configuration: hospital rules for citizen IDs.
@Suite struct IdentityConfigurationTests {
    let dir = TemporaryDirectory("identity-config")

    func load(_ json: String) throws(ImagingIndexError) -> Configuration {
        let file = dir.appending("config-\(UUID().uuidString.prefix(6)).json")
        try? Data(json.utf8).write(to: file)
        return try Configuration.load(dataDirectory: dir.url, file: file)
    }

    @Test func rulesAreRead() throws {
        let config = try load("""
            { "identity": { "nationalIssuer": "VN-CCCD", "nationalUniversalEntityIDs": ["2.16.704.1"],
              "hospitals": [
                { "name": "Chợ Rẫy", "institutionNames": ["Bệnh viện Chợ Rẫy"], "callingAETitles": ["CHORAY"],
                  "citizenIDIn": ["otherPatientIDsSequence", "retiredOtherPatientIDs"], "localIssuer": "CHORAY" },
                { "name": "Phòng khám", "callingAETitles": ["CLINIC"], "citizenIDIn": [] } ] } }
            """)
        #expect(config.identity.nationalUniversalEntityIDs == ["2.16.704.1"])
        #expect(config.identity.rules.map(\.name) == ["Chợ Rẫy", "Phòng khám"])
        #expect(config.identity.rules[0].locations == [.otherPatientIDsSequence, .retiredOtherPatientIDs])
        #expect(config.identity.localIssuer(callingAETitle: "CHORAY", institutionName: nil) == "CHORAY")
        #expect(config.identity.rule(callingAETitle: "CLINIC", institutionName: nil).locations.isEmpty)
    }

    @Test(arguments: [
        (#"{ "identity": { "issuer": "X" } }"#, "unknown setting(s) identity.issuer"),
        (#"{ "identity": { "hospitals": [ { "name": "A", "callingAETitles": ["A"], "citizenIDIn": ["patientId"] } ] } }"#,
         "'patientId' is not one"),
        (#"{ "identity": { "hospitals": [ { "name": "A", "citizenIDIn": [] } ] } }"#, "neither is given"),
        (#"{ "identity": { "hospitals": [ { "name": "A", "callingAETitles": ["A"], "citizenIdIn": [] } ] } }"#,
         "unknown setting(s) identity.hospitals[0].citizenIdIn"),
        (#"{ "identity": { "nationalIssuer": "" } }"#, "'identity.nationalIssuer' must be"),
    ])
    func mistakesAreNamed(json: String, message: String) {
        #expect {
            _ = try load(json)
        } throws: { error in
            (error as? ImagingIndexError)?.message.contains(message) ?? false
        }
    }
}
