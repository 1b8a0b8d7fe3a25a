import DicomCore

extension IndexQuery {
    /// A query from DICOM keys (a C-FIND identifier or QIDO-RS parameters): keys the index can
    /// match on become filters, keys of configured extra tags become extra filters, the rest are
    /// return keys only (PS3.4 lets an SCP skip matching on keys it does not support).
    public init(level: QueryLevel, dicomKeys: [DicomTag: String], extraTags: [DicomTag] = [],
                nameMatching: NameMatching = .caseInsensitive, limit: Int? = nil) {
        var filters: [QueryAttribute: String] = [:]
        var extra: [DicomTag: String] = [:]
        for (tag, value) in dicomKeys where !value.isEmpty {
            if let attribute = QueryAttribute(tag: tag) {
                filters[attribute] = value
            } else if extraTags.contains(tag) {
                extra[tag] = value
            }
        }
        self.init(level: level, filters: filters, extra: extra, nameMatching: nameMatching, limit: limit)
    }

    /// Counts each match's patient (`patientCounts`) only where the answer shows it: at PATIENT
    /// level (a person's answer adds up its records' counts), or when one of the counts is
    /// among the attributes returned.
    public mutating func countPatients(returning tags: some Sequence<DicomTag>) {
        let counts: Set<DicomTag> = [.numberOfPatientRelatedStudies, .numberOfPatientRelatedSeries,
                                     .numberOfPatientRelatedInstances]
        patientCounts = level == .patient || tags.contains(where: counts.contains)
    }
}

extension DicomTag {
    public static let numberOfPatientRelatedStudies = DicomTag(0x0020, 0x1200)
    public static let numberOfPatientRelatedSeries = DicomTag(0x0020, 0x1202)
    public static let numberOfPatientRelatedInstances = DicomTag(0x0020, 0x1204)
    public static let numberOfStudyRelatedSeries = DicomTag(0x0020, 0x1206)
    public static let numberOfStudyRelatedInstances = DicomTag(0x0020, 0x1208)
    public static let numberOfSeriesRelatedInstances = DicomTag(0x0020, 0x1209)
    public static let sopClassesInStudy = DicomTag(0x0008, 0x0062)
    public static let instanceAvailability = DicomTag(0x0008, 0x0056)
}

extension QueryMatch {
    /// The match as DICOM attributes (UTF-8 text), including the computed ones.
    public func dicomAttributes() -> [DicomTag: String] {
        var a: [DicomTag: String] = [:]
        a.reserveCapacity(40)
        func set(_ tag: DicomTag, _ value: String?) { if let value { a[tag] = value } }
        set(.patientID, patient.patientID)
        set(.issuerOfPatientID, patient.issuerOfPatientID.isEmpty ? nil : patient.issuerOfPatientID)
        set(.patientName, patient.patientName)
        set(.patientBirthDate, patient.birthDate)
        set(.patientSex, patient.sex)
        if !patient.otherPatientIDs.isEmpty {
            a[.otherPatientIDs] = patient.otherPatientIDs.map(\.id).joined(separator: "\\")
        }
        a[.numberOfPatientRelatedStudies] = String(patient.numberOfStudies)
        a[.numberOfPatientRelatedSeries] = String(patient.numberOfSeries)
        a[.numberOfPatientRelatedInstances] = String(patient.numberOfInstances)
        if let s = study {
            set(.studyInstanceUID, s.studyInstanceUID)
            set(.studyDate, s.studyDate)
            set(.studyTime, s.studyTime)
            set(.accessionNumber, s.accessionNumber)
            set(.studyID, s.studyID)
            set(.studyDescription, s.studyDescription)
            set(.referringPhysicianName, s.referringPhysicianName)
            set(.institutionName, s.institutionName)
            set(.patientAge, s.patientAge)
            set(.patientSize, s.patientSize)
            set(.patientWeight, s.patientWeight)
            a[.modalitiesInStudy] = s.modalitiesInStudy.joined(separator: "\\")
            a[.numberOfStudyRelatedSeries] = String(s.numberOfSeries)
            a[.numberOfStudyRelatedInstances] = String(s.numberOfInstances)
        }
        if let se = series {
            set(.seriesInstanceUID, se.seriesInstanceUID)
            set(.modality, se.modality)
            set(.seriesNumber, se.seriesNumber.map(String.init))
            set(.seriesDescription, se.seriesDescription)
            set(.bodyPartExamined, se.bodyPartExamined)
            set(.seriesDate, se.seriesDate)
            set(.seriesTime, se.seriesTime)
            set(.manufacturer, se.manufacturer)
            set(.stationName, se.stationName)
            a[.numberOfSeriesRelatedInstances] = String(se.numberOfInstances)
        }
        if let i = instance {
            set(.sopInstanceUID, i.sopInstanceUID)
            set(.sopClassUID, i.sopClassUID)
            set(.instanceNumber, i.instanceNumber.map(String.init))
            set(.rows, i.rows.map(String.init))
            set(.columns, i.columns.map(String.init))
            set(.numberOfFrames, i.numberOfFrames.map(String.init))
            set(.photometricInterpretation, i.photometricInterpretation)
            for (tag, value) in i.extra { if let t = DicomTag(parsing: tag) { a[t] = value } }
        }
        a[.instanceAvailability] = "ONLINE"
        return a
    }
}
