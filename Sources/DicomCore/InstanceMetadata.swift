/// What ImagingIndex reads from one DICOM instance: the attributes it indexes at each level,
/// as UTF-8 text (converted from the instance's SpecificCharacterSet), trailing padding removed.
/// Absent attributes are nil; present but empty ones are "".
public struct InstanceMetadata: Sendable, Hashable, Codable {
    public var patient: Patient
    public var study: Study
    public var series: Series
    public var instance: Instance
    /// Values of the configured extra tags, keyed by `GGGGEEEE`.
    public var extra: [String: String]

    public init(patient: Patient = .init(), study: Study = .init(), series: Series = .init(),
                instance: Instance = .init(), extra: [String: String] = [:]) {
        self.patient = patient
        self.study = study
        self.series = series
        self.instance = instance
        self.extra = extra
    }

    public struct OtherPatientID: Sendable, Hashable, Codable {
        public var id: String
        public var issuer: String?
        public var type: String?
        /// IssuerOfPatientIDQualifiersSequence: UniversalEntityID, its type, IdentifierTypeCode.
        public var universalEntityID: String?
        public var universalEntityIDType: String?
        public var identifierTypeCode: String?

        public init(id: String, issuer: String? = nil, type: String? = nil, universalEntityID: String? = nil,
                    universalEntityIDType: String? = nil, identifierTypeCode: String? = nil) {
            self.id = id
            self.issuer = issuer
            self.type = type
            self.universalEntityID = universalEntityID
            self.universalEntityIDType = universalEntityIDType
            self.identifierTypeCode = identifierTypeCode
        }
    }

    public struct Patient: Sendable, Hashable, Codable {
        public var patientID: String?
        public var issuerOfPatientID: String?
        /// IssuerOfPatientIDQualifiersSequence of the main PatientID.
        public var universalEntityID: String?
        public var identifierTypeCode: String?
        public var otherPatientIDs: [OtherPatientID] = []
        /// The retired OtherPatientIDs (0010,1000), split on `\`.
        public var retiredOtherPatientIDs: [String] = []
        public var patientName: String?
        public var birthDate: String?
        public var sex: String?
        public init() {}
    }

    public struct Study: Sendable, Hashable, Codable {
        public var studyInstanceUID: String = ""
        public var studyDate: String?
        public var studyTime: String?
        public var accessionNumber: String?
        public var accessionNumberIssuer: String?
        public var studyID: String?
        public var studyDescription: String?
        public var referringPhysicianName: String?
        public var institutionName: String?
        /// Patient Study module (the patient at the time of the study).
        public var patientAge: String?
        public var patientSize: String?
        public var patientWeight: String?
        public init() {}
    }

    public struct Series: Sendable, Hashable, Codable {
        public var seriesInstanceUID: String = ""
        public var modality: String?
        public var seriesNumber: String?
        public var seriesDescription: String?
        public var bodyPartExamined: String?
        public var seriesDate: String?
        public var seriesTime: String?
        public var manufacturer: String?
        public var stationName: String?
        public init() {}
    }

    public struct Instance: Sendable, Hashable, Codable {
        public var sopInstanceUID: String = ""
        public var sopClassUID: String = ""
        public var instanceNumber: String?
        public var transferSyntaxUID: String = ""
        public var rows: Int?
        public var columns: Int?
        public var numberOfFrames: Int?
        public var photometricInterpretation: String?
        /// (0002,0016) of the file meta information: the AE title that wrote or sent the file.
        public var sourceApplicationEntityTitle: String?
        public init() {}
    }
}
