import DicomCore

/// One attribute's match condition, parsed from a DICOM query value (PS3.4 C.2.2.2).
public enum Matcher: Sendable, Hashable {
    /// Empty value or `*`: every value matches, absent ones too.
    case universal
    /// Single value matching.
    case exact(String)
    /// `*` (any run) and `?` (any one character) wildcards.
    case wildcard(String)
    /// A list of UIDs separated by `\`.
    case anyOf([String])
    /// Date or time range; bounds normalised (`YYYYMMDD`, `HHMMSS.FFFFFF`), nil for open ends.
    case range(lower: String?, upper: String?)
    case integer(Int)

    /// Parses `value` for an attribute of `kind`; throws `.invalidQuery` with a clear message.
    public static func parse(_ rawValue: String, kind: QueryAttribute.Kind, attribute: String = "value") throws(IndexError) -> Matcher {
        let value = rawValue.trimmingDicomPadding()
        if value.isEmpty || value == "*" { return .universal }
        switch kind {
        case .uid:
            // Matched as given, without checking the UID syntax (PS3.5 9.1): instances are stored
            // with the UIDs they came with (a component with a leading zero, even a letter, from
            // older equipment), and each stays reachable by them.
            let uids = value.split(separator: "\\", omittingEmptySubsequences: true).map { String($0).trimmingDicomPadding() }
            if uids.contains(where: { $0.contains("*") || $0.contains("?") }) {
                throw IndexError(.invalidQuery, "\(attribute): wildcards are not allowed in UIDs")
            }
            return uids.count == 1 ? .exact(uids[0]) : .anyOf(uids)
        case .date:
            return try parseRange(value, attribute: attribute, what: "date (YYYYMMDD)") { bound, upper in
                DicomDateTime.normalizedDate(bound)
            }
        case .time:
            return try parseRange(value, attribute: attribute, what: "time (HHMMSS)") { bound, upper in
                DicomDateTime.normalizedTime(bound, upperBound: upper)
            }
        case .integer:
            guard let number = Int(value.trimmingCharacters(in: " ")) else {
                throw IndexError(.invalidQuery, "\(attribute): '\(value)' is not a number")
            }
            return .integer(number)
        case .text, .personName:
            if value.contains("*") || value.contains("?") { return .wildcard(value) }
            return .exact(value)
        }
    }

    private static func parseRange(_ value: String, attribute: String, what: String,
                                   normalize: (String, Bool) -> String?) throws(IndexError) -> Matcher {
        let dashes = value.filter { $0 == "-" }.count
        if dashes == 0 {
            guard let lower = normalize(value, false) else {
                throw IndexError(.invalidQuery, "\(attribute): '\(value)' is not a \(what)")
            }
            guard let upper = normalize(value, true) else {
                throw IndexError(.invalidQuery, "\(attribute): '\(value)' is not a \(what)")
            }
            return lower == upper ? .exact(lower) : .range(lower: lower, upper: upper)
        }
        guard dashes == 1 else {
            throw IndexError(.invalidQuery, "\(attribute): '\(value)' is not a \(what) range (use a-b, a- or -b)")
        }
        let parts = value.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let lowerText = parts[0], upperText = parts[1]
        if lowerText.isEmpty && upperText.isEmpty {
            return .universal
        }
        var lower: String? = nil
        var upper: String? = nil
        if !lowerText.isEmpty {
            guard let l = normalize(lowerText, false) else {
                throw IndexError(.invalidQuery, "\(attribute): '\(lowerText)' is not a \(what)")
            }
            lower = l
        }
        if !upperText.isEmpty {
            guard let u = normalize(upperText, true) else {
                throw IndexError(.invalidQuery, "\(attribute): '\(upperText)' is not a \(what)")
            }
            upper = u
        }
        if let lower, let upper, lower > upper {
            throw IndexError(.invalidQuery, "\(attribute): range \(value) ends before it starts")
        }
        return .range(lower: lower, upper: upper)
    }

    /// The literal text before the first wildcard (what an index range scan can use).
    public static func literalPrefix(of pattern: String) -> String {
        String(pattern.prefix { $0 != "*" && $0 != "?" })
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
