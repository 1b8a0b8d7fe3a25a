/// A DICOM attribute tag: (group, element).
public struct DicomTag: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// `(group << 16) | element`, as the shim addresses elements.
    public var rawValue: UInt32 { UInt32(group) << 16 | UInt32(element) }

    public init(rawValue: UInt32) {
        self.init(UInt16(rawValue >> 16), UInt16(rawValue & 0xFFFF))
    }

    /// Parses `0010,0020`, `(0010,0020)`, `00100020` or `0010 0020` (hex digits, any case).
    public init?(parsing text: String) {
        let hex = text.filter { $0.isHexDigit }
        let stripped = text.filter { !"(), \t".contains($0) }
        guard hex.count == 8, stripped.count == 8, let raw = UInt32(hex, radix: 16) else { return nil }
        self.init(rawValue: raw)
    }

    /// `GGGGEEEE` in upper-case hex, the form DICOM JSON uses.
    public var hexString: String {
        let digits = String(rawValue, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    public var description: String {
        let h = hexString
        return "(\(h.prefix(4)),\(h.suffix(4)))"
    }

    public static func < (lhs: DicomTag, rhs: DicomTag) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension DicomTag {
    // File meta information
    public static let transferSyntaxUID = DicomTag(0x0002, 0x0010)
    public static let sourceApplicationEntityTitle = DicomTag(0x0002, 0x0016)
    // Patient
    public static let patientName = DicomTag(0x0010, 0x0010)
    public static let patientID = DicomTag(0x0010, 0x0020)
    public static let issuerOfPatientID = DicomTag(0x0010, 0x0021)
    public static let typeOfPatientID = DicomTag(0x0010, 0x0022)
    public static let issuerOfPatientIDQualifiersSequence = DicomTag(0x0010, 0x0024)
    public static let patientBirthDate = DicomTag(0x0010, 0x0030)
    public static let patientSex = DicomTag(0x0010, 0x0040)
    public static let otherPatientIDs = DicomTag(0x0010, 0x1000)
    public static let otherPatientIDsSequence = DicomTag(0x0010, 0x1002)
    public static let universalEntityID = DicomTag(0x0040, 0x0032)
    public static let universalEntityIDType = DicomTag(0x0040, 0x0033)
    public static let identifierTypeCode = DicomTag(0x0040, 0x0035)
    public static let localNamespaceEntityID = DicomTag(0x0040, 0x0031)
    // Study
    public static let specificCharacterSet = DicomTag(0x0008, 0x0005)
    public static let studyDate = DicomTag(0x0008, 0x0020)
    public static let studyTime = DicomTag(0x0008, 0x0030)
    public static let accessionNumber = DicomTag(0x0008, 0x0050)
    public static let issuerOfAccessionNumberSequence = DicomTag(0x0008, 0x0051)
    public static let institutionName = DicomTag(0x0008, 0x0080)
    public static let referringPhysicianName = DicomTag(0x0008, 0x0090)
    public static let studyDescription = DicomTag(0x0008, 0x1030)
    public static let studyInstanceUID = DicomTag(0x0020, 0x000D)
    public static let studyID = DicomTag(0x0020, 0x0010)
    public static let modalitiesInStudy = DicomTag(0x0008, 0x0061)
    // Series
    public static let seriesDate = DicomTag(0x0008, 0x0021)
    public static let seriesTime = DicomTag(0x0008, 0x0031)
    public static let modality = DicomTag(0x0008, 0x0060)
    public static let seriesDescription = DicomTag(0x0008, 0x103E)
    public static let manufacturer = DicomTag(0x0008, 0x0070)
    public static let stationName = DicomTag(0x0008, 0x1010)
    public static let patientAge = DicomTag(0x0010, 0x1010)
    public static let patientSize = DicomTag(0x0010, 0x1020)
    public static let patientWeight = DicomTag(0x0010, 0x1030)
    public static let bodyPartExamined = DicomTag(0x0018, 0x0015)
    public static let seriesInstanceUID = DicomTag(0x0020, 0x000E)
    public static let seriesNumber = DicomTag(0x0020, 0x0011)
    // Instance
    public static let sopClassUID = DicomTag(0x0008, 0x0016)
    public static let sopInstanceUID = DicomTag(0x0008, 0x0018)
    public static let retrieveAETitle = DicomTag(0x0008, 0x0054)
    public static let instanceNumber = DicomTag(0x0020, 0x0013)
    public static let rows = DicomTag(0x0028, 0x0010)
    public static let columns = DicomTag(0x0028, 0x0011)
    public static let numberOfFrames = DicomTag(0x0028, 0x0008)
    public static let photometricInterpretation = DicomTag(0x0028, 0x0004)
    public static let pixelData = DicomTag(0x7FE0, 0x0010)
}
