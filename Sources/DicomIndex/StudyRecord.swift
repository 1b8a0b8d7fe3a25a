/// A study with its computed attributes.
public struct StudyRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var studyInstanceUID: String
    public var studyDate: String?
    public var studyTime: String?
    public var accessionNumber: String?
    public var accessionNumberIssuer: String?
    public var studyID: String?
    public var studyDescription: String?
    public var referringPhysicianName: String?
    public var institutionName: String?
    /// PatientAge, PatientSize, PatientWeight (Patient Study module).
    public var patientAge: String?
    public var patientSize: String?
    public var patientWeight: String?
    /// The AE title that sent the study's first instance (nil for imported files).
    public var sourceAETitle: String?
    /// The hospital that sent it (nil: not known, e.g. imported files of no configured hospital).
    public var hospital: String?
    public var modalitiesInStudy: [String]
    public var numberOfSeries: Int
    public var numberOfInstances: Int

    public init(id: Int64, studyInstanceUID: String, studyDate: String? = nil, studyTime: String? = nil,
                accessionNumber: String? = nil, accessionNumberIssuer: String? = nil, studyID: String? = nil,
                studyDescription: String? = nil, referringPhysicianName: String? = nil, institutionName: String? = nil,
                sourceAETitle: String? = nil, modalitiesInStudy: [String] = [], numberOfSeries: Int = 0,
                numberOfInstances: Int = 0, hospital: String? = nil, patientAge: String? = nil,
                patientSize: String? = nil, patientWeight: String? = nil) {
        self.hospital = hospital
        self.patientAge = patientAge
        self.patientSize = patientSize
        self.patientWeight = patientWeight
        self.id = id
        self.studyInstanceUID = studyInstanceUID
        self.studyDate = studyDate
        self.studyTime = studyTime
        self.accessionNumber = accessionNumber
        self.accessionNumberIssuer = accessionNumberIssuer
        self.studyID = studyID
        self.studyDescription = studyDescription
        self.referringPhysicianName = referringPhysicianName
        self.institutionName = institutionName
        self.sourceAETitle = sourceAETitle
        self.modalitiesInStudy = modalitiesInStudy
        self.numberOfSeries = numberOfSeries
        self.numberOfInstances = numberOfInstances
    }
}
