/* bf16_blocked.h - what the bf16 convolutions on the blocked layout share
 * (conv2d_bf16_blocked.c: direct; winograd2_bf16.c: Winograd F(2x2,3x3)):
 * rounding to bf16, reading a block's lanes, the two VDPBF16PS micro-kernels
 * (bf16_kernels.c) and the pass that runs the tile kernel over an output.
 * Internal to tools/nn. */
#ifndef FE_BF16_BLOCKED_H
#define FE_BF16_BLOCKED_H

#include <stdint.h>
#include <string.h>
#include "layers.h"

#define MR 6             /* output channels per tile of the tile kernel */
#define NP 4             /* pixels per tile */
#define TQ 6             /* taps per tile of the weight-gradient kernel */
#define CV 64            /* output channels per weight-gradient tile (4 vectors) */

static inline int fe_up(int a, int b) { return (a + b - 1) / b * b; }

/* ---- float32 -> bf16, to nearest even (a NaN stays a quiet NaN) ---- */

static inline uint32_t bf16_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : r;
}

static inline float bf16_float(uint32_t h)
{
    const uint32_t u = h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A tensor [c][n][h][w], blocked (blk) or plain: where image block b0's
 * channel ch starts, and its lane and pixel strides. */
typedef struct {
    const float *base;
    size_t lane, pix;
    int w;                  /* images in the block */
} blk_view;

static inline blk_view view(const float *t, int ch, int n, int b0, size_t hw, int blk)
{
    const int i0 = b0 * FE_NB, w = fe_blk_w(n, i0);
    return (blk_view){.base = t + ((size_t)ch * n + i0) * hw, .lane = blk ? 1 : hw,
                      .pix = blk ? (size_t)w : 1, .w = w};
}

/* One pixel's lanes of a block: whole blocks of the blocked layout read 16
 * contiguous floats (the loops below then run as vectors), the rest lane by
 * lane; lanes past the block's images are 0. */
static inline void lanes16(const blk_view *e, size_t p, float *v)
{
    const float *s = e->base + p * e->pix;
    if (e->lane == 1 && e->w == FE_NB) {
        memcpy(v, s, sizeof(float) * FE_NB);
        return;
    }
    for (int l = 0; l < FE_NB; l++)
        v[l] = l < e->w ? s[l * e->lane] : 0.0f;
}

/* Scratch cut into n parts of part[i] floats (words), each 64-byte aligned:
 * at[i] (when scratch is non-NULL); returns the floats it takes from scratch. */
static inline size_t bf16_carve(float *scratch, const size_t *part, int n, void **at)
{
    size_t sum = 16;                            /* the first part's alignment */
    float *q = scratch ? (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63) : NULL;
    for (int i = 0; i < n; i++) {
        const size_t len = (part[i] + 15) / 16 * 16;
        if (q) {
            at[i] = q;
            q += len;
        }
        sum += len;
    }
    return sum;
}

/* The micro-kernels (bf16_kernels.c).
 * tile: t[MR][NP][16] = sum over taps q of A[q][r] . B[off[q] + j * pstep]
 *       (A: [ntaps][MR] words, B: 16 words a pixel; pairs of bf16 in each).
 * dw:   acc[q][v] (q < TQ rows of ldacc floats, v < CV) += the sum over nrows
 *       rows, npix pixels and 8 pairs of x[off[q] + r*xrow + px*xpix + i] .
 *       d[r*drow + (px*8 + i)*ldd + v]. */
typedef void (*kern_tile)(int ntaps, const uint32_t *a, const int *off, const uint32_t *b,
                          int pstep, float *t);
typedef void (*kern_dw)(int nrows, int npix, const uint32_t *x, const int *off, size_t xrow,
                        int xpix, const uint32_t *d, int ldd, size_t drow, float *acc, int ldacc);
typedef struct {
    kern_tile tile;
    kern_dw dw;
} bf16_kernels;
/* portable 1: VDPBF16PS's arithmetic in C (every CPU); 0: AVX512_BF16. */
bf16_kernels bf16_kernels_for(int portable);

/* A pass in the forward's form over an output tensor [m][on][oh][ow] (blocked
 * or plain) holding images [oi0, oi0 + on) of the batch of n: its rows
 * r*rs + r0 and columns c*cs + c0, r < rows, c < cols, each the sum over the
 * pass's taps q of A . B[base(bb, r, c) + off[q]], base = ((bb*bh + r*brs)*bw)*16
 * + c*bstep words, for the blocks [b0, b0+nbc) of B.  Every output element
 * is written once, by one tile, so the result does not depend on the threads. */
typedef struct {
    int m, ntaps;
    const uint32_t *a;      /* [up(m, MR) / MR][ntaps][MR] */
    const int *off;
    const uint32_t *b;
    int bh, bw, brs, bstep;
    int rows, cols, rs, r0, cs, c0;
    float *out;
    int on, oi0;            /* the output's images (0, 0: all n of the batch) */
    int oh, ow, blk;        /* the output's plane and layout */
    int accumulate;
    const float *mask;      /* then out = 0 where mask <= 0 (same layout); or NULL */
    int nsub;               /* > 1: as many passes side by side, the s-th with a, b and
                               out advanced by s times a_step, b_step, out_step */
    size_t a_step, b_step, out_step;
} bf16_pass;
void bf16_run_pass(const bf16_pass *P, int n, int b0, int nbc, kern_tile tile);

#endif
