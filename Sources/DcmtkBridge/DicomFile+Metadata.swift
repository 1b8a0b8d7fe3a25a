import Foundation
import DicomCore

extension DicomFile {
    /// Reads the attributes the index keeps. Throws `.missingAttribute` when one of the four
    /// identifying UIDs (study, series, SOP instance, SOP class) is absent or empty.
    public func metadata(extraTags: [DicomTag] = []) throws(DcmtkError) -> InstanceMetadata {
        var m = InstanceMetadata()

        // Patient
        m.patient.patientID = string(.patientID)
        m.patient.issuerOfPatientID = string(.issuerOfPatientID)
        if sequenceCount(.issuerOfPatientIDQualifiersSequence) > 0 {
            m.patient.universalEntityID = string(at: [(.issuerOfPatientIDQualifiersSequence, 0), (.universalEntityID, 0)])
            m.patient.identifierTypeCode = string(at: [(.issuerOfPatientIDQualifiersSequence, 0), (.identifierTypeCode, 0)])
        }
        m.patient.otherPatientIDs = otherPatientIDs()
        if let retired = nonEmpty(.otherPatientIDs) {
            m.patient.retiredOtherPatientIDs = retired.split(separator: "\\").map { String($0).trimmingDicomPadding() }
                .filter { !$0.isEmpty }
        }
        m.patient.patientName = string(.patientName).map { PersonName($0).value }
        m.patient.birthDate = string(.patientBirthDate)
        m.patient.sex = string(.patientSex)

        // Study
        m.study.studyInstanceUID = try required(.studyInstanceUID, "StudyInstanceUID")
        m.study.studyDate = string(.studyDate)
        m.study.studyTime = string(.studyTime)
        m.study.accessionNumber = string(.accessionNumber)
        if sequenceCount(.issuerOfAccessionNumberSequence) > 0 {
            m.study.accessionNumberIssuer = string(at: [(.issuerOfAccessionNumberSequence, 0), (.localNamespaceEntityID, 0)])
                ?? string(at: [(.issuerOfAccessionNumberSequence, 0), (.universalEntityID, 0)])
        }
        m.study.studyID = string(.studyID)
        m.study.studyDescription = string(.studyDescription)
        m.study.referringPhysicianName = string(.referringPhysicianName).map { PersonName($0).value }
        m.study.institutionName = string(.institutionName)
        m.study.patientAge = string(.patientAge)
        m.study.patientSize = string(.patientSize)
        m.study.patientWeight = string(.patientWeight)

        // Series
        m.series.seriesInstanceUID = try required(.seriesInstanceUID, "SeriesInstanceUID")
        m.series.modality = string(.modality)
        m.series.seriesNumber = string(.seriesNumber)
        m.series.seriesDescription = string(.seriesDescription)
        m.series.bodyPartExamined = string(.bodyPartExamined)
        m.series.seriesDate = string(.seriesDate)
        m.series.seriesTime = string(.seriesTime)
        m.series.manufacturer = string(.manufacturer)
        m.series.stationName = string(.stationName)

        // Instance
        m.instance.sopInstanceUID = try required(.sopInstanceUID, "SOPInstanceUID")
        m.instance.sopClassUID = try required(.sopClassUID, "SOPClassUID")
        m.instance.instanceNumber = string(.instanceNumber)
        m.instance.transferSyntaxUID = transferSyntaxUID
        m.instance.rows = integer(.rows)
        m.instance.columns = integer(.columns)
        m.instance.numberOfFrames = integer(.numberOfFrames)
        m.instance.photometricInterpretation = string(.photometricInterpretation)
        m.instance.sourceApplicationEntityTitle = nonEmpty(.sourceApplicationEntityTitle)

        for tag in extraTags {
            if let value = string(tag) { m.extra[tag.hexString] = value }
        }
        return m
    }

    private func otherPatientIDs() -> [InstanceMetadata.OtherPatientID] {
        let count = sequenceCount(.otherPatientIDsSequence)
        var result: [InstanceMetadata.OtherPatientID] = []
        for item in 0..<count {
            let seq = (tag: DicomTag.otherPatientIDsSequence, item: item)
            guard let id = string(at: [seq, (.patientID, 0)]), !id.isEmpty else { continue }
            var other = InstanceMetadata.OtherPatientID(id: id)
            other.issuer = string(at: [seq, (.issuerOfPatientID, 0)])
            other.type = string(at: [seq, (.typeOfPatientID, 0)])
            if sequenceCount(at: [seq, (.issuerOfPatientIDQualifiersSequence, 0)]) > 0 {
                let q = (tag: DicomTag.issuerOfPatientIDQualifiersSequence, item: 0)
                other.universalEntityID = string(at: [seq, q, (.universalEntityID, 0)])
                other.universalEntityIDType = string(at: [seq, q, (.universalEntityIDType, 0)])
                other.identifierTypeCode = string(at: [seq, q, (.identifierTypeCode, 0)])
            }
            result.append(other)
        }
        return result
    }

    private func required(_ tag: DicomTag, _ name: String) throws(DcmtkError) -> String {
        guard let value = string(tag), !value.isEmpty else {
            throw DcmtkError(code: .missingAttribute, message: "\(name) \(tag) is missing or empty")
        }
        return value
    }

    private func nonEmpty(_ tag: DicomTag) -> String? {
        guard let value = string(tag), !value.isEmpty else { return nil }
        return value
    }

    private func integer(_ tag: DicomTag) -> Int? {
        guard let text = string(tag) else { return nil }
        // Multi-valued or padded numbers: take the first value.
        let first = text.split(separator: "\\").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return Int(first)
    }
}
