import Foundation

/// DICOM JSON (PS3.18 Annex F) for the attributes ImagingIndex answers queries with: each
/// attribute as `"GGGGEEEE": {"vr": ..., "Value": [...]}`; PN as Alphabetic / Ideographic /
/// Phonetic groups; IS, DS, US, UL as JSON numbers; sequences as lists of items.
public enum DicomJSON {
    /// An attribute set to encode: text values keyed by tag (multiple values separated by `\`),
    /// and sequences as lists of items.
    public struct Item: Sendable {
        public var attributes: [DicomTag: String]
        public var sequences: [DicomTag: [Item]]

        public init(_ attributes: [DicomTag: String] = [:], sequences: [DicomTag: [Item]] = [:]) {
            self.attributes = attributes
            self.sequences = sequences
        }
    }

    /// The item as a JSON object (for JSONSerialization).
    public static func object(_ item: Item) -> [String: Any] {
        var object: [String: Any] = [:]
        for (tag, text) in item.attributes {
            let vr = DicomTag.vr(of: tag)
            var entry: [String: Any] = ["vr": vr]
            if !text.isEmpty { entry["Value"] = values(text, vr: vr) }
            object[tag.hexString] = entry
        }
        for (tag, items) in item.sequences {
            var entry: [String: Any] = ["vr": "SQ"]
            if !items.isEmpty { entry["Value"] = items.map { DicomJSON.object($0) } }
            object[tag.hexString] = entry
        }
        return object
    }

    /// A list of items as JSON text (UTF-8).
    public static func encode(_ items: [Item]) -> Data {
        (try? JSONSerialization.data(withJSONObject: items.map { DicomJSON.object($0) }, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("[]".utf8)
    }

    static func values(_ text: String, vr: String) -> [Any] {
        let parts = text.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
        switch vr {
        case "PN":
            return parts.map { value -> Any in
                let groups = value.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
                var pn: [String: String] = [:]
                for (key, group) in zip(["Alphabetic", "Ideographic", "Phonetic"], groups) where !group.isEmpty {
                    pn[key] = group
                }
                return pn
            }
        case "IS", "SL", "SS", "UL", "US":
            return parts.map { Int($0.trimmingCharacters(in: .whitespaces)).map { $0 as Any } ?? NSNull() }
        case "DS", "FL", "FD":
            return parts.map { Double($0.trimmingCharacters(in: .whitespaces)).map { $0 as Any } ?? NSNull() }
        default:
            return parts.map { $0.isEmpty ? NSNull() as Any : $0 as Any }
        }
    }
}

extension DicomTag {
    // Attributes of query answers and DICOMweb responses.
    public static let retrieveURL = DicomTag(0x0008, 0x1190)
    public static let failedSOPSequence = DicomTag(0x0008, 0x1198)
    public static let referencedSOPSequence = DicomTag(0x0008, 0x1199)
    public static let referencedSOPClassUID = DicomTag(0x0008, 0x1150)
    public static let referencedSOPInstanceUID = DicomTag(0x0008, 0x1155)
    public static let failureReason = DicomTag(0x0008, 0x1197)
    public static let warningReason = DicomTag(0x0008, 0x1196)
    public static let timezoneOffsetFromUTC = DicomTag(0x0008, 0x0201)
    public static let bitsAllocated = DicomTag(0x0028, 0x0100)

    /// The VR of the attributes ImagingIndex puts in answers (LO for others: text is safe).
    public static func vr(of tag: DicomTag) -> String {
        knownVRs[tag.rawValue] ?? "LO"
    }

    static let knownVRs: [UInt32: String] = [
        0x0008_0005: "CS", 0x0008_0016: "UI", 0x0008_0018: "UI", 0x0008_0020: "DA", 0x0008_0021: "DA",
        0x0008_0030: "TM", 0x0008_0031: "TM", 0x0008_0050: "SH", 0x0008_0054: "AE", 0x0008_0056: "CS",
        0x0008_0060: "CS", 0x0008_0061: "CS", 0x0008_0062: "UI", 0x0008_0070: "LO", 0x0008_0080: "LO", 0x0008_0090: "PN",
        0x0008_0201: "SH", 0x0008_1010: "SH", 0x0008_1030: "LO", 0x0008_103E: "LO", 0x0008_1150: "UI", 0x0008_1155: "UI",
        0x0008_1190: "UR", 0x0008_1196: "US", 0x0008_1197: "US", 0x0008_1198: "SQ", 0x0008_1199: "SQ",
        0x0010_0010: "PN", 0x0010_0020: "LO", 0x0010_0021: "LO", 0x0010_0022: "CS", 0x0010_0030: "DA",
        0x0010_0040: "CS", 0x0010_1000: "LO", 0x0010_1002: "SQ", 0x0010_1010: "AS", 0x0010_1020: "DS",
        0x0010_1030: "DS", 0x0018_0015: "CS", 0x0020_000D: "UI",
        0x0020_000E: "UI", 0x0020_0010: "SH", 0x0020_0011: "IS", 0x0020_0013: "IS", 0x0020_1200: "IS",
        0x0020_1202: "IS", 0x0020_1204: "IS", 0x0020_1206: "IS", 0x0020_1208: "IS", 0x0020_1209: "IS",
        0x0028_0004: "CS", 0x0028_0008: "IS", 0x0028_0010: "US", 0x0028_0011: "US", 0x0028_0100: "US",
        0x0002_0010: "UI",
    ]
}
