/// A DIMSE response status (PS3.7 Annex C) with the codes ImagingIndex answers with.
public struct DimseStatus: Hashable, Sendable, CustomStringConvertible {
    public let code: UInt16

    public init(_ code: UInt16) { self.code = code }

    public static let success = DimseStatus(0x0000)
    public static let pending = DimseStatus(0xFF00)
    public static let cancel = DimseStatus(0xFE00)
    public static let outOfResources = DimseStatus(0xA700)
    public static let dataSetDoesNotMatchSOPClass = DimseStatus(0xA900)
    public static let cannotUnderstand = DimseStatus(0xC000)
    public static let coercionOfDataElements = DimseStatus(0xB000)
    public static let duplicateSOPInstance = DimseStatus(0x0111)

    public var isSuccess: Bool { code == 0x0000 }
    public var isWarning: Bool { code == 0x0001 || (code & 0xF000) == 0xB000 }
    public var isPending: Bool { code == 0xFF00 || code == 0xFF01 }
    public var isFailure: Bool { !isSuccess && !isWarning && !isPending && code != 0xFE00 }

    public var description: String {
        let hex = String(code, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
