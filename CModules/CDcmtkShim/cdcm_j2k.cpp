// cdcm_j2k.cpp — implementation of cdcm_j2k.h: JPEG 2000 / HTJ2K codestreams decoded with OpenJPEG.

#include "cdcm_j2k.h"

#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcpxitem.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

namespace {

struct OpjMemory {
    const uint8_t *data;
    size_t size;
    size_t position;
};

OPJ_SIZE_T opjRead(void *buffer, OPJ_SIZE_T count, void *user) {
    OpjMemory *m = static_cast<OpjMemory *>(user);
    if (m->position >= m->size)
        return static_cast<OPJ_SIZE_T>(-1);
    const size_t n = std::min<size_t>(count, m->size - m->position);
    std::memcpy(buffer, m->data + m->position, n);
    m->position += n;
    return n;
}

OPJ_OFF_T opjSkip(OPJ_OFF_T count, void *user) {
    OpjMemory *m = static_cast<OpjMemory *>(user);
    OPJ_OFF_T target = static_cast<OPJ_OFF_T>(m->position) + count;
    if (target < 0)
        target = 0;
    if (target > static_cast<OPJ_OFF_T>(m->size))
        target = static_cast<OPJ_OFF_T>(m->size);
    const OPJ_OFF_T skipped = target - static_cast<OPJ_OFF_T>(m->position);
    m->position = static_cast<size_t>(target);
    return skipped;
}

OPJ_BOOL opjSeek(OPJ_OFF_T offset, void *user) {
    OpjMemory *m = static_cast<OpjMemory *>(user);
    if (offset < 0 || offset > static_cast<OPJ_OFF_T>(m->size))
        return OPJ_FALSE;
    m->position = static_cast<size_t>(offset);
    return OPJ_TRUE;
}

// OpenJPEG's messages (about the codestream, never patient data), kept per call.
struct OpjMessages {
    char text[200];
};

void opjError(const char *message, void *user) {
    OpjMessages *m = static_cast<OpjMessages *>(user);
    if (m->text[0] == '\0') {
        std::snprintf(m->text, sizeof(m->text), "%s", message);
        const size_t n = std::strlen(m->text);
        if (n > 0 && m->text[n - 1] == '\n')
            m->text[n - 1] = '\0';
    }
}

void opjQuiet(const char *, void *) {}

struct OpjCodecDeleter {
    void operator()(opj_codec_t *c) const { opj_destroy_codec(c); }
};
struct OpjStreamDeleter {
    void operator()(opj_stream_t *s) const { opj_stream_destroy(s); }
};

} // namespace

