// cdcm_json.cpp — a dataset as DICOM JSON (PS3.18 Annex F), for WADO-RS metadata.
#include "cdcm_internal.h"
#include "cdcm_j2k.h"

#include "dcmtk/dcmdata/dcjson.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcvr.h"
#include "dcmtk/dcmdata/dcfcache.h"

#include <map>
#include <set>
#include <sstream>

using cdcm_detail::clearError;
using cdcm_detail::fail;
using cdcm_detail::internalFailure;

namespace {

// Top-level binary values longer than the limit (and pixel data, always) become BulkDataURIs
// under the instance's URL (the bulkdata route serves top-level elements); values inside
// sequences stay inline. DCMTK asks per tag, so the tags are collected first.
class BulkDataFormat : public DcmJsonFormatCompact {
public:
    // `ordinals`: for each tag written as a BulkDataURI, which of its occurrences (in the order
    // DCMTK writes the dataset: depth first) is the top-level one. DCMTK asks by tag only, so an
    // icon's Pixel Data inside IconImageSequence must not take the image's URI.
    BulkDataFormat(std::string base, std::map<DcmTagKey, int> ordinals) : DcmJsonFormatCompact(OFTrue),
        base_(std::move(base)), ordinals_(std::move(ordinals)) {}

    OFBool asBulkDataURI(const DcmTagKey &tag, OFString &uri) override {
        auto found = ordinals_.find(tag);
        if (found == ordinals_.end())
            return OFFalse;
        if (++seen_[tag] != found->second)
            return OFFalse;
        char hex[16];
        std::snprintf(hex, sizeof(hex), "%04X%04X", tag.getGroup(), tag.getElement());
        uri = (base_ + "/bulkdata/" + hex).c_str();
        return OFTrue;
    }

private:
    std::string base_;
    std::map<DcmTagKey, int> ordinals_;
    std::map<DcmTagKey, int> seen_;
};

bool isBinary(DcmEVR vr) {
    switch (vr) {
    case EVR_OB: case EVR_OW: case EVR_OF: case EVR_OD: case EVR_OL: case EVR_UN:
    case EVR_pixelSQ: case EVR_ox: case EVR_px:
        return true;
    default:
        return false;
    }
}

// Top-level binary values longer than the limit, and pixel data.
void collectLarge(DcmItem &item, uint32_t limit, std::set<DcmTagKey> &tags) {
    for (unsigned long i = 0; i < item.card(); ++i) {
        DcmElement *element = item.getElement(i);
        if (element == nullptr)
            continue;
        const DcmTagKey key = element->getTag().getXTag();
        if (key == DCM_PixelData || key == DCM_FloatPixelData || key == DCM_DoubleFloatPixelData) {
            tags.insert(key);
        } else if (element->ident() != EVR_SQ && isBinary(element->ident()) && element->getLength() > limit) {
            tags.insert(key);
        }
    }
}

// Counts the occurrences of `tags` depth first and records which one is at the top level.
void numberOccurrences(DcmItem &item, int depth, const std::set<DcmTagKey> &tags, std::map<DcmTagKey, int> &count,
                       std::map<DcmTagKey, int> &topLevel) {
    for (unsigned long i = 0; i < item.card(); ++i) {
        DcmElement *element = item.getElement(i);
        if (element == nullptr)
            continue;
        const DcmTagKey key = element->getTag().getXTag();
        if (tags.count(key) != 0) {
            const int n = ++count[key];
            if (depth == 0)
                topLevel[key] = n;
        }
        if (element->ident() == EVR_SQ) {
            DcmSequenceOfItems *sequence = static_cast<DcmSequenceOfItems *>(element);
            for (unsigned long j = 0; j < sequence->card(); ++j)
                numberOccurrences(*sequence->getItem(j), depth + 1, tags, count, topLevel);
        }
    }
}

} // namespace

extern "C" int32_t cdcm_dataset_write_json(cdcm_dataset *dataset, const char *bulk_data_base, uint32_t inline_limit,
                                           cdcm_buffer **out, cdcm_error *error) {
    try {
        const int32_t status = cdcm_detail::beginBufferCall(error, out);
        if (status != CDCM_OK)
            return status;
        if (dataset == nullptr || !dataset->file || out == nullptr || bulk_data_base == nullptr)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_write_json: dataset, base and out must not be NULL");
        DcmDataset *data = dataset->file->getDataset();
        std::set<DcmTagKey> large;
        collectLarge(*data, inline_limit, large);
        std::map<DcmTagKey, int> count, topLevel;
        numberOccurrences(*data, 0, large, count, topLevel);
        BulkDataFormat format(bulk_data_base, topLevel);
        std::ostringstream stream;
        const OFCondition cond = data->writeJson(stream, format);
        if (cond.bad())
            return fail(error, CDCM_ERR_INTERNAL, std::string("cdcm_dataset_write_json: ") + cond.text());
        // DcmDataset::writeJson writes the attributes only; the object's braces are ours.
        std::string text = stream.str();
        size_t start = text.find_first_not_of(" \t\r\n");
        if (start == std::string::npos || text[start] != '{')
            text = "{" + text + "}";
        std::unique_ptr<cdcm_buffer> buffer(new cdcm_buffer());
        buffer->bytes.assign(text.begin(), text.end());
        *out = buffer.release();
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_write_json");
    }
}

