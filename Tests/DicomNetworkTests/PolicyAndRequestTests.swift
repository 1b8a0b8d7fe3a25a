import Testing
import DicomCore
import DcmtkBridge
@testable import DicomNetwork

@Suite struct AssociationPolicyTests {
    var configuration: DicomNodeConfiguration {
        var c = DicomNodeConfiguration()
        c.peers = [
            .init(aeTitle: "BACHMAI", host: "10.0.0.5", port: 104, hospital: "Bạch Mai", permissions: [.store]),
            .init(aeTitle: "VIEWER", host: nil, port: nil, hospital: "Chợ Rẫy", permissions: [.query, .retrieve]),
        ]
        return c
    }

    func request(_ calling: String, called: String = "IMAGINGINDEX", host: String = "10.0.0.5") -> AssociationRequest {
        AssociationRequest(id: 1, callingAETitle: calling, calledAETitle: called, peerHost: host, peerMaxPDU: 16384)
    }

    @Test(arguments: [
        ("BACHMAI", "IMAGINGINDEX", "10.0.0.5", nil),
        ("VIEWER", "IMAGINGINDEX", "192.168.1.9", nil),                       // no host configured: any address
        ("BACHMAI", "IMAGINGINDEX", "10.0.0.6", AssociationRejection.callingAETitleNotRecognized),
        ("STRANGER", "IMAGINGINDEX", "10.0.0.5", .callingAETitleNotRecognized),
        ("BACHMAI", "OTHER", "10.0.0.5", .calledAETitleNotRecognized),
    ] as [(String, String, String, AssociationRejection?)])
    func decides(calling: String, called: String, host: String, rejection: AssociationRejection?) {
        let result = AssociationPolicy(configuration: configuration).evaluate(request(calling, called: called, host: host))
        switch (result, rejection) {
        case (.success, nil): break
        case (.failure(let got), let want?): #expect(got == want)
        default: Issue.record("\(calling)@\(host) → \(called): got \(result), wanted \(String(describing: rejection))")
        }
    }

    @Test func acceptAnyPeerLetsStrangersInButNotAWrongCalledAE() {
        var c = configuration
        c.acceptAnyPeer = true
        let policy = AssociationPolicy(configuration: c)
        guard case .success(let peer) = policy.evaluate(request("STRANGER")) else { Issue.record("rejected"); return }
        #expect(peer.permissions == Set(DicomNodeConfiguration.Permission.allCases))
        guard case .failure(.calledAETitleNotRecognized) = policy.evaluate(request("STRANGER", called: "X")) else {
            Issue.record("a wrong called AE title was accepted")
            return
        }
    }

    @Test func loopbackSpellingsAreTheSameHost() {
        #expect(AssociationPolicy.sameHost("localhost", "127.0.0.1"))
        #expect(AssociationPolicy.sameHost("::ffff:10.0.0.5", "10.0.0.5"))
        #expect(!AssociationPolicy.sameHost("10.0.0.5", "10.0.0.50"))
    }
}

@Suite struct FindRequestTests {
    func identifier(_ values: [(DicomTag, String)]) throws -> DicomFile {
        let file = try DicomFile.empty()
        for (tag, value) in values { try file.put(value, for: tag) }
        return file
    }

    @Test func readsKeysAndReturnKeys() throws {
        let id = try identifier([(FindRequest.queryRetrieveLevel, "STUDY"), (.patientID, "001085012345"), (.patientName, ""),
                                 (.studyInstanceUID, ""), (.modalitiesInStudy, "")])
        let request = try FindRequest(identifier: id, model: .studyRoot)
        #expect(request.level == .study)
        #expect(request.keys[.patientID] == "001085012345")
        #expect(request.returnKeys == [.patientName, .patientID, .studyInstanceUID, .modalitiesInStudy].sorted())
    }

    @Test(arguments: [
        ([(FindRequest.queryRetrieveLevel, "STUDY")], QueryRetrieveModel.patientRoot, "PatientID"),
        ([(FindRequest.queryRetrieveLevel, "SERIES"), (DicomTag.studyInstanceUID, "1.2*")], .studyRoot, "StudyInstanceUID"),
        ([(FindRequest.queryRetrieveLevel, "IMAGE"), (DicomTag.studyInstanceUID, "1.2")], .studyRoot, "SeriesInstanceUID"),
        ([(FindRequest.queryRetrieveLevel, "PATIENT")], .studyRoot, "no PATIENT level"),
        ([(FindRequest.queryRetrieveLevel, "FRAME")], .studyRoot, "QueryRetrieveLevel"),
        ([(DicomTag.patientID, "x")], .studyRoot, "QueryRetrieveLevel"),
    ] as [([(DicomTag, String)], QueryRetrieveModel, String)])
    func refusesBrokenHierarchies(values: [(DicomTag, String)], model: QueryRetrieveModel, message: String) throws {
        let id = try identifier(values)
        do {
            _ = try FindRequest(identifier: id, model: model)
            Issue.record("accepted")
        } catch {
            #expect(error.status == .dataSetDoesNotMatchSOPClass)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func responseHasOnlyTheAskedKeysPlusTheUniqueKey() throws {
        let request = FindRequest(model: .studyRoot, level: .series, keys: [.studyInstanceUID: "1.2.3"],
                                  returnKeys: [.modality, .studyInstanceUID])
        let response = try DimseNode.response(for: request, attributes: [
            .modality: "CT", .studyInstanceUID: "1.2.3", .seriesInstanceUID: "1.2.3.4", .patientName: "Lê^Đức Anh"])
        #expect(response.string(.modality) == "CT")
        #expect(response.string(.seriesInstanceUID) == "1.2.3.4")
        #expect(response.string(.patientName) == nil)
        #expect(response.string(.specificCharacterSet) == "ISO_IR 192")
        #expect(response.string(FindRequest.queryRetrieveLevel) == "SERIES")
    }

    @Test func statusesOfNetworkErrors() {
        #expect(NetworkError(.notAuthorized, "").status == DimseStatus(0x0124))
        #expect(NetworkError(.moveDestinationUnknown, "").status == DimseStatus(0xA801))
        #expect(NetworkError(.outOfResources, "").status == .outOfResources)
    }
}