namespace cdcm_detail {

bool isJpeg2000TransferSyntax(const std::string &uid) {
    static const char *const kJ2k[] = {
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",                               // JPEG 2000
        "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93",                               // Part 2 multi-component
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}; // HTJ2K
    for (const char *candidate : kJ2k)
        if (uid == candidate)
            return true;
    return false;
}

DcmPixelSequence *encapsulatedSequence(DcmPixelData &pixelData) {
    E_TransferSyntax key = EXS_Unknown;
    const DcmRepresentationParameter *parameter = nullptr;
    pixelData.getOriginalRepresentationKey(key, parameter);
    DcmPixelSequence *sequence = nullptr;
    if (pixelData.getEncapsulatedRepresentation(key, parameter, sequence).bad())
        return nullptr;
    return sequence;
}

bool decodeCodestream(const uint8_t *data, size_t length, uint32_t wantedLongSide, DecodedJ2k *result,
                      std::string *problem) {
    static const uint8_t kJp2Signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20};
    const bool jp2 = length >= sizeof(kJp2Signature) && std::memcmp(data, kJp2Signature, sizeof(kJp2Signature)) == 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        OpjMessages messages;
        messages.text[0] = '\0';
        OpjMemory memory{data, length, 0};
        std::unique_ptr<opj_codec_t, OpjCodecDeleter> codec(opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
        std::unique_ptr<opj_stream_t, OpjStreamDeleter> stream(opj_stream_create(64 * 1024, OPJ_TRUE));
        if (!codec || !stream) {
            *problem = "OpenJPEG: out of memory";
            return false;
        }
        opj_set_error_handler(codec.get(), opjError, &messages);
        opj_set_warning_handler(codec.get(), opjQuiet, nullptr);
        opj_set_info_handler(codec.get(), opjQuiet, nullptr);
        opj_stream_set_user_data(stream.get(), &memory, nullptr);
        opj_stream_set_user_data_length(stream.get(), length);
        opj_stream_set_read_function(stream.get(), opjRead);
        opj_stream_set_skip_function(stream.get(), opjSkip);
        opj_stream_set_seek_function(stream.get(), opjSeek);
        opj_dparameters_t parameters;
        opj_set_default_decoder_parameters(&parameters);
        if (!opj_setup_decoder(codec.get(), &parameters)) {
            *problem = "OpenJPEG: cannot set up the decoder";
            return false;
        }
        opj_image_t *raw = nullptr;
        if (!opj_read_header(stream.get(), codec.get(), &raw)) {
            opj_image_destroy(raw);
            *problem = std::string("JPEG 2000 header: ") + (messages.text[0] ? messages.text : "cannot be read");
            return false;
        }
        std::unique_ptr<opj_image_t, OpjImageDeleter> image(raw);
        opj_codestream_info_v2_t *info = opj_get_cstr_info(codec.get());
        bool mct = false;
        uint32_t resolutions = 1;
        if (info != nullptr) {
            mct = info->m_default_tile_info.mct != 0;
            resolutions = 33;
            if (info->m_default_tile_info.tccp_info != nullptr)
                for (OPJ_UINT32 c = 0; c < info->nbcomps; ++c)
                    resolutions = std::min<uint32_t>(resolutions, info->m_default_tile_info.tccp_info[c].numresolutions);
            if (resolutions == 0 || resolutions > 32)
                resolutions = 1;
            opj_destroy_cstr_info(&info);
        }
        uint32_t reduce = 0;
        if (attempt == 0 && wantedLongSide > 0) {
            const uint64_t longSide = std::max<uint64_t>(uint64_t(image->x1) - image->x0, uint64_t(image->y1) - image->y0);
            while (reduce + 1 < resolutions && (longSide >> (reduce + 1)) >= wantedLongSide)
                ++reduce;
        }
        if (reduce > 0 && !opj_set_decoded_resolution_factor(codec.get(), reduce))
            reduce = 0;
        if (opj_decode(codec.get(), stream.get(), image.get()) && opj_end_decompress(codec.get(), stream.get())) {
            result->image = std::move(image);
            result->mct = mct;
            return true;
        }
        *problem = std::string("JPEG 2000 codestream: ") + (messages.text[0] ? messages.text : "cannot be decoded");
        if (reduce == 0)
            return false; // a reduced decode that failed is tried once more at full resolution
    }
    return false;
}

static bool startsWithSoc(DcmPixelItem *item) {
    if (item == nullptr || item->getLength() < 4)
        return false;
    uint8_t head[4];
    if (item->getPartialValue(head, 0, 4).bad())
        return false;
    return head[0] == 0xFF && head[1] == 0x4F && head[2] == 0xFF && head[3] == 0x51;
}

