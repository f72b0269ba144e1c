/* png_out.h - write 8-bit RGB PNG images with libpng.
 *
 * The output is deterministic: no time, text or gamma chunks, only IHDR, IDAT
 * and IEND, so the same pixels always give the same bytes.  libpng errors
 * (including short writes) become an fe_err message instead of a longjmp out
 * of the caller or an abort. */
#ifndef FE_PNG_OUT_H
#define FE_PNG_OUT_H

#include <stdint.h>
#include <stdio.h>
#include "fe.h"

/* The largest image these functions accept: PNG's own limit is 2^31-1 per side,
 * libpng's default user limit is 1,000,000; callers usually want much less. */
#define FE_PNG_MAX_SIDE 1000000u

/* Fills row y (0 = top) of the image: width*3 bytes R,G,B,R,G,B,... */
typedef void (*fe_png_row_fn)(void *ctx, uint32_t y, uint8_t *row);

/* Write a width x height RGB image to f, asking row(ctx, y, buf) for each row in
 * order, so the whole image never has to be in memory.  Returns 0, or -1 with
 * err set (f then holds a partial image: use fe_out so it is discarded). */
int fe_png_write_rgb_rows(FILE *f, uint32_t width, uint32_t height,
                          fe_png_row_fn row, void *ctx, fe_err *err);

/* Same, from a packed buffer of height rows of width*3 bytes. */
int fe_png_write_rgb(FILE *f, const uint8_t *rgb, uint32_t width, uint32_t height,
                     fe_err *err);

/* Atomically write a packed RGB buffer to path (NULL or "-": stdout, refused when
 * it is a terminal).  On failure nothing is left under path. */
int fe_png_save_rgb(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                    fe_err *err);

#endif
