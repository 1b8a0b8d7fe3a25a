import Testing
@testable import PatientIdentity

@Suite struct CitizenIDTests {
    @Test(arguments: [
        ("001085012345", "Hà Nội", CitizenID.Sex.male, 1985),
        ("079195000123", "Hồ Chí Minh", .female, 1995),
        ("046303456789", "Thừa Thiên Huế", .female, 2003),
        ("046203456789", "Thừa Thiên Huế", .male, 2003),
        ("048200000001", "Đà Nẵng", .male, 2000),
        ("001085012345 ", "Hà Nội", .male, 1985),
    ])
    func valid(text: String, province: String, sex: CitizenID.Sex, year: Int) throws {
        let id = try CitizenID(validating: text)
        #expect(id.provinceName == province)
        #expect(id.sex == sex)
        #expect(id.birthYear == year)
    }

    @Test(arguments: [
        ("00108501234", CitizenID.Problem.wrongLength(11)),
        ("0010850123456", .wrongLength(13)),
        ("00108501234A", .notDigits),
        ("001 085012345", .notDigits),
        ("003085012345", .unknownProvince("003")),
        ("099085012345", .unknownProvince("099")),
        ("", .wrongLength(0)),
        ("123456789", .wrongLength(9)),
    ])
    func invalid(text: String, problem: CitizenID.Problem) {
        #expect(throws: problem) { try CitizenID(validating: text) }
        #expect(CitizenID(text) == nil)
    }

    @Test func consistencyWarnings() throws {
        let id = try CitizenID(validating: "001085012345")
        #expect(id.inconsistencies(birthDate: "19850312", sex: "M").isEmpty)
        #expect(id.inconsistencies(birthDate: "19860312", sex: "M") == ["birth year differs from the citizen ID's"])
        #expect(id.inconsistencies(birthDate: nil, sex: "F") == ["sex differs from the citizen ID's"])
    }
}
