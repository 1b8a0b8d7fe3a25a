import DicomCore

/// A local patient record, keyed by (PatientID, IssuerOfPatientID).
public struct PatientRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var patientID: String
    public var issuerOfPatientID: String
    public var patientName: String?
    public var birthDate: String?
    public var sex: String?
    public var otherPatientIDs: [InstanceMetadata.OtherPatientID]
    public var numberOfStudies: Int
    public var numberOfSeries: Int
    public var numberOfInstances: Int

    public init(id: Int64, patientID: String, issuerOfPatientID: String, patientName: String?, birthDate: String?,
                sex: String?, otherPatientIDs: [InstanceMetadata.OtherPatientID] = [], numberOfStudies: Int = 0,
                numberOfSeries: Int = 0, numberOfInstances: Int = 0) {
        self.id = id
        self.patientID = patientID
        self.issuerOfPatientID = issuerOfPatientID
        self.patientName = patientName
        self.birthDate = birthDate
        self.sex = sex
        self.otherPatientIDs = otherPatientIDs
        self.numberOfStudies = numberOfStudies
        self.numberOfSeries = numberOfSeries
        self.numberOfInstances = numberOfInstances
    }
}

extension PatientRecord {
    /// Instances without a PatientID (Type 2: empty means unknown, not "one shared patient") are
    /// kept under a patient of their study alone: the index keys it with this issuer and the empty
    /// PatientID, so that unidentified patients are never merged into one (their names, studies
    /// and citizen-ID links never mix). DICOM and the web never see it (`publicIssuer`).
    public static func unidentifiedIssuer(studyInstanceUID: String) -> String {
        unidentifiedIssuerPrefix + studyInstanceUID
    }

    public static let unidentifiedIssuerPrefix = "ImagingIndex:no-PatientID:"

    /// The IssuerOfPatientID to answer with for a stored issuer: empty for an unidentified
    /// patient's key (`unidentifiedIssuer`).
    public static func publicIssuer(_ stored: String) -> String {
        stored.hasPrefix(unidentifiedIssuerPrefix) ? "" : stored
    }
}
