/// A series with its computed number of instances.
public struct SeriesRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var seriesInstanceUID: String
    public var modality: String?
    public var seriesNumber: Int?
    public var seriesDescription: String?
    public var bodyPartExamined: String?
    public var seriesDate: String?
    public var seriesTime: String?
    public var manufacturer: String?
    public var stationName: String?
    public var numberOfInstances: Int

    public init(id: Int64, seriesInstanceUID: String, modality: String? = nil, seriesNumber: Int? = nil,
                seriesDescription: String? = nil, bodyPartExamined: String? = nil, seriesDate: String? = nil,
                seriesTime: String? = nil, manufacturer: String? = nil, stationName: String? = nil,
                numberOfInstances: Int = 0) {
        self.id = id
        self.seriesInstanceUID = seriesInstanceUID
        self.modality = modality
        self.seriesNumber = seriesNumber
        self.seriesDescription = seriesDescription
        self.bodyPartExamined = bodyPartExamined
        self.seriesDate = seriesDate
        self.seriesTime = seriesTime
        self.manufacturer = manufacturer
        self.stationName = stationName
        self.numberOfInstances = numberOfInstances
    }
}
