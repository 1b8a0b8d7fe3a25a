// cdcm.cpp — implementation of the C API in include/cdcm.h over DCMTK 3.6.7.
//
// Every extern "C" function catches all C++ exceptions and turns them into CDCM_ERR_INTERNAL.
// DCMTK is initialised once (std::call_once) and every entry point that needs DCMTK calls
// ensureInitialized(), which is a cheap check after the first call.

#include "cdcm.h"
#include "cdcm_internal.h"
#include "cdcm_j2k.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dcistrmf.h"
#include "dcmtk/dcmdata/dcostrmb.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcwcache.h"
#include "dcmtk/dcmimage/diregist.h" // registers the colour image plug-in of dcmimage
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Handles

// struct cdcm_dataset is defined in cdcm_internal.h (shared with cdcm_net.cpp).


namespace {

constexpr uint32_t kKnownFlags = CDCM_LOAD_SKIP_PIXEL_DATA | CDCM_LOAD_NO_UTF8;

// ---------------------------------------------------------------------------------------------
// Errors

using cdcm_detail::clearError;
using cdcm_detail::fail;

// strerror_r comes in a GNU flavour (returns char *) and an XSI flavour (returns int).
inline const char *pickErrorText(int rc, const char *buffer) { return rc == 0 ? buffer : "unknown error"; }
inline const char *pickErrorText(const char *text, const char *) { return text; }

std::string systemErrorText(int code) {
    char buffer[256];
    buffer[0] = '\0';
    return pickErrorText(strerror_r(code, buffer, sizeof(buffer)), buffer);
}

using cdcm_detail::internalFailure;

// ---------------------------------------------------------------------------------------------
// One-time initialisation

std::once_flag gInitOnce;
int32_t gInitStatus = CDCM_ERR_INIT;
std::string gInitMessage; // written once inside call_once, read-only afterwards

void initializeOnce() {
    try {
        // DCMTK logs parse problems to stderr by default; the Swift side reports errors itself.
        // Only DCMTK's own logger tree ("dcmtk.*") is silenced, not the whole process.
        OFLog::getLogger("dcmtk").setLogLevel(OFLogger::OFF_LOG_LEVEL);

        // Debian's DCMTK has no built-in dictionary: the global one loads dicom.dic (or the files in
        // DCMDICTPATH) lazily, under its lock, on first access.
        const DcmDataDictionary &dictionary = dcmDataDict.rdlock();
        const bool loaded = dictionary.isDictionaryLoaded();
        dcmDataDict.rdunlock();
        if (!loaded) {
            const char *env = std::getenv("DCMDICTPATH");
            gInitMessage = std::string("DICOM data dictionary not loaded: install DCMTK's dicom.dic "
                                       "(Debian: package libdcmtk17, /usr/share/libdcmtk17/dicom.dic) or set "
                                       "DCMDICTPATH to its path (DCMDICTPATH is ") +
                           (env != nullptr ? std::string("\"") + env + "\")" : std::string("not set)"));
            gInitStatus = CDCM_ERR_INIT;
            return;
        }
        // A known attribute received as UN (forwarded by a system that did not know it) is read
        // with its dictionary VR (PS3.5 6.2.2: a UN value is implicit VR little endian), as
        // dcmdump +uc does: an identifying attribute sent so would otherwise be "missing".
        // Received files are stored as they came; this changes only how they are read.
        dcmEnableUnknownVRConversion.set(OFTrue);
        DJDecoderRegistration::registerCodecs();      // JPEG baseline/extended/lossless
        DJLSDecoderRegistration::registerCodecs();    // JPEG-LS
        DcmRLEDecoderRegistration::registerCodecs();  // RLE
        gInitStatus = CDCM_OK;
    } catch (...) {
        gInitStatus = CDCM_ERR_INIT;
        gInitMessage = "DCMTK initialisation failed with a C++ exception";
    }
}

int32_t ensureInitialized(cdcm_error *error) {
    std::call_once(gInitOnce, initializeOnce);
    if (gInitStatus != CDCM_OK)
        return fail(error, gInitStatus, gInitMessage);
    return CDCM_OK;
}

// ---------------------------------------------------------------------------------------------
// Input sources: a file (read lazily by DCMTK) or caller-owned memory (borrowed for the call)

class Source {
public:
    virtual ~Source() = default;
    virtual uint64_t size() const = 0;
    virtual bool readAt(uint64_t offset, void *destination, size_t count) const = 0;
    // A fresh DCMTK stream over the whole input; nullptr (and *status) when it cannot be opened.
    virtual std::unique_ptr<DcmInputStream> openStream(OFCondition *status) const = 0;

