/* png_out.c - 8-bit RGB PNG writer on libpng (png_out.h). */
#include "png_out.h"

#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

typedef struct {
    char msg[256];
    FILE *f;
} png_ctx;

/* Our own write function, so that a failed write reports why (libpng's own
 * says only "Write Error"). */
static void on_write(png_structp png, png_bytep data, size_t len)
{
    png_ctx *c = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, len, c->f) != len) {
        snprintf(c->msg, sizeof c->msg, "write failed: %s",
                 errno ? strerror(errno) : "short write");
        png_longjmp(png, 1);
    }
}

static void on_flush(png_structp png)
{
    (void)png;  /* fe_out_commit flushes and syncs */
}

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    if (c)
        snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;  /* nothing we write can warn; stay quiet */
}

int fe_png_write_rgb_rows(FILE *f, uint32_t width, uint32_t height,
                          fe_png_row_fn row, void *ctx, fe_err *err)
{
    if (width == 0 || height == 0)
        return fe_fail(err, "cannot write an empty image (%ux%u)", width, height);
    if (width > FE_PNG_MAX_SIDE || height > FE_PNG_MAX_SIDE)
        return fe_fail(err, "image of %ux%u pixels is too large for PNG output", width, height);
    png_ctx pc = {{0}, f};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &pc, on_error, on_warning);
    if (!png)
        return fe_fail(err, "out of memory (libpng)");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return fe_fail(err, "out of memory (libpng)");
    }
    /* Allocated before setjmp and never reassigned after it, so it is still
     * valid after a longjmp back here. */
    uint8_t *const buf = malloc((size_t)width * 3);
    if (!buf) {
        png_destroy_write_struct(&png, &info);
        return fe_fail(err, "out of memory for a row of %u pixels", width);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(buf);
        return fe_fail(err, "%s", pc.msg[0] ? pc.msg : "libpng error");
    }
    png_set_user_limits(png, FE_PNG_MAX_SIDE, FE_PNG_MAX_SIDE);
    png_set_write_fn(png, &pc, on_write, on_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) {
        row(ctx, y, buf);
        png_write_row(png, buf);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(buf);
    return 0;
}

typedef struct {
    const uint8_t *rgb;
    uint32_t width;
} packed;

static void packed_row(void *ctx, uint32_t y, uint8_t *row)
{
    const packed *p = ctx;
    memcpy(row, p->rgb + (size_t)y * p->width * 3, (size_t)p->width * 3);
}

int fe_png_write_rgb(FILE *f, const uint8_t *rgb, uint32_t width, uint32_t height,
                     fe_err *err)
{
    packed p = {rgb, width};
    return fe_png_write_rgb_rows(f, width, height, packed_row, &p, err);
}

int fe_png_save_rgb(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                    fe_err *err)
{
    fe_out o;
    if (fe_out_open(&o, path, 0, err) != 0)
        return -1;
    if (fe_png_write_rgb(o.f, rgb, width, height, err) != 0) {
        fe_out_abort(&o);
        return -1;
    }
    return fe_out_commit(&o, err);
}
