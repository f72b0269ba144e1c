/* heatmap_render.h - a matrix (or a stack of them) as colour pixels.
 *
 * A 2-D [H,W] float32 tensor becomes one image; a 3-D [N,H,W] tensor a grid of
 * N tiles, row-major (tile i at grid row i / cols, column i % cols), with gap
 * pixels of a background colour between tiles.  A 4-D [O,I,KH,KW] tensor (a conv
 * weight) is the 3-D stack [O*I,KH,KW] whose grid has I columns by default: filter
 * (o, i) at row o, column i (with I = 1, the default grid of O tiles).  Matrix row 0 is at the top (as
 * matplotlib's imshow).  Every value pixel is upscaled to a K x K block
 * (nearest neighbour).
 *
 * Colour of a value v with the range [vmin, vmax] (per tile with per_tile):
 *   t = (v - vmin) / (vmax - vmin), clamped to [0, 1]; colour = LUT[round(t*255)].
 *   +inf counts as above vmax and -inf as below vmin; NaN is drawn in HM_NAN_RGB.
 *   vmin == vmax (e.g. constant data): v < vmin -> LUT[0], v > vmax -> LUT[255],
 *   v == vmin -> LUT[128] (the middle).
 *
 * Colormaps (256 entries each):
 *   grey       LUT[i] = (i, i, i): vmin black, vmax white.
 *   viridis    matplotlib's viridis (_viridis_data, CC0), each channel round(255*x):
 *              LUT[0] = (68,1,84), LUT[255] = (253,231,37).
 *   diverging  matplotlib's RdBu_r: ColorBrewer RdBu's 11 colours, reversed (dark
 *              blue -> near-white #f7f7f7 -> dark red), linearly interpolated at
 *              i/255 as LinearSegmentedColormap does, rounded.  Its default range
 *              is symmetric: [-m, m] with m = max |finite value|.
 * Defaults: vmin/vmax = finite min/max of the data (of each tile with per_tile),
 * an explicit vmin/vmax overrides its end (for every tile). */
#ifndef FE_HEATMAP_RENDER_H
#define FE_HEATMAP_RENDER_H

#include <stdint.h>
#include <stdio.h>
#include "fe.h"
#include "tensor.h"

typedef enum { HM_GREY, HM_VIRIDIS, HM_DIVERGING } hm_cmap;

/* NaN pixels: magenta, in no colormap. */
#define HM_NAN_R 255
#define HM_NAN_G 0
#define HM_NAN_B 255

/* Limits on the output image. */
#define HM_MAX_SIDE  32768                        /* pixels per side */
#define HM_MAX_BYTES ((int64_t)256 * 1024 * 1024) /* width * height * 3 */
/* Automatic scale: the smallest K that makes the short side >= HM_AUTO_SHORT,
 * reduced (not below 1) so the long side stays <= HM_AUTO_LONG. */
#define HM_AUTO_SHORT 256
#define HM_AUTO_LONG  8192

typedef struct {
    hm_cmap cmap;
    int has_vmin, has_vmax;
    double vmin, vmax;   /* finite, used when has_vmin / has_vmax */
    int64_t scale;       /* K >= 1, or 0: automatic */
    int64_t cols;        /* tiles per grid row (3-D, 4-D), or 0: ceil(sqrt(N)); 4-D: I */
    int64_t gap;         /* output pixels between tiles (3-D), or -1: max(1, K/4) */
    int per_tile;        /* 3-D: each tile its own default range */
} hm_opts;

/* A resolved layout and colour scale.  It points into the tensor's data, which
 * must outlive it. */
typedef struct {
    const float *data;
    int64_t n, h, w;             /* tiles and their shape (n = 1 for 2-D) */
    int64_t scale, cols, rows, gap;
    int64_t width, height;       /* output image, pixels */
    double *vmin, *vmax;         /* range of each tile (n entries) */
    uint8_t lut[256][3];
    uint8_t bg[3];               /* gap and empty grid slots */
} hm_plan;

void hm_opts_init(hm_opts *o);     /* grey, automatic everything, shared range */
int hm_cmap_parse(const char *s, hm_cmap *c);   /* grey|gray|viridis|diverging */
const char *hm_cmap_name(hm_cmap c);
/* The 256-entry colour table of a map, and the background (gap) colour used
 * with it: grey -> #3c5078 (blue-grey), viridis -> white, diverging -> #808080. */
void hm_cmap_lut(hm_cmap c, uint8_t lut[256][3]);
void hm_cmap_bg(hm_cmap c, uint8_t bg[3]);

/* Index into the LUT (0..255) of a value with the range [vmin, vmax], or -1 for
 * NaN. */
int hm_index(float v, double vmin, double vmax);

/* Check the tensor (float32, 2-D, 3-D or 4-D, no zero-sized dimension, some finite
 * value), resolve the options, bound the image size.  Returns 0, or -1 with a
 * one-line reason in err. */
int hm_plan_make(hm_plan *p, const fe_tensor *t, const hm_opts *o, fe_err *err);
void hm_plan_free(hm_plan *p);

/* Row y (0 = top) of the image: width*3 bytes RGB. */
void hm_render_row(const hm_plan *p, int64_t y, uint8_t *row);
/* The whole image, malloc'd (width*height*3 bytes). */
uint8_t *hm_render(const hm_plan *p);
/* Write the image as an 8-bit RGB PNG, row by row. */
int hm_write_png(FILE *f, const hm_plan *p, fe_err *err);

#endif
