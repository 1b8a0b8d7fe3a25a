import Testing
@testable import DicomCore

@Suite struct DicomTagTests {
    @Test(arguments: [("0010,0020", 0x0010_0020), ("(0008,1030)", 0x0008_1030), ("7fe00010", 0x7FE0_0010),
                      ("0020 000D", 0x0020_000D)])
    func parses(text: String, raw: Int) {
        #expect(DicomTag(parsing: text)?.rawValue == UInt32(raw))
    }

    @Test(arguments: ["", "0010,002", "0010,00200", "00x0,0020", "zzzz,zzzz", "0010-0020"])
    func rejects(text: String) {
        #expect(DicomTag(parsing: text) == nil)
    }

    @Test func formats() {
        #expect(DicomTag.patientID.hexString == "00100020")
        #expect(DicomTag.studyInstanceUID.description == "(0020,000D)")
        #expect(DicomTag.pixelData > DicomTag.patientID)
    }
}

@Suite struct DicomUIDTests {
    @Test(arguments: ["1.2.840.10008.1.2", "1.2.826.0.1.3680043.10.1337.3.1", "2.25.12345678901234567890"])
    func valid(uid: String) { #expect(DicomUID.isValid(uid)) }

    @Test(arguments: ["", "1..2", "1.02.3", "1.2.", ".1.2", "1.2.a", "1.2.3*", String(repeating: "1.", count: 40) + "1"])
    func invalid(uid: String) { #expect(!DicomUID.isValid(uid)) }

    @Test func trimsPadding() {
        #expect(DicomUID("1.2.3\0")?.value == "1.2.3")
        #expect(DicomUID("1.2.3 ")?.value == "1.2.3")
    }
}

@Suite struct PersonNameTests {
    @Test func groupsAndComponents() {
        let name = PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
        #expect(name.alphabetic == "Yamada^Tarou")
        #expect(name.ideographic == "山田^太郎")
        #expect(name.phonetic == "やまだ^たろう")
        #expect(name.components == ["Yamada", "Tarou", "", "", ""])
    }

    @Test(arguments: [
        ("Nguyễn^Văn Hùng", "nguyen van hung"),
        ("NGUYEN^VAN HUNG", "nguyen van hung"),
        ("Lê^Đức Anh", "le duc anh"),
        ("Trần^Thị Mai^^^", "tran thi mai"),
        ("Nguyễn^Văn*", "nguyen van*"),
        ("  Phạm ^ Thị  Hương ", "pham thi huong"),
    ])
    func folds(input: String, expected: String) {
        #expect(PersonName.foldedKey(input) == expected)
    }

    @Test func matchKeyKeepsDiacriticsButNotCase() {
        #expect(PersonName.matchKey("NGUYỄN^Văn") == "nguyễn văn")
        #expect(PersonName.matchKey("Nguyễn^Văn") != PersonName.matchKey("Nguyen^Van"))
    }

    @Test func decomposedInputIsNormalised() {
        // "ễ" written as e + circumflex + tilde (NFD) equals the precomposed form.
        let nfd = "Nguye\u{0302}\u{0303}n"
        #expect(PersonName(nfd).value == "Nguyễn")
        #expect(PersonName.matchKey(nfd) == PersonName.matchKey("Nguyễn"))
    }
}

@Suite struct DicomDateTimeTests {
    @Test(arguments: [("20240315", "20240315"), ("2024.03.15", "20240315"), ("20241301", nil), ("2024031", nil),
                      ("abcdefgh", nil)] as [(String, String?)])
    func dates(input: String, expected: String?) {
        #expect(DicomDateTime.normalizedDate(input) == expected)
    }

    @Test(arguments: [
        ("083012", false, "083012.000000"), ("0830", false, "083000.000000"), ("08", false, "080000.000000"),
        ("08", true, "085959.999999"), ("0830", true, "083059.999999"), ("083012.5", false, "083012.500000"),
        ("08:30:12", false, "083012.000000"), ("8", false, nil), ("083", false, nil), ("ab", false, nil),
    ] as [(String, Bool, String?)])
    func times(input: String, upper: Bool, expected: String?) {
        #expect(DicomDateTime.normalizedTime(input, upperBound: upper) == expected)
    }
}

@Suite struct ValueTypeTests {
    @Test func transferSyntaxLookup() {
        #expect(TransferSyntax.lookup("1.2.840.10008.1.2.4.70") == .jpegLosslessSV1)
        #expect(TransferSyntax.lookup("1.2.840.10008.1.2.1").isCompressed == false)
        #expect(TransferSyntax.lookup("1.2.3.4").name == "1.2.3.4")
    }

    @Test func levels() {
        #expect(QueryLevel(parsing: "image") == .instance)
        #expect(QueryLevel(parsing: "Study") == .study)
        #expect(QueryLevel(parsing: "frame") == nil)
        #expect(QueryLevel.patient < QueryLevel.instance)
    }

    @Test func statuses() {
        #expect(DimseStatus.success.isSuccess)
        #expect(DimseStatus.outOfResources.isFailure)
        #expect(DimseStatus.coercionOfDataElements.isWarning)
        #expect(DimseStatus.pending.isPending)
        #expect(DimseStatus(0xA700).description == "0xA700")
    }
}

@Suite struct HexTextTests {
    @Test func twoLowerCaseDigitsPerByte() {
        #expect(lowercaseHex([UInt8]()) == "")
        #expect(lowercaseHex([0x00, 0x0F, 0xA0, 0xFF, 0x7B]) == "000fa0ff7b")
    }
}
