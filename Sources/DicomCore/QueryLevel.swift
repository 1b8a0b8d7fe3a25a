/// The four levels of the DICOM information model, top to bottom.
public enum QueryLevel: String, Sendable, CaseIterable, Comparable, Codable {
    case patient = "PATIENT"
    case study = "STUDY"
    case series = "SERIES"
    case instance = "IMAGE"

    public var depth: Int {
        switch self {
        case .patient: 0
        case .study: 1
        case .series: 2
        case .instance: 3
        }
    }

    public init?(parsing text: String) {
        switch text.uppercased() {
        case "PATIENT": self = .patient
        case "STUDY": self = .study
        case "SERIES": self = .series
        case "IMAGE", "INSTANCE": self = .instance
        default: return nil
        }
    }

    public static func < (lhs: QueryLevel, rhs: QueryLevel) -> Bool { lhs.depth < rhs.depth }
}
