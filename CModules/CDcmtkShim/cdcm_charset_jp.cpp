// cdcm_charset_jp.cpp — the shim's own decoder for the Japanese ISO 2022 character sets.
//
// Why: Debian 12's DCMTK 3.6.7 uses glibc iconv, which does not know the encoding name DCMTK
// selects for ISO 2022 IR 87 ("ISO-IR-87") or IR 159 ("ISO-IR-159"), so convertToUTF8() fails for
// every Japanese Kanji dataset. This file decodes those values itself:
//   - G0 ASCII (ESC ( B), G0 JIS X 0201 Roman (ESC ( J), G1 JIS X 0201 Katakana (ESC ) I),
//   - G0 JIS X 0208 (ESC $ B, also the older ESC $ @) and G0 JIS X 0212 (ESC $ ( D).
// Two-byte JIS codes are turned into EUC-JP (set the high bit; 0x8F prefix for JIS X 0212) and
// converted with glibc's "EUC-JP" iconv converter, which glibc does have. Katakana bytes
// 0xA1..0xDF map to U+FF61..U+FF9F directly.
// As DICOM PS3.5 6.1.2.5.3 requires, the initial character set (value 1 of SpecificCharacterSet)
// is active again at the start of every value and after each delimiter (backslash; '^' and '='
// in PN; CR, LF, FF, TAB in every text VR).

#include "cdcm_internal.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcelem.h"
#include "dcmtk/dcmdata/dcsequen.h"

