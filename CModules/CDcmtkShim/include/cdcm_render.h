/*
 * cdcm_render.h — rendering one frame of a DICOM image to 8-bit grey or RGB pixels (thumbnails,
 * WADO "rendered"), and PNG encoding. Plain C; status codes and cdcm_error as in cdcm.h.
 *
 * The pipeline (DCMTK's DicomImage where it is right, the shim's own code where it is not):
 *   decode the one requested frame (DCMTK: native, deflated, JPEG, JPEG-LS, RLE; OpenJPEG: JPEG 2000
 *   and HTJ2K) -> Modality LUT (rescale slope/intercept or Modality LUT Sequence, also taken from the
 *   functional groups of enhanced multi-frame objects) -> VOI (the caller's window, else the file's
 *   first window, else its first VOI LUT, else a 1 %-99 % percentile window that ignores Pixel Padding
 *   Value) -> MONOCHROME1 shown inverted ("white = dense") -> colour models converted to RGB (RGB,
 *   YBR_FULL, YBR_FULL_422, YBR_RCT/YBR_ICT, PALETTE COLOR) -> scaled down with area averaging so the
 *   long side is at most max_size, square pixels (Pixel Spacing / Pixel Aspect Ratio honoured).
 *   Overlays are not burnt in. Presentation states are not applied.
 *
 * Threads: every call is independent (its own DCMTK objects): calls may run concurrently.
 * Patient data never appears in error messages or detail texts.
 */
#ifndef CDCM_RENDER_H
#define CDCM_RENDER_H

#include "cdcm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdcm_render_options {
    uint32_t max_size;       /* long side of the output in pixels (e.g. 256); 0 = full size. Never upscales:
                              * an image already within max_size keeps its size (after aspect correction) */
    int32_t frame;           /* 0-based frame; -1 = the middle frame (NumberOfFrames / 2) */
    int32_t use_window;      /* 1: use window_center / window_width (modality units, e.g. HU; grey images
                              * only: colour images ignore it) */
    double window_center;
    double window_width;     /* >= 1 when use_window is 1 */
} cdcm_render_options;

/* Fills *options with the defaults: max_size 256, frame -1, no window of the caller's. */
void cdcm_render_options_init(cdcm_render_options *options);

typedef enum cdcm_render_outcome {
    CDCM_RENDER_IMAGE = 0,       /* pixels rendered */
    CDCM_RENDER_NO_PIXELS = 1,   /* no Pixel Data: SR, PDF, RT structure set, presentation state, raw data... */
    CDCM_RENDER_VIDEO = 2,       /* MPEG-2, MPEG-4 (H.264) or HEVC (H.265) transfer syntax */
    CDCM_RENDER_UNSUPPORTED = 3  /* pixels the renderer cannot show (float pixel data, unknown compression...) */
} cdcm_render_outcome;

typedef enum cdcm_window_source {
    CDCM_WINDOW_NONE = 0,        /* colour image (no VOI), or a flat image shown without a window */
    CDCM_WINDOW_CALLER = 1,      /* options->window_center / window_width */
    CDCM_WINDOW_FILE = 2,        /* the file's first WindowCenter / WindowWidth (or of its functional groups) */
    CDCM_WINDOW_VOI_LUT = 3,     /* the file's first VOI LUT */
    CDCM_WINDOW_AUTO = 4         /* computed: 1st to 99th percentile of the frame, padding excluded */
} cdcm_window_source;

typedef struct cdcm_rendered {
    int32_t outcome;             /* a cdcm_render_outcome; pixels only with CDCM_RENDER_IMAGE */
    uint32_t width, height;      /* of pixels */
    uint32_t channels;           /* 1 (grey) or 3 (RGB) */
    uint8_t *pixels;             /* width * height * channels bytes, row-major, top row first, RGB
                                  * interleaved; owned by the shim: release with cdcm_rendered_free */
    uint32_t source_columns, source_rows; /* of the stored image (0 when unknown / no pixels) */
    uint32_t frame_count;        /* NumberOfFrames (1 for single-frame images, 0 without pixels) */
    uint32_t frame_rendered;     /* 0-based index of the frame shown */
    int32_t window_source;       /* a cdcm_window_source */
    double window_center;        /* the window applied, in modality units (when window_source is */
    double window_width;         /* CALLER, FILE or AUTO; 0 otherwise) */
    char detail[256];            /* why NO_PIXELS / VIDEO / UNSUPPORTED, e.g. "no Pixel Data (SOP class
                                  * BasicTextSRStorage)", "video transfer syntax MPEG-4 AVC/H.264 High
                                  * Profile / Level 4.1 (1.2.840.10008.1.2.4.102)"; empty for IMAGE */
} cdcm_rendered;

/* Render one frame. *out is overwritten on entry (free a previous result first) and is zeroed on
 * failure. options may be NULL (defaults).
 * Returns CDCM_OK with out->outcome telling what was found; failures:
 *   CDCM_ERR_ARGUMENT  NULL path/out, frame out of range, window_width < 1;
 *   CDCM_ERR_IO        the file cannot be opened;
 *   CDCM_ERR_PARSE     not DICOM, truncated, or pixel data that cannot be decoded (corrupt codestream,
 *                      inconsistent image attributes);
 *   CDCM_ERR_INIT / CDCM_ERR_INTERNAL as in cdcm.h.
 * The file variant reads only what the frame needs (pixel data values are read lazily). */
int32_t cdcm_render_file(const char *path, const cdcm_render_options *options, cdcm_rendered *out,
                         cdcm_error *error);
/* The same for a Part 10 file (or bare dataset) in memory; the bytes are borrowed for the call only. */
int32_t cdcm_render_memory(const void *bytes, size_t length, const cdcm_render_options *options,
                           cdcm_rendered *out, cdcm_error *error);
/* Frees r->pixels and zeroes *r. NULL is allowed. */
void cdcm_rendered_free(cdcm_rendered *r);

/* Encode 8-bit grey (channels 1) or RGB (channels 3) pixels, row-major, as PNG (libpng, not interlaced).
 * compression_level: 0 (none) ... 9 (smallest), -1 = default (6); 1 is the fast choice for thumbnails.
 * On CDCM_OK *out holds *out_length bytes owned by the shim: release them with cdcm_png_free. */
int32_t cdcm_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                        int32_t compression_level, uint8_t **out, size_t *out_length, cdcm_error *error);
void cdcm_png_free(uint8_t *png);

/* 8-bit grey (1 channel) or RGB (3, interleaved) pixels to a baseline JPEG (JFIF, libjpeg), quality
 * 1 ... 100. On CDCM_OK *out holds *out_length bytes owned by the shim: release them with
 * cdcm_png_free (the same allocator). */
int32_t cdcm_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                         int32_t quality, uint8_t **out, size_t *out_length, cdcm_error *error);

#ifdef __cplusplus
}
#endif

#endif /* CDCM_RENDER_H */
