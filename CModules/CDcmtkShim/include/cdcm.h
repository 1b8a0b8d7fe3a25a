/*
 * cdcm.h — the plain-C face of ImagingIndex's DCMTK shim.
 *
 * Rules (see ARCHITECTURE.md, house style 4):
 *  - every symbol starts with cdcm_;
 *  - opaque handles, each with a matching cdcm_*_free;
 *  - inputs are borrowed for the duration of the call only;
 *  - strings handed out are owned by the handle they came from and stay valid until it is freed;
 *  - no C++ exception crosses this boundary: every function returns a status code.
 *
 * Threads: calls on different handles may run concurrently; one handle must not be used by two
 * threads at the same time (reads may load values lazily and store strings in the handle).
 */
#ifndef CDCM_H
#define CDCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every call. */
typedef enum cdcm_status {
    CDCM_OK = 0,
    CDCM_NOT_FOUND = 1,          /* the element (or item) is not in the dataset */
    CDCM_EMPTY = 2,              /* present with zero length */
    CDCM_NOT_STRING = 3,         /* present, but binary (OB/OW/OF/UN/SQ...): no text form */
    CDCM_ERR_ARGUMENT = -1,      /* a NULL handle or a bad argument */
    CDCM_ERR_IO = -2,            /* the file could not be opened or read */
    CDCM_ERR_PARSE = -3,         /* not DICOM, or a malformed / truncated encoding */
    CDCM_ERR_CHARSET = -4,       /* the SpecificCharacterSet could not be converted to UTF-8 */
                                 /* (not returned by the current calls: a failed conversion is reported
                                  * by cdcm_dataset_charset_converted and the open call still succeeds) */
    CDCM_ERR_INIT = -5,          /* DCMTK could not be initialised (data dictionary missing) */
    CDCM_ERR_INTERNAL = -6       /* a C++ exception or any other unexpected failure */
} cdcm_status;

/* Filled on failure with DCMTK's condition text (or a description of the failure). */
typedef struct cdcm_error {
    int32_t status;              /* a cdcm_status */
    char message[512];           /* NUL-terminated, never contains patient data */
} cdcm_error;

/* Initialise DCMTK once: check the data dictionary is loaded, register the JPEG, JPEG-LS and RLE
 * decoders. Idempotent and thread-safe; every entry point below calls it too. */
int32_t cdcm_initialize(cdcm_error *error);

/* A parsed DICOM object (file meta information + dataset). */
typedef struct cdcm_dataset cdcm_dataset;

enum {
    CDCM_LOAD_SKIP_PIXEL_DATA = 1u << 0, /* stop parsing at (7FE0,0010): metadata only, faster */
    CDCM_LOAD_NO_UTF8 = 1u << 1          /* do not convert text to UTF-8 (default: convert) */
};

/* Parse a file (Part 10 with preamble, or a bare dataset as DCMTK auto-detects it). */
/* Fails with CDCM_ERR_IO when the file cannot be opened (missing, directory, no permission) and with
 * CDCM_ERR_PARSE for anything that is not a complete DICOM object: empty, text, random bytes,
 * truncated (also inside the pixel data with CDCM_LOAD_SKIP_PIXEL_DATA, except for the deflated
 * transfer syntax), and input without preamble/"DICM" that lacks a SOP Instance UID (0008,0018).
 * A file cut exactly at an element boundary cannot be told from a shorter valid one.
 * Values longer than 4 KiB (typically pixel data) are read lazily, from this path, when first
 * needed: keep the file in place and unchanged while the handle is alive. */
int32_t cdcm_dataset_open_file(const char *path, uint32_t flags, cdcm_dataset **out, cdcm_error *error);
/* Parse a Part 10 file (or bare dataset) held in memory. The bytes are copied if needed. */
/* (Every value is read during the call: the handle keeps no reference to the caller's bytes.
 * Note: on garbage input DCMTK may allocate, briefly, as much as a bogus element length claims,
 * up to 4 GiB of virtual memory, before failing; the file variant checks lengths against the file size.) */
