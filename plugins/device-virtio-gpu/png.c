/* SPDX-License-Identifier: GPL-2.0-or-later */
/* screendump: an output's surface as an 8-bit RGB PNG through libpng, written to a
 * temporary beside the target and renamed over it only when complete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <png.h>
#include "gpu2d.h"

/* Byte positions of red, green and blue in a pixel of each virtio-gpu format (the
 * names give the order of the bytes in memory). */
static void channels(uint32_t format, int *r, int *g, int *b)
{
    switch (format) {
    case 1: case 2: *b = 0; *g = 1; *r = 2; break;     /* B8G8R8A8, B8G8R8X8 */
    case 3: case 4: *r = 1; *g = 2; *b = 3; break;     /* A8R8G8B8, X8R8G8B8 */
    case 121: case 68: *b = 1; *g = 2; *r = 3; break;  /* A8B8G8R8, X8B8G8R8 */
    default: *r = 0; *g = 1; *b = 2; break;            /* R8G8B8A8, R8G8B8X8 */
    }
}

static bool write_png(FILE *f, const Scanout *s, GError **err)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    g_autofree uint8_t *row = g_malloc((size_t)s->surface_w * 3);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "libpng could not start");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO, "libpng failed writing the image");
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, s->surface_w, s->surface_h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int ri, gi, bi;
    channels(s->surface_format, &ri, &gi, &bi);
    for (uint32_t y = 0; y < s->surface_h; y++) {
        const uint8_t *src = s->surface + (size_t)y * s->surface_w * 4;
        for (uint32_t x = 0; x < s->surface_w; x++) {
            row[3 * x] = src[4 * x + ri];
            row[3 * x + 1] = src[4 * x + gi];
            row[3 * x + 2] = src[4 * x + bi];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return true;
}

bool vgpu_screendump(const Scanout *s, const char *file, GError **err)
{
    g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", file);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "could not create '%s': %s",
                    file, g_strerror(errno));
        return false;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "fdopen: %s", g_strerror(errno));
        return false;
    }
    bool ok = write_png(f, s, err);
    if (fclose(f) != 0 && ok) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO, "writing '%s': %s", file, g_strerror(errno));
        ok = false;
    }
    if (ok && rename(tmp, file) != 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO, "could not replace '%s': %s", file,
                    g_strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(tmp);
    return ok;
}
