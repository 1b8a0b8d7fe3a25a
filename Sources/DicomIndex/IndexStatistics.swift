/// Counts for `stats`: by level, modality, sending hospital and day received.
public struct IndexStatistics: Sendable, Hashable, Codable {
    public struct Bucket: Sendable, Hashable, Codable {
        public var key: String
        public var studies: Int
        public var series: Int
        public var instances: Int
        public var bytes: Int64
        public init(key: String, studies: Int, series: Int, instances: Int, bytes: Int64) {
            self.key = key
            self.studies = studies
            self.series = series
            self.instances = instances
            self.bytes = bytes
        }
    }

    public var patients: Int
    public var studies: Int
    public var series: Int
    public var instances: Int
    public var bytes: Int64
    public var byModality: [Bucket]
    public var byHospital: [Bucket]
    /// By the day (UTC, YYYY-MM-DD) instances were received, newest first, the last 31 days that had any.
    public var byDay: [Bucket]
    /// Instances whose row was made under another indexing policy.
    public var staleInstances: Int

    public init(patients: Int, studies: Int, series: Int, instances: Int, bytes: Int64, byModality: [Bucket],
                byHospital: [Bucket], byDay: [Bucket] = [], staleInstances: Int) {
        self.byDay = byDay
        self.patients = patients
        self.studies = studies
        self.series = series
        self.instances = instances
        self.bytes = bytes
        self.byModality = byModality
        self.byHospital = byHospital
        self.staleInstances = staleInstances
    }
}