// Finds the fragments of one frame: the Extended Offset Table, else the Basic Offset Table (when it
// has one entry per frame), else one fragment per frame (when the counts agree), else all fragments
// (single frame), else the fragments starting with a codestream's SOC+SIZ markers. The frame's bytes
// are returned in place (one fragment) or joined into *joined.
bool frameCodestream(DcmDataset &dataset, DcmPixelSequence &sequence, unsigned long frame, unsigned long frames,
                     std::vector<uint8_t> *joined, const uint8_t **data, size_t *length, std::string *problem) {
    const unsigned long items = sequence.card();
    if (items < 2) {
        *problem = "encapsulated pixel data without fragments";
        return false;
    }
    const unsigned long fragments = items - 1; // item 0 is the Basic Offset Table
    std::vector<uint64_t> position(fragments + 1, 0); // offset of each fragment's item tag
    for (unsigned long k = 0; k < fragments; ++k) {
        DcmPixelItem *item = nullptr;
        if (sequence.getItem(item, k + 1).bad() || item == nullptr) {
            *problem = "damaged encapsulated pixel data";
            return false;
        }
        position[k + 1] = position[k] + 8 + item->getLength();
    }
    auto fragmentAt = [&](uint64_t offset, unsigned long *index) -> bool {
        const auto it = std::lower_bound(position.begin(), position.end(), offset);
        if (it == position.end() || *it != offset)
            return false;
        *index = static_cast<unsigned long>(it - position.begin());
        return true;
    };

    std::vector<uint64_t> offsets;
    DcmElement *extended = nullptr;
    if (dataset.findAndGetElement(DCM_ExtendedOffsetTable, extended, OFFalse).good() && extended != nullptr &&
        extended->getLength() >= 8) {
        Uint64 *values = nullptr;
        if (extended->getUint64Array(values).good() && values != nullptr)
            offsets.assign(values, values + extended->getLength() / 8);
    }
    if (offsets.size() != frames) {
        offsets.clear();
        DcmPixelItem *table = nullptr;
        Uint8 *bytes = nullptr;
        if (sequence.getItem(table, 0).good() && table != nullptr && table->getLength() >= 4 &&
            table->getUint8Array(bytes).good() && bytes != nullptr) {
            const unsigned long n = table->getLength() / 4;
            for (unsigned long i = 0; i < n; ++i) {
                const uint8_t *p = bytes + 4 * i;
                offsets.push_back(uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24));
            }
        }
    }

    unsigned long first = 0;
    unsigned long end = 0; // one past the last fragment of the frame
    if (offsets.size() == frames && frames > 0) {
        const uint64_t next = frame + 1 < frames ? offsets[frame + 1] : position[fragments];
        if (!fragmentAt(offsets[frame], &first) || !fragmentAt(next, &end) || end <= first) {
            *problem = "the offset table does not point at fragment boundaries";
            return false;
        }
    } else if (fragments == frames) {
        first = frame;
        end = frame + 1;
    } else if (frames == 1) {
        first = 0;
        end = fragments;
    } else {
        std::vector<unsigned long> starts;
        for (unsigned long k = 0; k < fragments; ++k) {
            DcmPixelItem *item = nullptr;
            if (sequence.getItem(item, k + 1).good() && startsWithSoc(item))
                starts.push_back(k);
        }
        if (starts.size() != frames || starts.empty() || starts[0] != 0) {
            *problem = "cannot find the frame's fragments (no usable offset table, " + std::to_string(fragments) +
                       " fragments for " + std::to_string(frames) + " frames)";
            return false;
        }
        first = starts[frame];
        end = frame + 1 < frames ? starts[frame + 1] : fragments;
    }

    if (end - first == 1) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (sequence.getItem(item, first + 1).bad() || item == nullptr || item->getUint8Array(bytes).bad() ||
            bytes == nullptr || item->getLength() == 0) {
            *problem = "the frame's fragment is empty or cannot be read";
            return false;
        }
        *data = bytes;
        *length = item->getLength();
        return true;
    }
    joined->clear();
    joined->reserve(static_cast<size_t>(position[end] - position[first]));
    for (unsigned long k = first; k < end; ++k) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (sequence.getItem(item, k + 1).bad() || item == nullptr) {
            *problem = "damaged encapsulated pixel data";
            return false;
        }
        if (item->getLength() == 0)
            continue;
        if (item->getUint8Array(bytes).bad() || bytes == nullptr) {
            *problem = "a fragment of the frame cannot be read";
            return false;
        }
        joined->insert(joined->end(), bytes, bytes + item->getLength());
    }
    if (joined->empty()) {
        *problem = "the frame's fragments are empty";
        return false;
    }
    *data = joined->data();
    *length = joined->size();
    return true;
}

