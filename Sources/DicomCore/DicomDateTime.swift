/// DA and TM values as DICOM encodes them, normalised so that they compare as strings.
public enum DicomDateTime {
    /// A DA value `YYYYMMDD` (also accepts the old `YYYY.MM.DD`), or nil when malformed.
    public static func normalizedDate(_ text: String) -> String? {
        let digits = text.trimmingDicomPadding().filter { $0 != "." }
        guard digits.count == 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let month = Int(digits.dropFirst(4).prefix(2))!
        let day = Int(digits.suffix(2))!
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        return digits
    }

    /// A TM value as `HHMMSS.FFFFFF` (13 characters, missing parts filled with zeros, or with
    /// nines when `upperBound` is true so that `-1200` includes 12:00:59.999999).
    public static func normalizedTime(_ text: String, upperBound: Bool = false) -> String? {
        var value = text.trimmingDicomPadding().filter { $0 != ":" }
        guard !value.isEmpty else { return nil }
        var fraction = ""
        if let dot = value.firstIndex(of: ".") {
            fraction = String(value[value.index(after: dot)...])
            value = String(value[..<dot])
        }
        guard value.count >= 2, value.count <= 6, value.count % 2 == 0,
              value.allSatisfy({ $0.isASCII && $0.isNumber }),
              fraction.count <= 6, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        // Hours 00-23, minutes 00-59, seconds 00-60 (leap second).
        let pairs = stride(from: 0, to: value.count, by: 2).map { Int(value.dropFirst($0).prefix(2))! }
        let limits = [23, 59, 60]
        for (i, v) in pairs.enumerated() where v > limits[i] { return nil }
        let filler: Character = upperBound ? "9" : "0"
        let hhmmss: String
        if upperBound && value.count < 6 {
            // 12 → 125959, 1230 → 123059
            hhmmss = value + String(repeating: "59", count: (6 - value.count) / 2)
        } else {
            hhmmss = value + String(repeating: "0", count: 6 - value.count)
        }
        let frac = fraction + String(repeating: upperBound && fraction.isEmpty ? filler : "0", count: 6 - fraction.count)
        return hhmmss + "." + frac
    }
}