#include <iconv.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace cdcm_detail {
namespace {

using Terms = std::vector<std::string>;

// Reads the defined terms of an item's own SpecificCharacterSet; false when the item has none.
bool ownTerms(DcmItem &item, Terms *terms) {
    DcmElement *elem = nullptr;
    if (item.findAndGetElement(DCM_SpecificCharacterSet, elem, OFFalse).bad() || elem == nullptr)
        return false;
    terms->clear();
    const unsigned long vm = elem->getVM();
    for (unsigned long i = 0; i < vm; ++i) {
        OFString value;
        if (elem->getOFString(value, i, OFTrue).good())
            terms->emplace_back(value.c_str());
        else
            terms->emplace_back();
    }
    return true;
}

bool isAffectedVR(DcmEVR vr) {
    switch (vr) {
    case EVR_SH: case EVR_LO: case EVR_ST: case EVR_LT: case EVR_PN: case EVR_UC: case EVR_UT:
        return true;
    default:
        return false;
    }
}

// Value delimiters (besides CR, LF, FF, TAB) after which the initial character set is active again.
const char *delimitersFor(DcmEVR vr) {
    switch (vr) {
    case EVR_PN: return "\\^=";
    case EVR_SH: case EVR_LO: case EVR_UC: return "\\";
    default: return "";
    }
}

// Calls visit(element, effectiveTerms) for every charset-affected element, item by item.
// An item's own SpecificCharacterSet replaces the inherited one for it and its nested items.
template <typename Visit>
void walk(DcmItem &item, const Terms &inherited, Visit &visit) {
    Terms local;
    const Terms &terms = ownTerms(item, &local) ? local : inherited;
    const unsigned long count = item.card();
    for (unsigned long i = 0; i < count; ++i) {
        DcmElement *elem = item.getElement(i);
        if (elem == nullptr)
            continue;
        if (elem->ident() == EVR_SQ) {
            DcmSequenceOfItems *seq = static_cast<DcmSequenceOfItems *>(elem);
            const unsigned long items = seq->card();
            for (unsigned long j = 0; j < items; ++j) {
                DcmItem *sub = seq->getItem(j);
                if (sub != nullptr)
                    walk(*sub, terms, visit);
            }
        } else if (isAffectedVR(elem->ident())) {
            visit(elem, terms);
        }
    }
}

// The item-level walk for collecting terms only (including items without affected elements).
void collectTerms(DcmItem &item, std::vector<Terms> *all) {
    Terms local;
    if (ownTerms(item, &local))
        all->push_back(local);
    const unsigned long count = item.card();
    for (unsigned long i = 0; i < count; ++i) {
        DcmElement *elem = item.getElement(i);
        if (elem != nullptr && elem->ident() == EVR_SQ) {
            DcmSequenceOfItems *seq = static_cast<DcmSequenceOfItems *>(elem);
            const unsigned long items = seq->card();
            for (unsigned long j = 0; j < items; ++j) {
                DcmItem *sub = seq->getItem(j);
                if (sub != nullptr)
                    collectTerms(*sub, all);
            }
        }
    }
}

bool isKanjiTerm(const std::string &t) { return t == "ISO 2022 IR 87" || t == "ISO 2022 IR 159"; }

bool isHandledTerm(const std::string &t) {
    return t.empty() || t == "ISO 2022 IR 6" || t == "ISO_IR 6" || t == "ISO 2022 IR 13" || t == "ISO_IR 13" ||
           isKanjiTerm(t);
}

bool startsWithKatakana(const Terms &terms) {
    return !terms.empty() && (terms[0] == "ISO 2022 IR 13" || terms[0] == "ISO_IR 13");
}

void appendUTF8(std::string &out, unsigned int cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class EucJpConverter {
public:
    EucJpConverter() : cd_(iconv_open("UTF-8", "EUC-JP")) {}
    ~EucJpConverter() {
        if (ok())
            iconv_close(cd_);
    }
    EucJpConverter(const EucJpConverter &) = delete;
    EucJpConverter &operator=(const EucJpConverter &) = delete;

    bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

    // Appends the UTF-8 form of the EUC-JP bytes to out.
    bool convert(const std::string &euc, std::string &out) {
        if (euc.empty())
            return true;
        iconv(cd_, nullptr, nullptr, nullptr, nullptr);
        std::vector<char> buffer(euc.size() * 2 + 16);
        char *in = const_cast<char *>(euc.data());
        size_t inLeft = euc.size();
        char *outPtr = buffer.data();
        size_t outLeft = buffer.size();
        if (iconv(cd_, &in, &inLeft, &outPtr, &outLeft) == static_cast<size_t>(-1) || inLeft != 0)
            return false;
        out.append(buffer.data(), static_cast<size_t>(outPtr - buffer.data()));
        return true;
    }

private:
    iconv_t cd_;
};

enum class G0 { ascii, roman, jisX0208, jisX0212 };

// Decodes one element value (all its values, delimiters included) into UTF-8.
bool decodeValue(const char *s, size_t n, const char *delimiters, bool katakanaDefault, EucJpConverter &conv,
                 std::string &out, std::string *reason) {
    const G0 defaultG0 = katakanaDefault ? G0::roman : G0::ascii;
    G0 g0 = defaultG0;
    bool g1Katakana = katakanaDefault;
    std::string euc; // pending run of two-byte characters, as EUC-JP
    auto flush = [&]() -> bool {
        if (!conv.convert(euc, out)) {
            *reason = "invalid JIS X 0208/0212 character in an ISO 2022 value";
            return false;
        }
        euc.clear();
        return true;
    };
    size_t i = 0;
    while (i < n) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == 0x1B) { // escape sequence: designate a character set
            if (!flush())
                return false;
            if (i + 2 < n && s[i + 1] == '(' && s[i + 2] == 'B') {
                g0 = G0::ascii;
                i += 3;
            } else if (i + 2 < n && s[i + 1] == '(' && s[i + 2] == 'J') {
                g0 = G0::roman;
                i += 3;
            } else if (i + 2 < n && s[i + 1] == ')' && s[i + 2] == 'I') {
                g1Katakana = true;
                i += 3;
            } else if (i + 2 < n && s[i + 1] == '$' && (s[i + 2] == 'B' || s[i + 2] == '@')) {
                g0 = G0::jisX0208;
                i += 3;
            } else if (i + 3 < n && s[i + 1] == '$' && s[i + 2] == '(' && s[i + 3] == 'D') {
                g0 = G0::jisX0212;
                i += 4;
            } else {
                *reason = "unsupported ISO 2022 escape sequence in a Japanese value";
                return false;
            }
            continue;
        }
        if ((g0 == G0::jisX0208 || g0 == G0::jisX0212) && c >= 0x21 && c <= 0x7E) {
            if (i + 1 >= n) {
                *reason = "incomplete two-byte character in an ISO 2022 value";
                return false;
            }
            const unsigned char d = static_cast<unsigned char>(s[i + 1]);
            if (d < 0x21 || d > 0x7E) {
                *reason = "invalid two-byte character in an ISO 2022 value";
                return false;
            }
            if (g0 == G0::jisX0212)
                euc += static_cast<char>(0x8F);
            euc += static_cast<char>(c | 0x80);
            euc += static_cast<char>(d | 0x80);
            i += 2;
            continue;
        }
        if (!flush())
            return false;
        if (c < 0x80) {
            const bool multiByte = (g0 == G0::jisX0208 || g0 == G0::jisX0212);
            const bool control = (c == '\r' || c == '\n' || c == '\f' || c == '\t');
            const bool delimiter = !multiByte && (control || (c != 0 && std::strchr(delimiters, c) != nullptr));
            if (g0 == G0::roman && !delimiter && c == 0x5C)
                appendUTF8(out, 0x00A5); // JIS X 0201 Roman: YEN SIGN
            else if (g0 == G0::roman && c == 0x7E)
                appendUTF8(out, 0x203E); // JIS X 0201 Roman: OVERLINE
            else
                out += static_cast<char>(c);
            if (delimiter || (multiByte && control)) {
                g0 = defaultG0;
                g1Katakana = katakanaDefault;
            }
            ++i;
            continue;
        }
        if (g1Katakana && c >= 0xA1 && c <= 0xDF) {
            appendUTF8(out, 0xFF61 + (c - 0xA1));
            ++i;
            continue;
        }
        *reason = "byte outside the declared Japanese character sets";
        return false;
    }
    return flush();
}

} // namespace