std::string transferSyntaxOf(DcmFileFormat &file) {
    OFString ts;
    if (file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).good() && !ts.empty())
        return ts.c_str();
    const E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
    return xfer != EXS_Unknown ? std::string(DcmXfer(xfer).getXferID()) : std::string();
}

std::string decodedPhotometric(const std::string &stated, OPJ_UINT32 components, bool mct, OPJ_COLOR_SPACE colorSpace) {
    if (components == 1)
        return stated == "MONOCHROME1" || stated == "MONOCHROME2" || stated == "PALETTE COLOR" ? stated : "MONOCHROME2";
    if (mct || stated == "YBR_RCT" || stated == "YBR_ICT")
        return "RGB";
    if (stated == "YBR_FULL" || stated == "YBR_FULL_422" || colorSpace == OPJ_CLRSPC_SYCC)
        return "YBR_FULL"; // no transform in the codestream: the samples are still Y, Cb, Cr
    return "RGB";
}

namespace {

// What a data set says about its JPEG 2000 pixel data, checked.
struct J2kLayout {
    DcmPixelSequence *sequence = nullptr;
    Uint16 rows = 0, columns = 0, samples = 1, bitsAllocated = 0, bitsStored = 0, pixelRepresentation = 0;
    long frames = 1;
    size_t frameSamples() const { return size_t(rows) * columns * samples; }
};

bool readLayout(DcmDataset &dataset, J2kLayout *layout, std::string *problem) {
    DcmElement *element = nullptr;
    if (dataset.findAndGetElement(DCM_PixelData, element, OFFalse).bad() || element == nullptr ||
        element->ident() != EVR_PixelData) {
        *problem = "no Pixel Data";
        return false;
    }
    layout->sequence = encapsulatedSequence(*static_cast<DcmPixelData *>(element));
    if (layout->sequence == nullptr) {
        *problem = "JPEG 2000 transfer syntax but the pixel data are not encapsulated";
        return false;
    }
    dataset.findAndGetUint16(DCM_Rows, layout->rows, 0, OFFalse);
    dataset.findAndGetUint16(DCM_Columns, layout->columns, 0, OFFalse);
    dataset.findAndGetUint16(DCM_SamplesPerPixel, layout->samples, 0, OFFalse);
    dataset.findAndGetUint16(DCM_BitsAllocated, layout->bitsAllocated, 0, OFFalse);
    dataset.findAndGetUint16(DCM_BitsStored, layout->bitsStored, 0, OFFalse);
    dataset.findAndGetUint16(DCM_PixelRepresentation, layout->pixelRepresentation, 0, OFFalse);
    if (dataset.findAndGetLongInt(DCM_NumberOfFrames, layout->frames, 0, OFFalse).bad() || layout->frames < 1)
        layout->frames = 1;
    if (layout->rows == 0 || layout->columns == 0) {
        *problem = "no Rows or Columns";
        return false;
    }
    if (layout->samples != 1 && layout->samples != 3) {
        *problem = "JPEG 2000 with " + std::to_string(layout->samples) + " samples per pixel";
        return false;
    }
    if (layout->bitsAllocated != 8 && layout->bitsAllocated != 16) {
        *problem = "JPEG 2000 with Bits Allocated " + std::to_string(layout->bitsAllocated) + " (8 or 16 are decoded)";
        return false;
    }
    return true;
}

// What a decoded frame's codestream said (frame 0 decides for the data set).
struct J2kFrameFacts {
    bool mct = false;
    bool outputSigned = false;
    OPJ_UINT32 precision = 0;
    OPJ_COLOR_SPACE colorSpace = OPJ_CLRSPC_UNKNOWN;
};

// Decodes frame `frame` and writes its samples, interleaved, at out8 / out16 (one of them; room for
// layout.frameSamples()). `joined` is scratch space.
bool decodeFrameInto(DcmDataset &dataset, const J2kLayout &layout, long frame, Uint8 *out8, Uint16 *out16,
                     J2kFrameFacts *facts, std::vector<uint8_t> &joined, std::string *problem) {
    const std::string where = layout.frames > 1 ? "frame " + std::to_string(frame + 1) + ": " : std::string();
    const uint8_t *codestream = nullptr;
    size_t length = 0;
    DecodedJ2k decoded;
    if (!frameCodestream(dataset, *layout.sequence, static_cast<unsigned long>(frame),
                         static_cast<unsigned long>(layout.frames), &joined, &codestream, &length, problem) ||
        !decodeCodestream(codestream, length, 0, &decoded, problem)) {
        *problem = where + *problem;
        return false;
    }
    const opj_image_t &image = *decoded.image;
    if (image.numcomps != layout.samples) {
        *problem = where + "the codestream has " + std::to_string(image.numcomps) +
                   " components, the data set says " + std::to_string(layout.samples) + " samples per pixel";
        return false;
    }
    const opj_image_comp_t &c0 = image.comps[0];
    for (OPJ_UINT32 c = 0; c < image.numcomps; ++c) {
        const opj_image_comp_t &ci = image.comps[c];
        if (ci.data == nullptr || ci.w != layout.columns || ci.h != layout.rows || ci.dx != 1 || ci.dy != 1 ||
            ci.prec != c0.prec || ci.sgnd != c0.sgnd) {
            *problem = where + "the codestream's components do not match Rows, Columns and each other";
            return false;
        }
    }
    if (c0.prec < 1 || c0.prec > layout.bitsAllocated) {
        *problem = where + std::to_string(c0.prec) + "-bit samples do not fit Bits Allocated " +
                   std::to_string(layout.bitsAllocated);
        return false;
    }
    facts->mct = decoded.mct;
    facts->precision = c0.prec;
    facts->colorSpace = image.color_space;
    facts->outputSigned = layout.samples == 1 && (layout.pixelRepresentation == 1 || c0.sgnd != 0);
    // A signed data set with an unsigned codestream holds two's complement bit patterns (some
    // encoders write them so): sign-extended at the codestream's precision, like the renderer.
    const bool reinterpret = facts->outputSigned && c0.sgnd == 0;
    const int64_t wrap = int64_t(1) << c0.prec;
    const size_t pixels = size_t(layout.rows) * layout.columns;
    for (OPJ_UINT32 c = 0; c < image.numcomps; ++c) {
        const OPJ_INT32 *in = image.comps[c].data;
        for (size_t i = 0; i < pixels; ++i) {
            int64_t v = in[i];
            if (reinterpret && v >= (wrap >> 1))
                v -= wrap;
            const size_t at = i * layout.samples + c;
            if (out8 != nullptr)
                out8[at] = static_cast<Uint8>(static_cast<uint64_t>(v) & 0xFF);
            else
                out16[at] = static_cast<Uint16>(static_cast<uint64_t>(v) & 0xFFFF);
        }
    }
    return true;
}

} // namespace

