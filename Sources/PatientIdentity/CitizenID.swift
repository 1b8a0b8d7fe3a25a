/// A Vietnamese citizen identification number (số định danh cá nhân): 12 digits,
/// `PPP G YY NNNNNN` — province of birth registration, century-and-sex digit, the last two
/// digits of the birth year, then a serial. There is no check digit, so validation is structural.
public struct CitizenID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let value: String

    public enum Sex: String, Sendable, Codable { case male = "M", female = "F" }

    /// Why a text is not a citizen ID.
    public enum Problem: Error, Hashable, Sendable, CustomStringConvertible {
        case wrongLength(Int)
        case notDigits
        case unknownProvince(String)

        public var description: String {
            switch self {
            case .wrongLength(let n): "a citizen ID has 12 digits, not \(n)"
            case .notDigits: "a citizen ID has digits only"
            case .unknownProvince(let code): "\(code) is not a province code"
            }
        }
    }

    /// Validates the structure. Surrounding padding is trimmed, inner spaces are refused.
    public init(validating text: String) throws(Problem) {
        var trimmed = Substring(text)
        while let last = trimmed.last, last == " " || last == "\0" { trimmed.removeLast() }
        while let first = trimmed.first, first == " " { trimmed.removeFirst() }
        guard trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .notDigits }
        guard trimmed.count == 12 else { throw .wrongLength(trimmed.count) }
        let province = String(trimmed.prefix(3))
        guard CitizenID.provinceCodes[province] != nil || CitizenID.abroadCodes.contains(province) else {
            throw .unknownProvince(province)
        }
        value = String(trimmed)
    }

    public init?(_ text: String) {
        guard let id = try? CitizenID(validating: text) else { return nil }
        self = id
    }

    public var description: String { value }

    public var provinceCode: String { String(value.prefix(3)) }
    public var provinceName: String? { CitizenID.provinceCodes[provinceCode] }

    private var centuryDigit: Int { Int(String(value[value.index(value.startIndex, offsetBy: 3)]))! }

    /// Male for even century digits, female for odd ones.
    public var sex: Sex { centuryDigit % 2 == 0 ? .male : .female }

    /// The birth year the number encodes (digit 4 gives the century from 1900 on).
    public var birthYear: Int {
        let yy = Int(value.dropFirst(4).prefix(2))!
        return 1900 + (centuryDigit / 2) * 100 + yy
    }

    /// Inconsistencies with the demographics of a DICOM record: warnings, not rejections.
    public func inconsistencies(birthDate: String?, sex: String?) -> [String] {
        var found: [String] = []
        if let birthDate, birthDate.count >= 4, let year = Int(birthDate.prefix(4)), year != birthYear {
            found.append("birth year differs from the citizen ID's")
        }
        if let sex, let s = Sex(rawValue: sex.uppercased()), s != self.sex {
            found.append("sex differs from the citizen ID's")
        }
        return found
    }

    /// Code used for births registered abroad.
    public static let abroadCodes: Set<String> = ["000"]

    /// Province codes of the 63 provinces and cities (Circular 07/2016/TT-BCA, annex).
    public static let provinceCodes: [String: String] = [
        "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
        "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
        "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
        "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
        "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
        "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
        "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
        "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
        "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
        "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
        "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
        "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
        "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
    ]
}
