/// Where a stored instance's file is and under which policy its row was made (for reindex).
public struct InstanceLocation: Sendable, Hashable {
    public var id: Int64
    public var sopInstanceUID: String
    public var path: String
    public var policy: String
    public init(id: Int64, sopInstanceUID: String, path: String, policy: String) {
        self.id = id
        self.sopInstanceUID = sopInstanceUID
        self.path = path
        self.policy = policy
    }
}

/// One instance of a series with its file (what the thumbnail maker chooses from).
public struct SeriesInstanceFile: Sendable, Hashable {
    public var sopInstanceUID: String
    public var path: String
    public var instanceNumber: Int?
    public init(sopInstanceUID: String, path: String, instanceNumber: Int?) {
        self.sopInstanceUID = sopInstanceUID
        self.path = path
        self.instanceNumber = instanceNumber
    }
}

/// The index: patients, studies, series and instances. Implementations (SQLite, PostgreSQL)
/// pass the same test suite. Every call is blocking: call it off Swift's cooperative pool.
public protocol IndexStore: PatientLinkStore, SharingConsentStore {
    /// Records a batch of instances in ONE transaction (each in its own savepoint, so one
    /// refused instance does not undo the others). Returns when committed and durable.
    /// `beforeCommit` is called inside the transaction once every write was applied, with their
    /// results, just before the COMMIT (the group committer puts the batch's files in place
    /// there): false rolls the whole transaction back, and nil is returned.
    func commit(_ writes: [InstanceWrite],
                beforeCommit: (@Sendable ([Result<InstanceWriteResult, IndexError>]) -> Bool)?)
        throws(IndexError) -> [Result<InstanceWriteResult, IndexError>]?

    /// The row of one instance, if indexed.
    func instance(sopInstanceUID: String) throws(IndexError) -> InstanceRecord?

    /// Whether an instance is indexed (the duplicate check of every stored instance: one key
    /// lookup, nothing decoded).
    func containsInstance(sopInstanceUID: String) throws(IndexError) -> Bool

    /// The instances of one series with their files, in row order (no patient or study data).
    func instanceFiles(inSeries seriesInstanceUID: String) throws(IndexError) -> [SeriesInstanceFile]

    /// Matches of a query, in the query's order (default: by level key, oldest first).
    func query(_ query: IndexQuery) throws(IndexError) -> [QueryMatch]

    /// The distinct SOP classes of a study's instances (SOPClassesInStudy).
    func sopClasses(inStudy studyInstanceUID: String) throws(IndexError) -> [String]

    /// How many entities of the query's level match (ignores limit and offset).
    func count(_ query: IndexQuery) throws(IndexError) -> Int

    /// Deletes instances (and series, studies, patients left empty). Returns how many went.
    func removeInstances(ids: [Int64]) throws(IndexError) -> Int

    /// Instances in id order after `afterID`, at most `limit` of them.
    func instanceLocations(afterID: Int64, limit: Int) throws(IndexError) -> [InstanceLocation]

    /// Instances whose file path starts with `pathPrefix` (a store folder such as `objects/ab/cd/`).
    func instanceLocations(pathPrefix: String) throws(IndexError) -> [InstanceLocation]

    func statistics(currentPolicy: String) throws(IndexError) -> IndexStatistics

    /// Resumable jobs keep a small state here (e.g. the last folder a reindex finished).
    func jobState(_ name: String) throws(IndexError) -> String?
    func setJobState(_ name: String, _ value: String?) throws(IndexError)
}

extension IndexStore {
    public func containsInstance(sopInstanceUID: String) throws(IndexError) -> Bool {
        try instance(sopInstanceUID: sopInstanceUID) != nil
    }

    public func instanceFiles(inSeries seriesInstanceUID: String) throws(IndexError) -> [SeriesInstanceFile] {
        try query(IndexQuery(level: .instance, filters: [.seriesInstanceUID: seriesInstanceUID], nameMatching: .exact))
            .compactMap { match in
                match.instance.map { SeriesInstanceFile(sopInstanceUID: $0.sopInstanceUID, path: $0.path, instanceNumber: $0.instanceNumber) }
            }
    }
}

extension IndexStore {
    /// Records a batch of instances in one transaction (see `commit(_:beforeCommit:)`).
    public func commit(_ writes: [InstanceWrite]) throws(IndexError) -> [Result<InstanceWriteResult, IndexError>] {
        try commit(writes, beforeCommit: nil) ?? []
    }
}