bool needsJapaneseIso2022Fallback(DcmItem &dataset) {
    std::vector<Terms> all;
    collectTerms(dataset, &all);
    bool kanji = false;
    for (const Terms &terms : all) {
        for (const std::string &t : terms) {
            if (!isHandledTerm(t))
                return false;
            if (isKanjiTerm(t))
                kanji = true;
        }
    }
    return kanji;
}

bool convertJapaneseIso2022ToUTF8(DcmItem &dataset, std::string *reason) {
    EucJpConverter conv;
    if (!conv.ok()) {
        *reason = "iconv has no EUC-JP converter";
        return false;
    }
    // Phase 1: convert into a side list; nothing in the dataset changes yet.
    std::vector<std::pair<DcmElement *, std::string>> converted;
    bool failed = false;
    auto visit = [&](DcmElement *elem, const Terms &terms) {
        if (failed)
            return;
        char *raw = nullptr;
        Uint32 length = 0;
        if (elem->getLengthField() == 0)
            return;
        if (elem->getString(raw, length).bad()) {
            *reason = "cannot read a text value for charset conversion";
            failed = true;
            return;
        }
        if (raw == nullptr || length == 0)
            return;
        bool plain = true; // pure ASCII without escapes needs no work
        for (Uint32 k = 0; k < length && plain; ++k)
            plain = (static_cast<unsigned char>(raw[k]) < 0x80 && raw[k] != 0x1B);
        if (plain && !startsWithKatakana(terms))
            return;
        std::string out;
        if (!decodeValue(raw, length, delimitersFor(elem->ident()), startsWithKatakana(terms), conv, out, reason)) {
            failed = true;
            return;
        }
        converted.emplace_back(elem, std::move(out));
    };
    walk(dataset, Terms(), visit);
    if (failed)
        return false;

    // Phase 2: write the converted values and the new SpecificCharacterSet values.
    for (auto &entry : converted) {
        if (entry.first->putString(entry.second.c_str(), static_cast<Uint32>(entry.second.size())).bad()) {
            *reason = "cannot store a converted text value";
            return false; // not reached in practice: putString on a byte string only copies
        }
    }
    std::vector<DcmItem *> itemsWithCharset;
    struct Finder {
        static void find(DcmItem &item, std::vector<DcmItem *> *found) {
            Terms ignored;
            if (ownTerms(item, &ignored))
                found->push_back(&item);
            const unsigned long count = item.card();
            for (unsigned long i = 0; i < count; ++i) {
                DcmElement *elem = item.getElement(i);
                if (elem != nullptr && elem->ident() == EVR_SQ) {
                    DcmSequenceOfItems *seq = static_cast<DcmSequenceOfItems *>(elem);
                    for (unsigned long j = 0; j < seq->card(); ++j)
                        if (DcmItem *sub = seq->getItem(j))
                            find(*sub, found);
                }
            }
        }
    };
    Finder::find(dataset, &itemsWithCharset);
    for (DcmItem *item : itemsWithCharset)
        item->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    dataset.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    return true;
}

} // namespace cdcm_detail