    bool hasPreambleAndMagic() const {
        char magic[4];
        return size() >= 132 && readAt(128, magic, 4) && std::memcmp(magic, "DICM", 4) == 0;
    }
};

class MemorySource final : public Source {
public:
    MemorySource(const void *bytes, size_t length) : bytes_(static_cast<const uint8_t *>(bytes)), length_(length) {}
    uint64_t size() const override { return length_; }
    bool readAt(uint64_t offset, void *destination, size_t count) const override {
        if (offset > length_ || count > length_ - offset)
            return false;
        std::memcpy(destination, bytes_ + offset, count);
        return true;
    }
    std::unique_ptr<DcmInputStream> openStream(OFCondition *status) const override {
        // DcmInputBufferStream has no stream factory, so DCMTK reads every value into memory
        // during the parse: nothing refers to the caller's bytes once the call returns.
        std::unique_ptr<DcmInputBufferStream> stream(new DcmInputBufferStream());
        stream->setBuffer(bytes_, static_cast<offile_off_t>(length_));
        stream->setEos();
        *status = EC_Normal;
        return std::unique_ptr<DcmInputStream>(stream.release());
    }

private:
    const uint8_t *bytes_;
    size_t length_;
};

class FileSource final : public Source {
public:
    explicit FileSource(std::string path) : path_(std::move(path)) {}
    ~FileSource() override {
        if (fd_ >= 0)
            ::close(fd_);
    }
    FileSource(const FileSource &) = delete;
    FileSource &operator=(const FileSource &) = delete;