bool decodeJpeg2000ToNative(DcmDataset &dataset, std::string *problem) {
    J2kLayout layout;
    if (!readLayout(dataset, &layout, problem))
        return false;
    const uint64_t total = uint64_t(layout.frameSamples()) * uint64_t(layout.frames);
    if (total * (layout.bitsAllocated / 8) >= 0xFFFFFFFEull) {
        *problem = "the decoded pixel data would exceed 4 GiB";
        return false;
    }
    std::unique_ptr<DcmPixelData> native(new DcmPixelData(DCM_PixelData));
    Uint8 *out8 = nullptr;
    Uint16 *out16 = nullptr;
    OFCondition cond;
    if (layout.bitsAllocated == 8) {
        native->setVR(EVR_OB);
        cond = native->createUint8Array(static_cast<Uint32>(total), out8);
    } else {
        native->setVR(EVR_OW);
        cond = native->createUint16Array(static_cast<Uint32>(total), out16);
    }
    if (cond.bad() || (out8 == nullptr && out16 == nullptr)) {
        *problem = std::string("cannot hold the decoded pixels: ") + cond.text();
        return false;
    }
    J2kFrameFacts first;
    std::vector<uint8_t> joined;
    for (long frame = 0; frame < layout.frames; ++frame) {
        J2kFrameFacts facts;
        const size_t base = layout.frameSamples() * static_cast<size_t>(frame);
        if (!decodeFrameInto(dataset, layout, frame, out8 != nullptr ? out8 + base : nullptr,
                             out16 != nullptr ? out16 + base : nullptr, &facts, joined, problem))
            return false;
        if (frame == 0)
            first = facts;
    }

    OFString stated;
    dataset.findAndGetOFString(DCM_PhotometricInterpretation, stated, 0, OFFalse);
    const std::string photometric = decodedPhotometric(stated.c_str(), layout.samples, first.mct, first.colorSpace);
    // Replaces (and deletes) the encapsulated element: `layout.sequence` is gone after this.
    if (dataset.insert(native.release(), OFTrue).bad()) {
        *problem = "cannot replace the pixel data";
        return false;
    }
    dataset.putAndInsertString(DCM_PhotometricInterpretation, photometric.c_str());
    if (layout.samples == 3)
        dataset.putAndInsertUint16(DCM_PlanarConfiguration, 0);
    if (layout.samples == 1)
        dataset.putAndInsertUint16(DCM_PixelRepresentation, first.outputSigned ? 1 : 0);
    if (layout.bitsStored == 0 || layout.bitsStored > layout.bitsAllocated) {
        dataset.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(first.precision));
        dataset.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(first.precision - 1));
    }
    delete dataset.remove(DCM_ExtendedOffsetTable);
    delete dataset.remove(DCM_ExtendedOffsetTableLengths);
    return true;
}