// --- Bulk data and frames (WADO-RS) -------------------------------------------------------

extern "C" int32_t cdcm_dataset_element_bytes(cdcm_dataset *dataset, uint32_t tag, cdcm_buffer **out, cdcm_error *error) {
    try {
        const int32_t status = cdcm_detail::beginBufferCall(error, out);
        if (status != CDCM_OK)
            return status;
        if (dataset == nullptr || !dataset->file || out == nullptr)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_element_bytes: dataset and out must not be NULL");
        DcmElement *element = nullptr;
        const DcmTagKey key(static_cast<Uint16>(tag >> 16), static_cast<Uint16>(tag & 0xFFFF));
        if (dataset->file->getDataset()->findAndGetElement(key, element).bad() || element == nullptr)
            return fail(error, CDCM_NOT_FOUND, "cdcm_dataset_element_bytes: no such top-level element");
        if (element->ident() == EVR_SQ || element->ident() == EVR_pixelSQ)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_element_bytes: a sequence or encapsulated pixel data has no single value");
        Uint8 *bytes = nullptr;
        // Little endian, as DICOMweb bulk data is sent (octet-stream of the value).
        const OFCondition cond = element->getUint8Array(bytes);
        std::unique_ptr<cdcm_buffer> buffer(new cdcm_buffer());
        if (cond.good() && bytes != nullptr) {
            buffer->bytes.assign(bytes, bytes + element->getLength());
        } else {
            OFString text;
            if (element->getOFStringArray(text).bad())
                return fail(error, CDCM_ERR_INTERNAL, std::string("cdcm_dataset_element_bytes: ") + cond.text());
            buffer->bytes.assign(text.begin(), text.end());
        }
        *out = buffer.release();
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_element_bytes");
    }
}

/// The native frames DCMTK's getUncompressedFrame does not cut: 1-bit data (frames are
/// bit-contiguous, PS3.5 8.1.1, so a frame need not start on a byte boundary: its bits are
/// returned from bit 0 of the first byte) and YBR_FULL_422 / YBR_PARTIAL_422 (two samples a
/// pixel). CDCM_NOT_FOUND when the image is none of these (DCMTK's path applies).
static int32_t nativeFrame(DcmDataset &data, DcmElement &pixels, uint32_t frame, std::vector<unsigned char> &bytes,
                    cdcm_error *error) {
    Uint16 allocated = 0, rows = 0, columns = 0, samples = 1;
    OFString photometric;
    data.findAndGetUint16(DCM_BitsAllocated, allocated);
    data.findAndGetUint16(DCM_Rows, rows);
    data.findAndGetUint16(DCM_Columns, columns);
    data.findAndGetUint16(DCM_SamplesPerPixel, samples);
    data.findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    const bool subsampled = photometric == "YBR_FULL_422" || photometric == "YBR_PARTIAL_422";
    if (allocated != 1 && !(subsampled && allocated == 8))
        return CDCM_NOT_FOUND;
    Uint8 *all = nullptr;
    if (pixels.getUint8Array(all).bad() || all == nullptr)
        return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_frame: pixel data cannot be read");
    const unsigned long long length = pixels.getLength();
    if (allocated == 1) {
        const unsigned long long bitsPerFrame = 1ULL * rows * columns * (samples == 0 ? 1 : samples);
        const unsigned long long first = bitsPerFrame * frame;
        if ((first + bitsPerFrame + 7) / 8 > length)
            return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_frame: pixel data shorter than its frames");
        bytes.assign(static_cast<size_t>((bitsPerFrame + 7) / 8), 0);
        for (unsigned long long i = 0; i < bitsPerFrame; ++i) {
            const unsigned long long bit = first + i;
            if ((all[bit / 8] >> (bit % 8)) & 1u)
                bytes[static_cast<size_t>(i / 8)] |= static_cast<unsigned char>(1u << (i % 8));
        }
        return CDCM_OK;
    }
    const unsigned long long frameBytes = 2ULL * rows * columns; // Y Y Cb Cr per two pixels, 8 bits each
    if (frameBytes * (frame + 1ULL) > length)
        return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_frame: pixel data shorter than its frames");
    bytes.assign(all + frameBytes * frame, all + frameBytes * (frame + 1ULL));
    return CDCM_OK;
}

