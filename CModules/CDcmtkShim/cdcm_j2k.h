// cdcm_j2k.h — JPEG 2000 / HTJ2K decoding with OpenJPEG, shared by the renderer (one frame, maybe at a
// lower resolution) and by transcoding (every frame to native pixel data: C-MOVE / C-GET sub-operations,
// WADO-RS). DCMTK 3.6.7 has no JPEG 2000 codec. Private to the shim (not part of the C API).
#ifndef CDCM_J2K_H
#define CDCM_J2K_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"

#if defined(__has_include)
#if __has_include(<openjpeg.h>)
#include <openjpeg.h>
#else
#include <openjpeg-2.5/openjpeg.h> // Debian's libopenjp2-7-dev: /usr/include/openjpeg-2.5/openjpeg.h
#endif
#else
#include <openjpeg.h>
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cdcm_detail {

/// JPEG 2000 (Part 1 and Part 2 multi-component) and HTJ2K transfer syntaxes.
bool isJpeg2000TransferSyntax(const std::string &uid);

/// The transfer syntax of a file: its meta header's, else the one DCMTK read the data set in.
std::string transferSyntaxOf(DcmFileFormat &file);

/// The pixel sequence of encapsulated pixel data (also under a transfer syntax DCMTK does not know,
/// where its representation key is whatever the parser used), or nullptr for native pixel data.
DcmPixelSequence *encapsulatedSequence(DcmPixelData &pixelData);

struct OpjImageDeleter {
    void operator()(opj_image_t *i) const { opj_image_destroy(i); }
};

struct DecodedJ2k {
    std::unique_ptr<opj_image_t, OpjImageDeleter> image;
    bool mct = false;
};

/// Decodes one codestream (raw J2K, or a JP2 file as some writers embed). wantedLongSide > 0: drop as
/// many of the highest resolution levels as keep the long side at least that long (and the codestream has).
bool decodeCodestream(const uint8_t *data, size_t length, uint32_t wantedLongSide, DecodedJ2k *result,
                      std::string *problem);

/// Finds the bytes of one frame's codestream in a pixel sequence (offset tables, one fragment per
/// frame, or SOC markers); in place (one fragment) or joined into *joined.
bool frameCodestream(DcmDataset &dataset, DcmPixelSequence &sequence, unsigned long frame, unsigned long frames,
                     std::vector<uint8_t> *joined, const uint8_t **data, size_t *length, std::string *problem);

/// The photometric interpretation of decoded samples, from the data set's (`stated`): one component
/// is MONOCHROME1, MONOCHROME2 or PALETTE COLOR as stated (else MONOCHROME2); three are RGB, since
/// OpenJPEG undoes a multi-component transform (YBR_RCT / YBR_ICT) itself, unless the codestream
/// has none and the samples are Y, Cb, Cr (YBR_FULL).
std::string decodedPhotometric(const std::string &stated, OPJ_UINT32 components, bool mct, OPJ_COLOR_SPACE colorSpace);

/// Replaces the JPEG 2000 / HTJ2K pixel data of `dataset` by native pixel data holding every frame at
/// full resolution, at the data set's Bits Allocated (Rows, Columns, Samples per Pixel and Bits
/// Allocated must agree with the codestreams: nothing is resampled). A multi-component transform
/// (YBR_RCT / YBR_ICT) is undone by OpenJPEG: the photometric interpretation becomes RGB; colour
/// samples are interleaved (Planar Configuration 0). false, and why in *problem, when the data set is
/// left as it was.
bool decodeJpeg2000ToNative(DcmDataset &dataset, std::string *problem);

/// For conversion to an uncompressed syntax: when `file` is JPEG 2000 / HTJ2K (its transfer syntax)
/// and its pixel data are still encapsulated, decodeJpeg2000ToNative; otherwise nothing to do
/// (true). false, and why, when the decoding fails.
bool decodeJpeg2000IfEncapsulated(DcmFileFormat &file, std::string *problem);

/// One frame (0-based) of JPEG 2000 / HTJ2K pixel data, decoded alone, as the native little-endian
/// bytes decodeJpeg2000ToNative would give it (WADO-RS frames). The data set is left as it was.
bool decodeJpeg2000Frame(DcmDataset &dataset, unsigned long frame, std::vector<uint8_t> *bytes, std::string *problem);

} // namespace cdcm_detail

#endif