    // Opens the file for our own reads (preamble, truncation check); "" or the failure text.
    std::string open() {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0)
            return systemErrorText(errno);
        struct stat st;
        if (::fstat(fd_, &st) != 0)
            return systemErrorText(errno);
        if (S_ISDIR(st.st_mode))
            return "is a directory";
        if (!S_ISREG(st.st_mode))
            return "not a regular file";
        size_ = static_cast<uint64_t>(st.st_size);
        return std::string();
    }
    uint64_t size() const override { return size_; }
    bool readAt(uint64_t offset, void *destination, size_t count) const override {
        char *out = static_cast<char *>(destination);
        while (count > 0) {
            const ssize_t n = ::pread(fd_, out, count, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return false;
            out += n;
            offset += static_cast<uint64_t>(n);
            count -= static_cast<size_t>(n);
        }
        return true;
    }
    std::unique_ptr<DcmInputStream> openStream(OFCondition *status) const override {
        // A file stream gives DCMTK a stream factory: values longer than DCM_MaxReadLength
        // (4 KiB, typically pixel data) are read later, from this path, on first access.
        std::unique_ptr<DcmInputFileStream> stream(new DcmInputFileStream(path_.c_str()));
        *status = stream->status();
        if (status->bad())
            return nullptr;
        return std::unique_ptr<DcmInputStream>(stream.release());
    }

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Truncation check for CDCM_LOAD_SKIP_PIXEL_DATA
//
// readUntilTag(..., DCM_PixelData) stops after reading the tag and length of the first top-level
// element at or after (7FE0,0010) and reports success without looking at its value, so a file cut
// inside its pixel data would load "fine". DCMTK leaves the stream just behind that element's
// header; this function finds the header right before `position` and checks that the value (or,
// for encapsulated pixel data, the chain of fragment items up to the sequence delimiter) lies
// within the input. Returns "" when complete, else a description of the damage.

uint16_t get16(const uint8_t *p, bool bigEndian) {
    return bigEndian ? static_cast<uint16_t>((p[0] << 8) | p[1]) : static_cast<uint16_t>(p[0] | (p[1] << 8));
}

uint32_t get32(const uint8_t *p, bool bigEndian) {
    return bigEndian ? (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3])
                     : uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

bool isLongFormVR(const uint8_t *vr) {
    static const char *const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV",
                                        "UC", "UN", "UR", "UT", "UV"};
    for (const char *candidate : kLong)
        if (vr[0] == static_cast<uint8_t>(candidate[0]) && vr[1] == static_cast<uint8_t>(candidate[1]))
            return true;
    return false;
}

bool isUpperAlpha(uint8_t c) { return c >= 'A' && c <= 'Z'; }

std::string checkElementAtStop(const Source &source, uint64_t position, E_TransferSyntax xfer) {
    const DcmXfer transfer(xfer);
    if (transfer.getStreamCompression() != ESC_none)
        return std::string(); // deflated: stream positions are not file offsets, cannot check cheaply
    const bool big = transfer.getByteOrder() == EBO_BigEndian;
    uint32_t tag = 0;
    uint32_t length = 0;
    bool found = false;
    uint8_t header[12];
    if (transfer.isExplicitVR() && position >= 12 && source.readAt(position - 12, header, 12) &&
        isLongFormVR(header + 4) && header[6] == 0 && header[7] == 0) {
        tag = (uint32_t(get16(header, big)) << 16) | get16(header + 2, big);
        length = get32(header + 8, big);
        found = tag >= 0x7FE00010u;
    }
    if (!found && position >= 8 && source.readAt(position - 8, header, 8)) {
        tag = (uint32_t(get16(header, big)) << 16) | get16(header + 2, big);
        if (transfer.isExplicitVR()) {
            if (isUpperAlpha(header[4]) && isUpperAlpha(header[5]) && !isLongFormVR(header + 4)) {
                length = get16(header + 6, big);
                found = tag >= 0x7FE00010u;
            }
        } else {
            length = get32(header + 4, big);
            found = tag >= 0x7FE00010u;
        }
    }
    if (!found)
        return "parsing stopped at an unexpected position before the pixel data";
    const uint64_t size = source.size();
    if (length != 0xFFFFFFFFu) {
        if (position + length > size)
            return "truncated: the value of the element at the end of the dataset extends past the end of the input";
        return std::string();
    }
    if (tag != 0x7FE00010u)
        return std::string(); // undefined-length sequence after the pixel data: not checked
    // Encapsulated pixel data: walk the fragment items up to the sequence delimitation item.
    uint64_t p = position;
    for (;;) {
        uint8_t item[8];
        if (!source.readAt(p, item, 8))
            return "truncated: encapsulated pixel data ends before its sequence delimitation item";
        const uint32_t itemTag = (uint32_t(get16(item, big)) << 16) | get16(item + 2, big);
        const uint32_t itemLength = get32(item + 4, big);
        if (itemTag == 0xFFFEE0DDu)
            return std::string();
        if (itemTag != 0xFFFEE000u || itemLength == 0xFFFFFFFFu)
            return "malformed encapsulated pixel data (expected a fragment item)";
        p += 8 + uint64_t(itemLength);
        if (p > size)
            return "truncated: a pixel data fragment extends past the end of the input";
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

// Parses the whole source into `file`. On success the file format holds a complete object:
// - DCMTK's own error for anything it cannot parse. Checked in 3.6.7: a truncated file (cut in the
//   meta header, in a dataset element, in a sequence, in pixel data) fails with "I/O suspension or
//   premature end of stream" (EC_StreamNotifyClient), "Invalid stream" or "Sequence Delimitation
//   Item missing"; an empty input with "End of stream"; random bytes and text files fail the same
//   way, because the first "element" claims a length larger than the input.
// - The stream must be at its end after a full parse (defensive: nothing silently left unread).
// - With CDCM_LOAD_SKIP_PIXEL_DATA, checkElementAtStop() verifies the element DCMTK stopped at.
// - Input without the preamble + "DICM" is accepted only if it parsed into a dataset with a
//   non-empty SOP Instance UID: a few random bytes (e.g. 128 zero bytes) can parse as "elements".
int32_t parseSource(const Source &source, bool part10, uint32_t flags, std::unique_ptr<DcmFileFormat> *result,
                    cdcm_error *error) {
    const bool skipPixels = (flags & CDCM_LOAD_SKIP_PIXEL_DATA) != 0;
    if (source.size() == 0)
        return fail(error, CDCM_ERR_PARSE, "not DICOM: the input is empty (0 bytes)");
    OFCondition status;
    std::unique_ptr<DcmInputStream> stream = source.openStream(&status);
    if (!stream)
        return fail(error, CDCM_ERR_IO, std::string("cannot open the file: ") + status.text());

    std::unique_ptr<DcmFileFormat> file(new DcmFileFormat());
    file->transferInit();
    OFCondition cond = skipPixels ? file->readUntilTag(*stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                                       DCM_PixelData)
                                  : file->read(*stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    file->transferEnd();
    if (cond.bad())
        return fail(error, CDCM_ERR_PARSE,
                    std::string("not DICOM, or damaged/truncated DICOM: ") + cond.text());

    if (!stream->eos()) {
        if (!skipPixels)
            return fail(error, CDCM_ERR_PARSE, "not DICOM, or damaged DICOM: parsing stopped before the end of the input");
        const std::string damage = checkElementAtStop(source, static_cast<uint64_t>(stream->tell()),
                                                      file->getDataset()->getOriginalXfer());
        if (!damage.empty())
            return fail(error, CDCM_ERR_PARSE, "damaged DICOM: " + damage);
    }

    if (!part10) {
        DcmDataset *dataset = file->getDataset();
        DcmElement *sop = nullptr;
        if (dataset->card() == 0 || dataset->findAndGetElement(DCM_SOPInstanceUID, sop, OFFalse).bad() ||
            sop == nullptr || sop->getLength() == 0)
            return fail(error, CDCM_ERR_PARSE,
                        "not a DICOM file: no preamble/\"DICM\" and no SOP Instance UID (0008,0018)");
    }
    *result = std::move(file);
    return CDCM_OK;
}

/// The defined term (PS3.3 C.12.1.1.2) that a common misspelling of a single-valued
/// SpecificCharacterSet names (`ISO-8859-1`, `UTF-8`, `ISO_IR100` ...), or nullptr. Letters are
/// compared without case, spaces, `-` and `_`.
const char *definedCharacterSetTerm(const OFString &value) {
    std::string key;
    for (const char c : std::string(value.c_str())) {
        if (c != ' ' && c != '-' && c != '_')
            key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    static const std::pair<const char *, const char *> aliases[] = {
        {"ISO88591", "ISO_IR 100"}, {"LATIN1", "ISO_IR 100"}, {"ISOIR100", "ISO_IR 100"},
        {"ISO88592", "ISO_IR 101"}, {"ISOIR101", "ISO_IR 101"}, {"ISO88595", "ISO_IR 144"}, {"ISOIR144", "ISO_IR 144"},
        {"ISO88596", "ISO_IR 127"}, {"ISOIR127", "ISO_IR 127"}, {"ISO88597", "ISO_IR 126"}, {"ISOIR126", "ISO_IR 126"},
        {"ISO88598", "ISO_IR 138"}, {"ISOIR138", "ISO_IR 138"}, {"ISO88599", "ISO_IR 148"}, {"ISOIR148", "ISO_IR 148"},
        {"TIS620", "ISO_IR 166"}, {"ISOIR166", "ISO_IR 166"}, {"UTF8", "ISO_IR 192"}, {"ISOIR192", "ISO_IR 192"},
    };
    for (const auto &alias : aliases) {
        if (key == alias.first)
            return alias.second;
    }
    return nullptr;
}

/// A single SpecificCharacterSet value that is not a defined term but a common spelling of one is
/// taken as that term, so that the text is converted rather than left undecodable.
void correctMisspeltCharacterSet(DcmDataset &dataset) {
    OFString value;
    if (dataset.findAndGetOFStringArray(DCM_SpecificCharacterSet, value, OFFalse).bad() || value.empty() ||
        value.find('\\') != OFString_npos)
        return;
    if (const char *term = definedCharacterSetTerm(value); term != nullptr && value != term)
        dataset.putAndInsertString(DCM_SpecificCharacterSet, term);
}

/// The items (as sequence and position) that declare a SpecificCharacterSet of their own, which
/// then applies to their text and their nested items' (PS3.5 6.1.2.5.2) — deepest first.
void itemsWithOwnCharacterSet(DcmItem &item, std::vector<std::pair<DcmSequenceOfItems *, unsigned long>> &found) {
    for (unsigned long i = 0; i < item.card(); ++i) {
        DcmElement *element = item.getElement(i);
        if (element == nullptr || element->ident() != EVR_SQ)
            continue;
        auto *sequence = static_cast<DcmSequenceOfItems *>(element);
        for (unsigned long j = 0; j < sequence->card(); ++j) {
            DcmItem *child = sequence->getItem(j);
            if (child == nullptr)
                continue;
            itemsWithOwnCharacterSet(*child, found);
            if (child->tagExists(DCM_SpecificCharacterSet, OFFalse))
                found.emplace_back(sequence, j);
        }
    }
}

void putItem(DcmSequenceOfItems &sequence, DcmItem *item, unsigned long position) {
    if (position >= sequence.card())
        sequence.append(item);
    else
        sequence.insert(item, position, OFTrue);
}

/// Converts the data set's text to UTF-8 like DcmFileFormat::convertToUTF8, and also the text of
/// items that declare a character set of their own, with theirs: DCMTK (3.6.7) converts every
/// item with the data set's. Each such item is converted by itself, and an empty item stands in
/// for it while the rest is converted. An item that cannot be converted is left to the data
/// set's conversion (as before).
OFCondition convertToUTF8WithItemCharacterSets(DcmFileFormat &file) {
    std::vector<std::pair<DcmSequenceOfItems *, unsigned long>> found;
    itemsWithOwnCharacterSet(*file.getDataset(), found);
    std::vector<std::pair<std::pair<DcmSequenceOfItems *, unsigned long>, DcmItem *>> setAside;
    for (const auto &[sequence, position] : found) {
        DcmItem *item = sequence->getItem(position);
        OFString charset;
        item->findAndGetOFStringArray(DCM_SpecificCharacterSet, charset, OFFalse);
        if (const char *term = definedCharacterSetTerm(charset))
            charset = term;
        if (item->convertCharacterSet(charset, "ISO_IR 192", 0, OFTrue).bad())
            continue;
        sequence->remove(position);
        putItem(*sequence, new DcmItem(), position);
        setAside.push_back({{sequence, position}, item});
    }
    const OFCondition cond = file.convertToUTF8();
    for (auto it = setAside.rbegin(); it != setAside.rend(); ++it) {
        auto [sequence, position] = it->first;
        delete sequence->remove(position);
        putItem(*sequence, it->second, position);
    }
    return cond;
}

int32_t openFrom(const Source &source, uint32_t flags, cdcm_dataset **out, cdcm_error *error) {
    std::unique_ptr<cdcm_dataset> handle(new cdcm_dataset());
    handle->flags = flags;
    handle->part10 = source.hasPreambleAndMagic();
    int32_t status = parseSource(source, handle->part10, flags, &handle->file, error);
    if (status != CDCM_OK)
        return status;

    if ((flags & CDCM_LOAD_NO_UTF8) == 0) {
        DcmDataset &dataset = *handle->file->getDataset();
        correctMisspeltCharacterSet(dataset);
        std::string warning;
        if (cdcm_detail::needsJapaneseIso2022Fallback(dataset)) {
            std::string reason;
            if (cdcm_detail::convertJapaneseIso2022ToUTF8(dataset, &reason))
                handle->converted = true;
            else
                warning = "text left in its original encoding (ISO 2022 Japanese): " + reason;
        } else {
            const OFCondition cond = convertToUTF8WithItemCharacterSets(*handle->file);
            if (cond.good())
                handle->converted = true;
            else
                warning = std::string("text left in its original encoding: ") + cond.text();
        }
        if (!handle->converted) {
            // A failed conversion may have changed some values already: parse again, unconverted.
            std::unique_ptr<DcmFileFormat> fresh;
            status = parseSource(source, handle->part10, flags | CDCM_LOAD_NO_UTF8, &fresh, error);
            if (status != CDCM_OK)
                return status;
            handle->file = std::move(fresh);
            handle->charsetWarning = warning;
            handle->hasWarning = true;
        }
    }

    OFString ts;
    if (handle->file->getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).good() && !ts.empty()) {
        handle->transferSyntax = ts.c_str();
    } else {
        const E_TransferSyntax xfer = handle->file->getDataset()->getOriginalXfer();
        if (xfer != EXS_Unknown)
            handle->transferSyntax = DcmXfer(xfer).getXferID();
    }
    *out = handle.release();
    return CDCM_OK;
}

// ---------------------------------------------------------------------------------------------
// Paths

DcmTagKey tagKey(uint32_t tag) { return DcmTagKey(static_cast<Uint16>(tag >> 16), static_cast<Uint16>(tag & 0xFFFFu)); }

// Resolves a path to its final element. CDCM_NOT_FOUND when an element or item is missing,
// CDCM_ERR_ARGUMENT for a malformed path or a step through an element that is not a sequence.
int32_t resolvePath(cdcm_dataset *handle, const cdcm_path &path, DcmElement **element) {
    if (path.depth == 0 || path.tags == nullptr || (path.depth > 1 && path.items == nullptr))
        return CDCM_ERR_ARGUMENT;
    DcmItem *current = (path.tags[0] >> 16) == 0x0002 ? static_cast<DcmItem *>(handle->file->getMetaInfo())
                                                       : static_cast<DcmItem *>(handle->file->getDataset());
    for (size_t level = 0; level + 1 < path.depth; ++level) {
        DcmElement *step = nullptr;
        if (current->findAndGetElement(tagKey(path.tags[level]), step, OFFalse).bad() || step == nullptr)
            return CDCM_NOT_FOUND;
        if (step->ident() != EVR_SQ)
            return CDCM_ERR_ARGUMENT;
        DcmSequenceOfItems *sequence = static_cast<DcmSequenceOfItems *>(step);
        if (path.items[level] >= sequence->card())
            return CDCM_NOT_FOUND;
        current = sequence->getItem(path.items[level]);
        if (current == nullptr)
            return CDCM_NOT_FOUND;
    }
    DcmElement *last = nullptr;
    if (current->findAndGetElement(tagKey(path.tags[path.depth - 1]), last, OFFalse).bad() || last == nullptr)
        return CDCM_NOT_FOUND;
    *element = last;
    return CDCM_OK;
}

enum class TextKind { string, number, tag, binary };

TextKind textKind(DcmEVR vr) {
    switch (vr) {
    case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT: case EVR_IS:
    case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST: case EVR_TM: case EVR_UC:
    case EVR_UI: case EVR_UR: case EVR_UT:
        return TextKind::string;
    case EVR_US: case EVR_SS: case EVR_UL: case EVR_SL: case EVR_FL: case EVR_FD: case EVR_SV:
    case EVR_UV: case EVR_up:
        return TextKind::number;
    case EVR_AT:
        return TextKind::tag;
    default: // OB, OW, OF, OD, OL, OV, UN, SQ, pixel data, pixel sequences, ox, lt, ...
        return TextKind::binary;
    }
}

} // namespace

int32_t cdcm_detail::ensureInitialized(cdcm_error *error) {
    return ::ensureInitialized(error);
}

// ---------------------------------------------------------------------------------------------
// C API

extern "C" {

int32_t cdcm_initialize(cdcm_error *error) {
    try {
        clearError(error);
        return ensureInitialized(error);
    } catch (...) {
        return internalFailure(error, "cdcm_initialize");
    }
}

int32_t cdcm_dataset_open_file(const char *path, uint32_t flags, cdcm_dataset **out, cdcm_error *error) {
    try {
        clearError(error);
        if (out != nullptr)
            *out = nullptr;
        int32_t status = ensureInitialized(error);
        if (status != CDCM_OK)
            return status;
        if (path == nullptr || out == nullptr)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_open_file: path and out must not be NULL");
        if ((flags & ~kKnownFlags) != 0)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_open_file: unknown flag bits");
        FileSource source(path);
        const std::string openError = source.open();
        if (!openError.empty())
            return fail(error, CDCM_ERR_IO, "cannot open the file: " + openError);
        return openFrom(source, flags, out, error);
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_open_file");
    }
}

int32_t cdcm_dataset_open_memory(const void *bytes, size_t length, uint32_t flags, cdcm_dataset **out,
                                 cdcm_error *error) {
    try {
        clearError(error);
        if (out != nullptr)
            *out = nullptr;
        int32_t status = ensureInitialized(error);
        if (status != CDCM_OK)
            return status;
        if (out == nullptr || (bytes == nullptr && length != 0))
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_open_memory: bytes and out must not be NULL");
        if ((flags & ~kKnownFlags) != 0)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_open_memory: unknown flag bits");
        static const uint8_t kNothing = 0;
        MemorySource source(bytes != nullptr ? bytes : &kNothing, length);
        return openFrom(source, flags, out, error);
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_open_memory");
    }
}

void cdcm_dataset_free(cdcm_dataset *dataset) {
    try {
        delete dataset;
    } catch (...) {
        // destructors of DCMTK objects do not throw; nothing sensible to report from a free
    }
}

int32_t cdcm_dataset_has_part10_header(const cdcm_dataset *dataset) {
    if (dataset == nullptr)
        return CDCM_ERR_ARGUMENT;
    return dataset->part10 ? 1 : 0;
}

int32_t cdcm_dataset_transfer_syntax(cdcm_dataset *dataset, const char **out) {
    try {
        if (out != nullptr)
            *out = nullptr;
        if (dataset == nullptr || out == nullptr)
            return CDCM_ERR_ARGUMENT;
        if (dataset->transferSyntax.empty())
            return CDCM_NOT_FOUND;
        *out = dataset->transferSyntax.c_str();
        return CDCM_OK;
    } catch (...) {
        return CDCM_ERR_INTERNAL;
    }
}

int32_t cdcm_dataset_charset_converted(cdcm_dataset *dataset, const char **warning) {
    try {
        if (warning != nullptr)
            *warning = nullptr;
        if (dataset == nullptr)
            return CDCM_ERR_ARGUMENT;
        if (warning != nullptr && dataset->hasWarning)
            *warning = dataset->charsetWarning.c_str();
        return dataset->converted ? 1 : 0;
    } catch (...) {
        return CDCM_ERR_INTERNAL;
    }
}

namespace {

// The common start of the readers: DCMTK initialised, arguments present, the element at path.
int32_t lookup(cdcm_dataset *dataset, cdcm_path path, bool outputGiven, DcmElement **element) {
    int32_t status = ensureInitialized(nullptr);
    if (status != CDCM_OK)
        return status;
    if (dataset == nullptr || !outputGiven)
        return CDCM_ERR_ARGUMENT;
    return resolvePath(dataset, path, element);
}

} // namespace

int32_t cdcm_dataset_get_string(cdcm_dataset *dataset, cdcm_path path, const char **out, size_t *length) {
    try {
        if (out != nullptr)
            *out = nullptr;
        if (length != nullptr)
            *length = 0;
        DcmElement *element = nullptr;
        const int32_t status = lookup(dataset, path, out != nullptr, &element);
        if (status != CDCM_OK)
            return status;
        const TextKind kind = textKind(element->ident());
        if (kind == TextKind::binary)
            return CDCM_NOT_STRING;
        if (element->getLength() == 0)
            return CDCM_EMPTY;

        OFString text;
        if (kind == TextKind::tag) {
            // AT as DICOM JSON writes it: 8 upper-case hex digits per value, e.g. "00100010".
            DcmAttributeTag *at = static_cast<DcmAttributeTag *>(element);
            const unsigned long vm = at->getVM();
            for (unsigned long i = 0; i < vm; ++i) {
                DcmTagKey key;
                if (at->getTagVal(key, i).bad())
                    return CDCM_ERR_INTERNAL;
                char hex[16];
                std::snprintf(hex, sizeof(hex), "%04X%04X", key.getGroup(), key.getElement());
                if (i > 0)
                    text += '\\';
                text += hex;
            }
        } else {
            const bool wasLoaded = element->valueLoaded();
            if (element->getOFStringArray(text, OFTrue).bad())
                return wasLoaded ? CDCM_ERR_INTERNAL : CDCM_ERR_IO; // IO: lazily read value, file gone
        }
        if (text.empty())
            return CDCM_EMPTY; // only padding
        dataset->strings.emplace_back(text.c_str(), text.length());
        *out = dataset->strings.back().c_str();
        if (length != nullptr)
            *length = dataset->strings.back().size();
        return CDCM_OK;
    } catch (...) {
        return CDCM_ERR_INTERNAL;
    }
}

int32_t cdcm_dataset_sequence_count(cdcm_dataset *dataset, cdcm_path path, size_t *count) {
    try {
        if (count != nullptr)
            *count = 0;
        DcmElement *element = nullptr;
        const int32_t status = lookup(dataset, path, count != nullptr, &element);
        if (status != CDCM_OK)
            return status;
        if (element->ident() != EVR_SQ)
            return CDCM_ERR_ARGUMENT;
        *count = static_cast<DcmSequenceOfItems *>(element)->card();
        return CDCM_OK;
    } catch (...) {
        return CDCM_ERR_INTERNAL;
    }
}

namespace {

// Writes a whole object as a Part 10 file in `xfer` (its values already in memory).
int32_t serializePart10(DcmFileFormat &file, E_TransferSyntax xfer, cdcm_buffer **out, cdcm_error *error) {
    std::unique_ptr<cdcm_buffer> buffer(new cdcm_buffer());
    std::vector<uint8_t> chunk(1u << 20);
    DcmOutputBufferStream stream(chunk.data(), static_cast<offile_off_t>(chunk.size()));
    DcmWriteCache cache;
    OFCondition cond;
    // The buffer stream has a fixed size: DCMTK returns EC_StreamNotifyClient when it is full;
    // take the bytes out and call write() again until it finishes.
    auto drain = [&]() -> offile_off_t {
        void *bytes = nullptr;
        offile_off_t filled = 0;
        stream.flushBuffer(bytes, filled);
        if (filled > 0) {
            const uint8_t *begin = static_cast<const uint8_t *>(bytes);
            buffer->bytes.insert(buffer->bytes.end(), begin, begin + filled);
        }
        return filled;
    };
    file.transferInit();
    do {
        cond = file.write(stream, xfer, EET_ExplicitLength, &cache, EGL_recalcGL, EPD_noChange, 0, 0, 0,
                          EWM_updateMeta);
        drain();
    } while (cond == EC_StreamNotifyClient);
    file.transferEnd();
    if (cond.bad())
        return fail(error, CDCM_ERR_IO, std::string("cannot serialise the dataset: ") + cond.text());
    // A deflate filter (transfer syntax 1.2.840.10008.1.2.1.99) keeps compressed bytes until
    // flushed: flush and drain until the whole filter chain is empty.
    for (int idle = 0;;) {
        stream.flush();
        const offile_off_t drained = drain();
        if (stream.isFlushed())
            break;
        idle = drained > 0 ? 0 : idle + 1;
        if (idle > 16)
            return fail(error, CDCM_ERR_INTERNAL, "cdcm_dataset_write_part10: output stream does not flush");
    }
    if (stream.status().bad())
        return fail(error, CDCM_ERR_IO, std::string("cannot serialise the dataset: ") + stream.status().text());
    if (buffer->bytes.size() < 132 || std::memcmp(buffer->bytes.data() + 128, "DICM", 4) != 0)
        return fail(error, CDCM_ERR_INTERNAL, "cdcm_dataset_write_part10: DCMTK wrote no preamble/\"DICM\"");
    *out = buffer.release();
    return CDCM_OK;
}

// The checks both writers share: a complete object, text in its original encoding, all values loaded.
int32_t prepareForWriting(cdcm_dataset *dataset, cdcm_buffer **out, cdcm_error *error, const char *where) {
    int32_t status = cdcm_detail::beginBufferCall(error, out);
    if (status != CDCM_OK)
        return status;
    if (dataset == nullptr || out == nullptr)
        return fail(error, CDCM_ERR_ARGUMENT, std::string(where) + ": dataset and out must not be NULL");
    if ((dataset->flags & CDCM_LOAD_NO_UTF8) == 0)
        return fail(error, CDCM_ERR_ARGUMENT,
                    std::string(where) + ": open the dataset with CDCM_LOAD_NO_UTF8 (text converted "
                    "to UTF-8 must not be stored)");
    if ((dataset->flags & CDCM_LOAD_SKIP_PIXEL_DATA) != 0)
        return fail(error, CDCM_ERR_ARGUMENT,
                    std::string(where) + ": the dataset was opened with CDCM_LOAD_SKIP_PIXEL_DATA and is incomplete");
    // Values of a file-backed handle longer than 4 KiB are still in the file. If it is gone,
    // DCMTK 3.6.7's write() skips such a value and still reports success (checked: a 512 KiB
    // pixel data element vanished from the output), so load everything first and check.
    const OFCondition loaded = dataset->file->loadAllDataIntoMemory();
    if (loaded.bad())
        return fail(error, CDCM_ERR_IO, std::string("cannot read the dataset's values from its file: ") + loaded.text());
    return CDCM_OK;
}

} // namespace

int32_t cdcm_dataset_write_part10(cdcm_dataset *dataset, cdcm_buffer **out, cdcm_error *error) {
    try {
        const int32_t status = prepareForWriting(dataset, out, error, "cdcm_dataset_write_part10");
        if (status != CDCM_OK)
            return status;
        const E_TransferSyntax xfer = dataset->file->getDataset()->getOriginalXfer();
        if (xfer == EXS_Unknown)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_write_part10: unknown transfer syntax");
        return serializePart10(*dataset->file, xfer, out, error);
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_write_part10");
    }
}

int32_t cdcm_dataset_write_part10_as(cdcm_dataset *dataset, const char *transfer_syntax_uid, cdcm_buffer **out,
                                     cdcm_error *error) {
    try {
        const int32_t status = prepareForWriting(dataset, out, error, "cdcm_dataset_write_part10_as");
        if (status != CDCM_OK)
            return status;
        const DcmXfer target(transfer_syntax_uid != nullptr ? transfer_syntax_uid : "");
        const E_TransferSyntax xfer = target.getXfer();
        if (xfer == EXS_Unknown || target.isEncapsulated())
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_write_part10_as: the target must be an uncompressed transfer syntax");
        DcmDataset *data = dataset->file->getDataset();
        std::string problem;
        if (!cdcm_detail::decodeJpeg2000IfEncapsulated(*dataset->file, &problem))
            return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_write_part10_as: the JPEG 2000 pixel data cannot be decoded: " + problem);
        if (data->chooseRepresentation(xfer, nullptr).bad() || !data->canWriteXfer(xfer))
            return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_write_part10_as: the pixel data cannot be decoded to " +
                                               std::string(target.getXferName()));
        return serializePart10(*dataset->file, xfer, out, error);
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_write_part10_as");
    }
}

const uint8_t *cdcm_buffer_bytes(const cdcm_buffer *buffer) {
    if (buffer == nullptr || buffer->bytes.empty())
        return nullptr;
    return buffer->bytes.data();
}

size_t cdcm_buffer_length(const cdcm_buffer *buffer) {
    return buffer == nullptr ? 0 : buffer->bytes.size();
}

void cdcm_buffer_free(cdcm_buffer *buffer) {
    delete buffer;
}

const char *cdcm_version(void) {
    return OFFIS_DCMTK_VERSION_STRING;
}

} // extern "C"