/// A frame of Float Pixel Data or Double Float Pixel Data (PS3.3 C.7.6.3: never encapsulated):
/// Rows x Columns x SamplesPerPixel values of 4 or 8 bytes, in the machine's (little endian)
/// order. CDCM_NOT_FOUND when the data set has neither.
static int32_t floatFrame(DcmDataset &data, uint32_t frame, std::vector<unsigned char> &bytes, cdcm_error *error) {
    DcmElement *element = nullptr;
    unsigned long long width = 4;
    if (data.findAndGetElement(DCM_FloatPixelData, element).bad() || element == nullptr) {
        width = 8;
        if (data.findAndGetElement(DCM_DoubleFloatPixelData, element).bad() || element == nullptr)
            return CDCM_NOT_FOUND;
    }
    Uint16 rows = 0, columns = 0, samples = 1;
    data.findAndGetUint16(DCM_Rows, rows);
    data.findAndGetUint16(DCM_Columns, columns);
    data.findAndGetUint16(DCM_SamplesPerPixel, samples);
    const unsigned long long frameBytes = width * rows * columns * (samples == 0 ? 1 : samples);
    const Uint8 *all = nullptr;
    if (width == 4) {
        Float32 *values = nullptr;
        if (element->getFloat32Array(values).good())
            all = reinterpret_cast<const Uint8 *>(values);
    } else {
        Float64 *values = nullptr;
        if (element->getFloat64Array(values).good())
            all = reinterpret_cast<const Uint8 *>(values);
    }
    if (all == nullptr || frameBytes == 0)
        return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_frame: float pixel data cannot be read");
    if (frameBytes * (frame + 1ULL) > element->getLength())
        return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_frame: pixel data shorter than its frames");
    bytes.assign(all + frameBytes * frame, all + frameBytes * (frame + 1ULL));
    return CDCM_OK;
}

extern "C" int32_t cdcm_dataset_frame(cdcm_dataset *dataset, uint32_t frame, cdcm_buffer **out, cdcm_error *error) {
    try {
        const int32_t status = cdcm_detail::beginBufferCall(error, out);
        if (status != CDCM_OK)
            return status;
        if (dataset == nullptr || !dataset->file || out == nullptr)
            return fail(error, CDCM_ERR_ARGUMENT, "cdcm_dataset_frame: dataset and out must not be NULL");
        DcmDataset *data = dataset->file->getDataset();
        long frames = 1;
        data->findAndGetLongInt(DCM_NumberOfFrames, frames);
        if (frames < 1)
            frames = 1;
        DcmElement *pixels = nullptr;
        const bool integers = data->findAndGetElement(DCM_PixelData, pixels).good() && pixels != nullptr;
        if (!integers && !data->tagExists(DCM_FloatPixelData) && !data->tagExists(DCM_DoubleFloatPixelData))
            return fail(error, CDCM_NOT_FOUND, "cdcm_dataset_frame: no pixel data");
        if (static_cast<long>(frame) >= frames)
            return fail(error, CDCM_NOT_FOUND, "cdcm_dataset_frame: no such frame");
        // JPEG 2000 / HTJ2K (no DCMTK codec): the frame alone, with OpenJPEG. (A data set already
        // decoded to native by cdcm_dataset_write_part10_as takes the native path.)
        bool decoded = false;
        if (integers && pixels->ident() == EVR_PixelData &&
            cdcm_detail::isJpeg2000TransferSyntax(cdcm_detail::transferSyntaxOf(*dataset->file))) {
            if (cdcm_detail::encapsulatedSequence(*static_cast<DcmPixelData *>(pixels)) != nullptr) {
                std::vector<uint8_t> bytes;
                std::string problem;
                if (!cdcm_detail::decodeJpeg2000Frame(*data, frame, &bytes, &problem))
                    return fail(error, CDCM_ERR_PARSE, "cdcm_dataset_frame: cannot decode the frame: " + problem);
                std::unique_ptr<cdcm_buffer> buffer(new cdcm_buffer());
                buffer->bytes = std::move(bytes);
                *out = buffer.release();
                return CDCM_OK;
            }
            decoded = true;
        }
        if (!integers || decoded || !DcmXfer(data->getOriginalXfer()).isEncapsulated()) {
            std::vector<unsigned char> bytes;
            const int32_t native = integers ? nativeFrame(*data, *pixels, frame, bytes, error)
                                            : floatFrame(*data, frame, bytes, error);
            if (native != CDCM_NOT_FOUND) {
                if (native != CDCM_OK)
                    return native;
                std::unique_ptr<cdcm_buffer> buffer(new cdcm_buffer());
                buffer->bytes.assign(bytes.begin(), bytes.end());
                *out = buffer.release();
                return CDCM_OK;
            }
        }
        Uint32 size = 0;
        OFCondition cond = pixels->getUncompressedFrameSize(data, size);
        if (cond.bad() || size == 0)
            return fail(error, CDCM_ERR_PARSE, std::string("cdcm_dataset_frame: ") + cond.text());
        std::unique_ptr<cdcm_buffer> buffer(new cdcm_buffer());
        buffer->bytes.resize(size + (size & 1));
        Uint32 fragment = 0;
        OFString colorModel;
        DcmFileCache cache;
        cond = pixels->getUncompressedFrame(data, frame, fragment, buffer->bytes.data(),
                                            static_cast<Uint32>(buffer->bytes.size()), colorModel, &cache);
        if (cond.bad())
            return fail(error, CDCM_ERR_PARSE, std::string("cdcm_dataset_frame: cannot decode the frame: ") + cond.text());
        buffer->bytes.resize(size);
        *out = buffer.release();
        return CDCM_OK;
    } catch (...) {
        return internalFailure(error, "cdcm_dataset_frame");
    }
}
