/// A DICOM unique identifier (UI): digits and dots, at most 64 characters, no empty or
/// zero-led components (PS3.5 §9.1).
public struct DicomUID: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init?(_ text: String) {
        let trimmed = text.trimmingDicomPadding()
        guard DicomUID.isValid(trimmed) else { return nil }
        value = trimmed
    }

    public var description: String { value }

    public static func isValid(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 64 else { return false }
        for component in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if component.count > 1 && component.first == "0" { return false }
        }
        return true
    }
}

extension String {
    /// Removes the trailing spaces and NULs DICOM uses to pad values to an even length.
    public func trimmingDicomPadding() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last == " " || last == "\0" { scalars.removeLast() }
        return String(scalars)
    }
}