int32_t cdcm_dataset_open_memory(const void *bytes, size_t length, uint32_t flags, cdcm_dataset **out,
                                 cdcm_error *error);
void cdcm_dataset_free(cdcm_dataset *dataset);

/* 1 when the source had a 128-byte preamble followed by "DICM", else 0. */
/* (CDCM_ERR_ARGUMENT for a NULL handle.) */
int32_t cdcm_dataset_has_part10_header(const cdcm_dataset *dataset);
/* The transfer syntax UID the dataset was encoded in (meta header 0002,0010 if present, else what
 * DCMTK detected). Owned by the handle. */
int32_t cdcm_dataset_transfer_syntax(cdcm_dataset *dataset, const char **out);
/* 1 when text values were converted to UTF-8 (or were already UTF-8 / plain ASCII), 0 when the
 * conversion failed and values are as encoded (the warning text is then in *warning, owned by
 * the handle, or NULL). */
/* With CDCM_LOAD_NO_UTF8: 0 and *warning NULL (nothing was attempted). After a successful
 * conversion SpecificCharacterSet (0008,0005) reads "ISO_IR 192" (DCMTK also adds it to pure ASCII
 * datasets). A failed conversion leaves every value exactly as encoded (the object is parsed again).
 * ISO 2022 IR 87 / IR 159 (Japanese Kanji) are decoded by the shim itself: Debian's DCMTK, built on
 * glibc iconv, cannot. CDCM_ERR_ARGUMENT for a NULL handle. */
int32_t cdcm_dataset_charset_converted(cdcm_dataset *dataset, const char **warning);

/* A path to an element: depth pairs of (tag, item index). tags[i] is (group << 16) | element;
 * items[i] is the item index inside the sequence tags[i] for every level but the last (ignored
 * there). Depth 1 is a top-level element. Group 0x0002 addresses the file meta information. */
typedef struct cdcm_path {
    const uint32_t *tags;
    const uint32_t *items;
    size_t depth;
} cdcm_path;

/* The value of the element at path as text: all values joined with '\\' as DICOM encodes them;
 * numbers (US, UL, SS, SL, FL, FD, AT) formatted as decimal text; trailing padding removed.
 * On CDCM_OK *out points to a NUL-terminated UTF-8 string owned by the handle; *length is its
 * length in bytes. */
/* Details of the implementation:
 *  - item indexes are 0-based; each level is searched in the current item only (never deeper);
 *  - AT values come back as 8 upper-case hex digits per value ("00100010"), as in DICOM JSON;
 *  - normalisation is DCMTK's: leading and trailing spaces are removed for LO, SH, CS, DS, IS, UI
 *    etc., only trailing ones for PN, ST, LT, UT (" Doe ^ John " gives " Doe ^ John"); a value that
 *    is only padding gives CDCM_EMPTY like a zero-length one;
 *  - CDCM_NOT_FOUND for a missing element, a missing sequence on the way or an item index out of
 *    range; CDCM_ERR_ARGUMENT for a malformed path or a step through an element that is not a
 *    sequence; CDCM_NOT_STRING for OB, OW, OF, OD, OL, OV, UN, SQ and pixel data;
 *  - "UTF-8" holds when the charset conversion succeeded and the source was valid; with
 *    CDCM_LOAD_NO_UTF8 or a failed conversion the bytes are as encoded;
 *  - every successful call stores a new copy in the handle (freed with the handle);
 *  - CDCM_ERR_IO when a lazily read value (over 4 KiB, file handles) can no longer be read;
 *  - length may be NULL. */
int32_t cdcm_dataset_get_string(cdcm_dataset *dataset, cdcm_path path, const char **out, size_t *length);
/* The number of items of the sequence at path (CDCM_OK with 0 for an empty sequence). */
/* (CDCM_NOT_FOUND when missing, CDCM_ERR_ARGUMENT when the element at path is not a sequence.) */
int32_t cdcm_dataset_sequence_count(cdcm_dataset *dataset, cdcm_path path, size_t *count);