bool decodeJpeg2000IfEncapsulated(DcmFileFormat &file, std::string *problem) {
    DcmDataset &dataset = *file.getDataset();
    DcmElement *element = nullptr;
    if (!isJpeg2000TransferSyntax(transferSyntaxOf(file)) ||
        dataset.findAndGetElement(DCM_PixelData, element, OFFalse).bad() || element == nullptr ||
        element->ident() != EVR_PixelData || encapsulatedSequence(*static_cast<DcmPixelData *>(element)) == nullptr)
        return true; // not JPEG 2000, no pixel data, or decoded already: DCMTK converts the rest
    return decodeJpeg2000ToNative(dataset, problem);
}

bool decodeJpeg2000Frame(DcmDataset &dataset, unsigned long frame, std::vector<uint8_t> *bytes, std::string *problem) {
    J2kLayout layout;
    if (!readLayout(dataset, &layout, problem))
        return false;
    if (frame >= static_cast<unsigned long>(layout.frames)) {
        *problem = "no such frame";
        return false;
    }
    std::vector<Uint8> samples8;
    std::vector<Uint16> samples16;
    if (layout.bitsAllocated == 8)
        samples8.resize(layout.frameSamples());
    else
        samples16.resize(layout.frameSamples());
    J2kFrameFacts facts;
    std::vector<uint8_t> joined;
    if (!decodeFrameInto(dataset, layout, static_cast<long>(frame), samples8.empty() ? nullptr : samples8.data(),
                         samples16.empty() ? nullptr : samples16.data(), &facts, joined, problem))
        return false;
    if (!samples8.empty()) {
        bytes->assign(samples8.begin(), samples8.end());
    } else {
        bytes->resize(samples16.size() * 2);
        for (size_t i = 0; i < samples16.size(); ++i) { // little endian, as native frames are sent
            (*bytes)[2 * i] = static_cast<uint8_t>(samples16[i] & 0xFF);
            (*bytes)[2 * i + 1] = static_cast<uint8_t>(samples16[i] >> 8);
        }
    }
    return true;
}

} // namespace cdcm_detail
