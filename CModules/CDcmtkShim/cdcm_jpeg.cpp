// cdcm_jpeg.cpp — 8-bit grey/RGB pixels to a JPEG (JFIF) image with libjpeg, for WADO-RS rendered
// resources. libjpeg reports errors through longjmp: it stays inside one function with plain C locals.
#include "cdcm_internal.h"
#include "cdcm_render.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <jpeglib.h>

namespace {

struct ErrorManager {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

extern "C" void onJpegError(j_common_ptr info) {
    ErrorManager *manager = reinterpret_cast<ErrorManager *>(info->err);
    (*info->err->format_message)(info, manager->message);
    std::longjmp(manager->jump, 1);
}

// No C++ objects with destructors live in this function (setjmp/longjmp).
int32_t encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, int32_t quality,
               uint8_t **out, size_t *out_length, char *failure, size_t failure_size) {
    jpeg_compress_struct info;
    ErrorManager errors;
    unsigned char *buffer = nullptr;
    unsigned long length = 0;
    info.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = onJpegError;
    if (setjmp(errors.jump) != 0) {
        std::snprintf(failure, failure_size, "JPEG encoding: %s", errors.message);
        jpeg_destroy_compress(&info);
        std::free(buffer);
        return CDCM_ERR_INTERNAL;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &length);
    info.image_width = width;
    info.image_height = height;
    info.input_components = static_cast<int>(channels);
    info.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    const size_t stride = static_cast<size_t>(width) * channels;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(pixels + info.next_scanline * stride);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = buffer;
    *out_length = length;
    return CDCM_OK;
}

} // namespace

extern "C" int32_t cdcm_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                                    int32_t quality, uint8_t **out, size_t *out_length, cdcm_error *error) {
    try {
        cdcm_detail::clearError(error);
        if (out != nullptr)
            *out = nullptr;
        if (out_length != nullptr)
            *out_length = 0;
        if (pixels == nullptr || out == nullptr || out_length == nullptr || width == 0 || height == 0 ||
            (channels != 1 && channels != 3) || quality < 1 || quality > 100)
            return cdcm_detail::fail(error, CDCM_ERR_ARGUMENT,
                                     "cdcm_jpeg_encode: pixels, a size, 1 or 3 channels and a quality 1 ... 100 are needed");
        char failure[256] = {0};
        const int32_t status = encode(pixels, width, height, channels, quality, out, out_length, failure, sizeof(failure));
        if (status != CDCM_OK)
            return cdcm_detail::fail(error, status, failure);
        return CDCM_OK;
    } catch (...) {
        return cdcm_detail::internalFailure(error, "cdcm_jpeg_encode");
    }
}