/* Serialise the object as a Part 10 file in memory (adds/refreshes the file meta information,
 * keeps the original transfer syntax). The buffer is owned by the shim: release it with
 * cdcm_buffer_free. Used to store bare datasets as proper Part 10 files. */
/* Requires a handle opened with CDCM_LOAD_NO_UTF8 (so the text is written in its original
 * encoding) and without CDCM_LOAD_SKIP_PIXEL_DATA (the object must be complete); otherwise
 * CDCM_ERR_ARGUMENT. The meta information is refreshed in the handle too (DCMTK's update mode:
 * (0002,0002), (0002,0003) from the dataset's SOP Class/Instance UID, (0002,0010) the original
 * transfer syntax, DCMTK's implementation UID and version name). Sequences and items are written
 * with explicit lengths; element values are unchanged. Values still in the file (file handles) are
 * loaded into the handle first; CDCM_ERR_IO when that fails (file gone) or DCMTK cannot serialise. */
typedef struct cdcm_buffer cdcm_buffer;
int32_t cdcm_dataset_write_part10(cdcm_dataset *dataset, cdcm_buffer **out, cdcm_error *error);
/* The same, re-encoded in an uncompressed transfer syntax (e.g. "1.2.840.10008.1.2.1"): compressed
 * pixel data is decoded with DCMTK's codecs (JPEG, JPEG-LS, RLE) or OpenJPEG (JPEG 2000, HTJ2K: every
 * frame, into the handle's data set, which stays decoded). CDCM_ERR_PARSE when it cannot be decoded
 * (MPEG, HEVC, a damaged codestream); CDCM_ERR_ARGUMENT for an encapsulated or unknown target. */
int32_t cdcm_dataset_write_part10_as(cdcm_dataset *dataset, const char *transfer_syntax_uid, cdcm_buffer **out,
                                     cdcm_error *error);
const uint8_t *cdcm_buffer_bytes(const cdcm_buffer *buffer);
size_t cdcm_buffer_length(const cdcm_buffer *buffer);
void cdcm_buffer_free(cdcm_buffer *buffer);

/* The dataset as DICOM JSON (PS3.18 Annex F, UTF-8, compact). Pixel data, and top-level binary
 * values (OB, OW, OF, OD, OL, UN) longer than inline_limit bytes, are written as
 * "BulkDataURI": "<bulk_data_base>/bulkdata/GGGGEEEE"; other binary values as InlineBinary.
 * Open the handle with UTF-8 conversion (the default) so that text is valid JSON. */
int32_t cdcm_dataset_write_json(cdcm_dataset *dataset, const char *bulk_data_base, uint32_t inline_limit,
                                cdcm_buffer **out, cdcm_error *error);

/* The value of a top-level element as bytes (binary VRs as stored in memory, little endian;
 * text VRs as their text). CDCM_NOT_FOUND when absent; CDCM_ERR_ARGUMENT for a sequence or
 * encapsulated pixel data. */
int32_t cdcm_dataset_element_bytes(cdcm_dataset *dataset, uint32_t tag, cdcm_buffer **out, cdcm_error *error);

/* One frame (0-based) of the pixel data (Pixel Data, else Float or Double Float Pixel Data),
 * uncompressed (native little endian; compressed frames are decoded with DCMTK's codecs: JPEG,
 * JPEG-LS, RLE; JPEG 2000 and HTJ2K with OpenJPEG, that frame alone).
 * CDCM_NOT_FOUND without pixel data or beyond the last frame; CDCM_ERR_PARSE when the frame cannot
 * be decoded (e.g. MPEG). */
int32_t cdcm_dataset_frame(cdcm_dataset *dataset, uint32_t frame, cdcm_buffer **out, cdcm_error *error);

/* The DCMTK version string (static). */
const char *cdcm_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CDCM_H */
