/* conv5x5.h - internal to conv5x5.c and conv5x5_avx2.c: the padded image tile
 * and the AVX2 kernels (the public entry points are in layers.h). */
#ifndef FE_CONV5X5_H
#define FE_CONV5X5_H

#include <string.h>
#include "layers.h"

#define C5_PW 40    /* padded input row: 32 output lanes + 4 kernel taps, rounded up */
#define C5_PH 36    /* padded input rows */
#define C5_COB 6    /* output channels per register block */
#define C5_MAXCO 16 /* output channels whose gradient sums stay in one stack tile */

/* The zero-padded image in a C5_PH x C5_PW tile: output (oh, ow) reads tile
 * rows oh..oh+4, columns ow..ow+4.  (Inline here, so that conv5x5_avx2.c does
 * not call back into conv5x5.c, which calls it: test_layering.sh.) */
static inline void conv5x5_pad_image(const conv_geom *g, const float *x, float *xp)
{
    memset(xp, 0, sizeof(float) * C5_PH * C5_PW);
    for (int i = 0; i < g->h; i++)
        memcpy(xp + (i + g->pad) * C5_PW + g->pad, x + (size_t)i * g->w, sizeof(float) * g->w);
}

/* conv5x5c1_relu_pool_forward with AVX2 registers (8 floats): the same
 * products and sums in the same order, so the same bits.  Only on a CPU with
 * AVX2 (conv5x5c1_relu_pool_forward calls it where there is no AVX-512). */
void conv5x5c1_relu_pool_forward_avx2(const conv_geom *g, int n, int n0, int nc,
                                      const float *x, const float *w, const float *b,
                                      float *y, float *p);
/* conv5x5c1_pool_relu_backward_w likewise: per-lane sums of 8 floats where
 * conv5x5.c has 16, summed in the same order, so the same bits. */
void conv5x5c1_pool_relu_backward_w_avx2(const conv_geom *g, int n, int n0, int nc,
                                         const float *x, const float *y, const float *dp,
                                         float *dw, float *db);

#endif
