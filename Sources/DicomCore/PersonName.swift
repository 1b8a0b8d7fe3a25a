import Foundation

/// A DICOM person name (PN): up to three component groups (alphabetic, ideographic, phonetic)
/// separated by `=`, each with up to five components separated by `^`.
public struct PersonName: Hashable, Sendable, CustomStringConvertible {
    /// The value as received (UTF-8, NFC), e.g. `Yamada^Tarou=山田^太郎=やまだ^たろう`.
    public let value: String

    public init(_ value: String) {
        self.value = value.trimmingDicomPadding().precomposedStringWithCanonicalMapping
    }

    public var description: String { value }

    public var alphabetic: String { group(0) }
    public var ideographic: String { group(1) }
    public var phonetic: String { group(2) }

    /// The five components (family, given, middle, prefix, suffix) of the alphabetic group.
    public var components: [String] {
        var parts = alphabetic.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
        while parts.count < 5 { parts.append("") }
        return Array(parts.prefix(5))
    }

    private func group(_ index: Int) -> String {
        let groups = value.split(separator: "=", omittingEmptySubsequences: false)
        return index < groups.count ? String(groups[index]) : ""
    }

    /// The form names are matched on case-insensitively: lower-cased, `^` and runs of spaces
    /// turned into one space, trailing empty components dropped. Wildcards are kept.
    public static func matchKey(_ text: String) -> String {
        normalizeSeparators(text.precomposedStringWithCanonicalMapping.lowercased())
    }

    /// `matchKey` with diacritics folded away as well (`Nguyễn^Văn` → `nguyen van`, `Đức` → `duc`).
    public static func foldedKey(_ text: String) -> String {
        normalizeSeparators(TextFolding.fold(text))
    }

    private static func normalizeSeparators(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for ch in text {
            if ch == "^" || ch == " " || ch == "\t" {
                pendingSpace = !out.isEmpty
                continue
            }
            if ch == "=" {
                // Component group separator: keep it, with no space around it.
                pendingSpace = false
                out.append(ch)
                continue
            }
            if pendingSpace, let last = out.last, last != "=" { out.append(" ") }
            pendingSpace = false
            out.append(ch)
        }
        // Drop empty trailing groups ("name==" → "name").
        while out.last == "=" { out.removeLast() }
        return out
    }
}

/// Case and diacritic folding for matching Vietnamese (and other Latin-script) text.
public enum TextFolding {
    /// Lower-cases and removes combining marks; maps đ/Đ (which has no decomposition) to d.
    public static func fold(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.decomposedStringWithCanonicalMapping.lowercased().unicodeScalars {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark:
                continue
            default:
                break
            }
            switch scalar {
            case "đ": out.append("d")
            case "ð": out.append("d")
            case "ø": out.append("o")
            case "ł": out.append("l")
            default: out.append(scalar)
            }
        }
        return String(out).precomposedStringWithCanonicalMapping
    }
}
