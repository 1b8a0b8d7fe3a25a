import DicomCore

/// An attribute the index can match on, with its level and how it matches.
public enum QueryAttribute: String, Sendable, CaseIterable, Codable {
    case patientID, issuerOfPatientID, patientName, patientBirthDate, patientSex
    case studyInstanceUID, studyDate, studyTime, accessionNumber, studyID, studyDescription
    case referringPhysicianName, institutionName, sourceAETitle, modalitiesInStudy
    case patientAge, patientSize, patientWeight
    case seriesInstanceUID, modality, seriesNumber, seriesDescription, bodyPartExamined, seriesDate, seriesTime
    case manufacturer, stationName
    case sopInstanceUID, sopClassUID, instanceNumber, transferSyntaxUID, photometricInterpretation

    public enum Kind: Sendable {
        case text, uid, date, time, personName, integer
    }

    public var level: QueryLevel {
        switch self {
        case .patientID, .issuerOfPatientID, .patientName, .patientBirthDate, .patientSex: .patient
        case .studyInstanceUID, .studyDate, .studyTime, .accessionNumber, .studyID, .studyDescription,
             .referringPhysicianName, .institutionName, .sourceAETitle, .modalitiesInStudy,
             .patientAge, .patientSize, .patientWeight: .study
        case .seriesInstanceUID, .modality, .seriesNumber, .seriesDescription, .bodyPartExamined, .seriesDate,
             .seriesTime, .manufacturer, .stationName: .series
        case .sopInstanceUID, .sopClassUID, .instanceNumber, .transferSyntaxUID, .photometricInterpretation: .instance
        }
    }

    public var kind: Kind {
        switch self {
        case .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID, .sopClassUID, .transferSyntaxUID: .uid
        case .patientBirthDate, .studyDate, .seriesDate: .date
        case .studyTime, .seriesTime: .time
        case .patientName, .referringPhysicianName: .personName
        case .seriesNumber, .instanceNumber: .integer
        default: .text
        }
    }

    /// The DICOM tag (nil for the sending AE title, which is not a dataset attribute).
    public var tag: DicomTag? {
        switch self {
        case .patientID: .patientID
        case .issuerOfPatientID: .issuerOfPatientID
        case .patientName: .patientName
        case .patientBirthDate: .patientBirthDate
        case .patientSex: .patientSex
        case .studyInstanceUID: .studyInstanceUID
        case .studyDate: .studyDate
        case .studyTime: .studyTime
        case .accessionNumber: .accessionNumber
        case .studyID: .studyID
        case .studyDescription: .studyDescription
        case .referringPhysicianName: .referringPhysicianName
        case .institutionName: .institutionName
        case .patientAge: .patientAge
        case .patientSize: .patientSize
        case .patientWeight: .patientWeight
        case .sourceAETitle: nil
        case .modalitiesInStudy: .modalitiesInStudy
        case .seriesInstanceUID: .seriesInstanceUID
        case .modality: .modality
        case .seriesNumber: .seriesNumber
        case .seriesDescription: .seriesDescription
        case .bodyPartExamined: .bodyPartExamined
        case .seriesDate: .seriesDate
        case .seriesTime: .seriesTime
        case .manufacturer: .manufacturer
        case .stationName: .stationName
        case .sopInstanceUID: .sopInstanceUID
        case .sopClassUID: .sopClassUID
        case .instanceNumber: .instanceNumber
        case .transferSyntaxUID: .transferSyntaxUID
        case .photometricInterpretation: .photometricInterpretation
        }
    }

    public init?(tag: DicomTag) {
        guard let found = QueryAttribute.allCases.first(where: { $0.tag == tag }) else { return nil }
        self = found
    }
}
