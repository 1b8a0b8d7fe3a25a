/// One answer of a query: the matched entity and its ancestors. Levels below the query's
/// level are nil.
public struct QueryMatch: Sendable, Hashable, Codable {
    public var patient: PatientRecord
    public var study: StudyRecord?
    public var series: SeriesRecord?
    public var instance: InstanceRecord?

    public init(patient: PatientRecord, study: StudyRecord? = nil, series: SeriesRecord? = nil,
                instance: InstanceRecord? = nil) {
        self.patient = patient
        self.study = study
        self.series = series
        self.instance = instance
    }
}
