// cdcm_internal.h — private declarations shared by the shim's C++ files (not part of the C API).
#ifndef CDCM_INTERNAL_H
#define CDCM_INTERNAL_H

#include "cdcm.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <cstdio>
#include <exception>
#include <new>
#include <vector>

// The dataset handle of cdcm.h. Defined here so that every file of the shim can create and read it.
struct cdcm_dataset {
    std::unique_ptr<DcmFileFormat> file;
    std::deque<std::string> strings; // every string handed out; a deque never moves its elements
    std::string transferSyntax;
    std::string charsetWarning;
    std::vector<uint32_t> topLevelTags; // filled by cdcm_dataset_top_level_tags (cdcm_net.cpp)
    uint32_t flags = 0;
    bool part10 = false;       // 128-byte preamble followed by "DICM" in the source bytes
    bool converted = false;    // text values are UTF-8 (converted or already UTF-8/ASCII)
    bool hasWarning = false;   // charsetWarning holds the reason the conversion failed
};

// The byte buffer of cdcm.h (Part 10 files, JSON text).
struct cdcm_buffer {
    std::vector<uint8_t> bytes;
};

namespace cdcm_detail {

// Errors: every entry point clears *error on entry and fills it on failure (error may be NULL).
inline void clearError(cdcm_error *error) {
    if (error != nullptr) {
        error->status = CDCM_OK;
        error->message[0] = '\0';
    }
}

inline int32_t fail(cdcm_error *error, int32_t status, const std::string &message) {
    if (error != nullptr) {
        error->status = status;
        std::snprintf(error->message, sizeof(error->message), "%s", message.c_str());
    }
    return status;
}

// Called inside a catch block: turns the exception in flight into CDCM_ERR_INTERNAL with its text.
inline int32_t internalFailure(cdcm_error *error, const char *where) {
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return fail(error, CDCM_ERR_INTERNAL, std::string(where) + ": out of memory");
    } catch (const std::exception &e) {
        return fail(error, CDCM_ERR_INTERNAL, std::string(where) + ": C++ exception: " + e.what());
    } catch (...) {
        return fail(error, CDCM_ERR_INTERNAL, std::string(where) + ": unknown C++ exception");
    }
}

// DCMTK's one-time initialisation (dictionary check, decoder registration), as every entry
// point of cdcm.h runs it: CDCM_OK, or the failure (also written to *error when not NULL).
int32_t ensureInitialized(cdcm_error *error);

// The preamble of a call that hands out a buffer: clear the error and *out, initialise DCMTK.
inline int32_t beginBufferCall(cdcm_error *error, cdcm_buffer **out) {
    clearError(error);
    if (out != nullptr)
        *out = nullptr;
    return ensureInitialized(error);
}

// Debian's DCMTK 3.6.7 converts character sets with glibc's iconv, which has no converter for the
// names DCMTK asks for with ISO 2022 IR 87 / IR 159 (JIS X 0208 / JIS X 0212 Kanji):
// convertToUTF8() then fails with "Cannot open character encoding". These two functions are the
// shim's own fallback for the Japanese ISO 2022 character sets only.

// True when some SpecificCharacterSet (0008,0005) in the dataset (top level or inside an item)
// names ISO 2022 IR 87 or IR 159 and every term used anywhere is one the fallback handles
// ("", ISO 2022 IR 6, ISO_IR 6, ISO 2022 IR 13, ISO_IR 13, ISO 2022 IR 87, ISO 2022 IR 159).
bool needsJapaneseIso2022Fallback(DcmItem &dataset);

// Converts every SH, LO, ST, LT, PN, UC and UT value in the dataset (and nested items) from the
// Japanese ISO 2022 encodings to UTF-8 and sets each SpecificCharacterSet to "ISO_IR 192".
// All-or-nothing: values are first converted into a side list and written back only when all of
// them converted, so on failure (false, *reason set, never patient data) the dataset is unchanged.
bool convertJapaneseIso2022ToUTF8(DcmItem &dataset, std::string *reason);

} // namespace cdcm_detail

#endif
