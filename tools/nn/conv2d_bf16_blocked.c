/* conv2d_bf16_blocked.c - `--precision bf16` convolution on the blocked layout
 * (layers.h: 16 images of a pixel side by side): direct convolution with bf16
 * products and float32 sums, without im2col.  The operands are rounded to
 * bf16 once, into copies laid out for VDPBF16PS (one 32-bit word = a pair of
 * bf16 along the sum), and the micro-kernels read them in place:
 *
 *   forward and input gradient (lanes = the 16 images of a block, pairs
 *   along the channels summed over):
 *     B  [C/2][block][Hq][Wq][16]  the input (forward) or dy (dx), zero-padded
 *                                  so that every tap of a tile is a plain load
 *     A  [m/6][tap][6]             the filters, a tap = (channel pair, kh, kw)
 *     6 output channels x 4 pixels x 16 images in 24 registers; per tap
 *     4 loads of B, 6 broadcasts of A, 24 VDPBF16PS.
 *     The input gradient of a stride-s conv runs as s*s such passes, one per
 *     class of input pixels (row and column mod s), each with the taps that
 *     reach it (conv_geom: stride 2 convs of ResNet-18).
 *   weight gradient (lanes = 16 output channels, pairs along the images):
 *     dyT [block][pixel][8][cout64]   dy, each word two images of a pixel
 *     xq  [cin][block][Hq][Wq][8]     the input, each word two images
 *     6 taps (ci, kh, kw) x 64 output channels in 24 registers, summed over
 *     every pixel and image pair of a block; per pair 4 loads of dyT, 6
 *     broadcasts of xq, 24 VDPBF16PS.  The sums stay in a [tap][cout] float
 *     array across the blocks, each tap's row owned by one thread.
 *
 * Each output element is summed by one thread in a fixed order, so results do
 * not depend on the thread count.  The kernels (bf16_kernels.c) exist twice:
 * with AVX512_BF16, and in portable C doing VDPBF16PS's arithmetic, which the
 * tests run on every CPU.  The copies are rounded to nearest even by portable
 * C in both. */
#include "bf16_blocked.h"
#include "clones.h"

#define NBC 4            /* blocks of 16 images per chunk of the copies */

/* ---- the sizes of the copies, per chunk of NBC blocks ---- */

typedef struct {
    int c2, co2;            /* channel pairs of x and of dy */
    int hq, wq;             /* x padded: forward B and xq */
    int hd, wd, qh, qw;     /* dy padded for the input gradient, and its top/left pad */
    int ktaps, k6, co64;    /* cin*k*k, rounded up to TQ; cout rounded up to CV */
    size_t xp, xq, dyp, dyt;  /* words per block of each copy */
} plan;

/* The input gradient's class (ph, pw) (input rows = s*a + ph): kernel row kh
 * reaches it when s divides ph + p - kh, from dy row a + (ph + p - kh) / s. */
static int reaches(const conv_geom *g, int ph, int kh, int *d)
{
    const int t = ph + g->pad - kh;
    if (t % g->stride)
        return 0;
    *d = t / g->stride;
    return 1;
}

static void plan_of(const conv_geom *g, plan *P)
{
    const int s = g->stride, k = g->k;
    P->c2 = (g->cin + 1) / 2;
    P->co2 = (g->cout + 1) / 2;
    P->hq = g->h + 2 * g->pad;
    P->wq = g->w + 2 * g->pad;
    const int wt = (fe_up(g->ow, NP) - 1) * s + k;     /* the last tile's columns */
    if (wt > P->wq)
        P->wq = wt;
    /* dy's pad: every class's taps, every row and (tile-rounded) column */
    int dmin = 0, hneed = g->oh, wneed = g->ow;
    for (int ph = 0; ph < s; ph++)
        for (int kh = 0; kh < k; kh++) {
            int d;
            if (!reaches(g, ph, kh, &d))
                continue;
            const int rows = (g->h - ph + s - 1) / s, cols = (g->w - ph + s - 1) / s;
            if (-d > dmin)
                dmin = -d;
            if (rows - 1 + d + 1 > hneed)
                hneed = rows + d;
            if (fe_up(cols, NP) - 1 + d + 1 > wneed)
                wneed = fe_up(cols, NP) + d;
        }
    P->qh = P->qw = dmin;
    P->hd = dmin + hneed;
    P->wd = dmin + wneed;
    P->ktaps = g->cin * k * k;
    P->k6 = fe_up(P->ktaps, TQ);
    P->co64 = fe_up(g->cout, CV);
    P->xp = (size_t)P->c2 * P->hq * P->wq * 16;
    P->xq = (size_t)g->cin * P->hq * P->wq * 8;
    P->dyp = (size_t)P->co2 * P->hd * P->wd * 16;
    P->dyt = (size_t)g->oh * g->ow * 8 * P->co64;
}

static size_t chunk_words(const plan *P)
{
    const size_t f = P->xp, b = P->dyt + P->xq > P->dyp ? P->dyt + P->xq : P->dyp;
    return (f > b ? f : b) * NBC;
}

/* The scratch, carved: A of either pass, the tap offsets (the input
 * gradient's every class, then the weight gradient's), the weight gradient's
 * sums [k6][co64], the copies of a chunk; each 64-byte aligned. */
typedef struct {
    uint32_t *a;
    int *off, *off_dw;
    float *dwt;
    uint32_t *chunk;
} carved;

static void sizes(const conv_geom *g, const plan *P, size_t part[5])
{
    const size_t kk = (size_t)g->k * g->k, a_fwd = (size_t)fe_up(g->cout, MR) * P->c2 * kk,
                 a_bwd = (size_t)fe_up(g->cin, MR) * P->co2 * kk;
    part[0] = a_fwd > a_bwd ? a_fwd : a_bwd;
    part[1] = (size_t)(P->c2 > P->co2 ? P->c2 : P->co2) * kk;
    part[2] = (size_t)P->k6;
    part[3] = (size_t)P->k6 * P->co64;
    part[4] = chunk_words(P);
}

size_t conv_bf16_blocked_scratch_floats(const conv_geom *g)
{
    plan P;
    size_t part[5];
    plan_of(g, &P);
    sizes(g, &P, part);
    return bf16_carve(NULL, part, 5, NULL);
}

static carved carve(const conv_geom *g, const plan *P, float *scratch)
{
    size_t part[5];
    void *at[5];
    sizes(g, P, part);
    bf16_carve(scratch, part, 5, at);
    return (carved){.a = at[0], .off = at[1], .off_dw = at[2], .dwt = at[3], .chunk = at[4]};
}

/* ---- the copies ---- */

/* The zero border of a padded plane [hq][wq][wl] words around rows [top,
 * top+h) and columns [left, left+w) (the copies write the inside). */
static void zero_border(uint32_t *o, int hq, int wq, int wl, int top, int left, int h, int w)
{
    for (int r = 0; r < hq; r++) {
        uint32_t *row = o + (size_t)r * wq * wl;
        if (r < top || r >= top + h) {
            memset(row, 0, sizeof(uint32_t) * wq * wl);
            continue;
        }
        memset(row, 0, sizeof(uint32_t) * left * wl);
        memset(row + (size_t)(left + w) * wl, 0, sizeof(uint32_t) * (wq - left - w) * wl);
    }
}

/* Channel pairs of t (c channels, h x w) for blocks [b0, b0+nbc), into
 * [c/2][nbc][hq][wq][16] words with (top, left) zero pad. */
FE_CLONES static void copy_pairs(const float *t, int c, int n, int h, int w, int blk, int b0,
                                 int nbc, int top, int left, int hq, int wq, uint32_t *dst)
{
    const size_t hw = (size_t)h * w;
    const int c2 = (c + 1) / 2;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int cp = 0; cp < c2; cp++)
        for (int bb = 0; bb < nbc; bb++) {
            uint32_t *o = dst + ((size_t)cp * nbc + bb) * hq * wq * 16;
            zero_border(o, hq, wq, 16, top, left, h, w);
            const int two = 2 * cp + 1 < c;
            const blk_view e = view(t, 2 * cp, n, b0 + bb, hw, blk),
                           f = view(t, two ? 2 * cp + 1 : 2 * cp, n, b0 + bb, hw, blk);
            const uint32_t keep = two ? 0xffffffffu : 0;
            for (int r = 0; r < h; r++)
                for (int q = 0; q < w; q++) {
                    uint32_t *ow = o + ((size_t)(r + top) * wq + q + left) * 16;
                    const size_t p = (size_t)r * w + q;
                    float a[FE_NB], b[FE_NB];
                    lanes16(&e, p, a);
                    lanes16(&f, p, b);
                    for (int l = 0; l < FE_NB; l++)
                        ow[l] = bf16_bits(a[l]) | (bf16_bits(b[l]) << 16 & keep);
                }
        }
}

/* Image pairs of x for blocks [b0, b0+nbc): [cin][nbc][hq][wq][8] words, pad p. */
FE_CLONES static void copy_x_images(const conv_geom *g, const plan *P, int n, const float *x,
                                    int b0, int nbc, uint32_t *dst)
{
    const size_t hw = (size_t)g->h * g->w;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int ci = 0; ci < g->cin; ci++)
        for (int bb = 0; bb < nbc; bb++) {
            uint32_t *o = dst + ((size_t)ci * nbc + bb) * P->hq * P->wq * 8;
            zero_border(o, P->hq, P->wq, 8, g->pad, g->pad, g->h, g->w);
            const blk_view e = view(x, ci, n, b0 + bb, hw, g->bx);
            for (int r = 0; r < g->h; r++)
                for (int q = 0; q < g->w; q++) {
                    uint32_t *ow = o + ((size_t)(r + g->pad) * P->wq + q + g->pad) * 8;
                    float a[FE_NB];
                    lanes16(&e, (size_t)r * g->w + q, a);
                    for (int i = 0; i < 8; i++)
                        ow[i] = bf16_bits(a[2 * i]) | bf16_bits(a[2 * i + 1]) << 16;
                }
        }
}

/* dy (blocked) for blocks [b0, b0+nbc), transposed: [nbc][oh*ow][8][co64] words.
 * Per pixel, 16 output channels at a time through a small tile, so that the
 * stores run along the channels. */
FE_CLONES static void copy_dy_channels(const conv_geom *g, const plan *P, int n, const float *dy,
                                       int b0, int nbc, uint32_t *dst)
{
    const int ohw = g->oh * g->ow;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int bb = 0; bb < nbc; bb++)
        for (int p = 0; p < ohw; p++) {
            uint32_t *o = dst + ((size_t)bb * ohw + p) * 8 * P->co64;
            for (int co0 = 0; co0 < P->co64; co0 += 16) {
                uint32_t h[8][16];                      /* [image pair][channel] words */
                for (int c = 0; c < 16; c++) {
                    float a[FE_NB] = {0};
                    if (co0 + c < g->cout) {
                        const blk_view e = view(dy, co0 + c, n, b0 + bb, ohw, 1);
                        lanes16(&e, (size_t)p, a);
                    }
                    uint32_t wd[8];
                    for (int i = 0; i < 8; i++)
                        wd[i] = bf16_bits(a[2 * i]) | bf16_bits(a[2 * i + 1]) << 16;
                    for (int i = 0; i < 8; i++)
                        h[i][c] = wd[i];
                }
                for (int i = 0; i < 8; i++)
                    memcpy(o + (size_t)i * P->co64 + co0, h[i], sizeof h[i]);
            }
        }
}

/* ---- the layer ---- */

void conv2d_forward_bf16_blocked(const conv_geom *g, int n, const float *x, const float *w,
                                 float *y, float *scratch, int portable)
{
    plan P;
    plan_of(g, &P);
    const carved S = carve(g, &P, scratch);
    const int k = g->k, kk = k * k, ntaps = P.c2 * kk, m6 = fe_up(g->cout, MR);
    /* A: per 6 output channels, per tap (channel pair, kh, kw) */
    for (int m0 = 0; m0 < m6; m0 += MR)
        for (int cp = 0; cp < P.c2; cp++)
            for (int kq = 0; kq < kk; kq++)
                for (int i = 0; i < MR; i++) {
                    const int co = m0 + i, c0 = 2 * cp;
                    uint32_t v = 0;
                    if (co < g->cout) {
                        const float *wr = w + (size_t)co * g->cin * kk + kq;
                        v = bf16_bits(wr[(size_t)c0 * kk]) |
                            (c0 + 1 < g->cin ? bf16_bits(wr[(size_t)(c0 + 1) * kk]) : 0) << 16;
                    }
                    S.a[(size_t)m0 * ntaps + ((size_t)cp * kk + kq) * MR + i] = v;
                }
    const bf16_kernels K = bf16_kernels_for(portable);
    const int nb = (n + FE_NB - 1) / FE_NB;
    for (int b0 = 0; b0 < nb; b0 += NBC) {
        const int nbc = nb - b0 < NBC ? nb - b0 : NBC;
        for (int cp = 0; cp < P.c2; cp++)
            for (int kq = 0; kq < kk; kq++)
                S.off[cp * kk + kq] = ((cp * nbc * P.hq + kq / k) * P.wq + kq % k) * 16;
        copy_pairs(x, g->cin, n, g->h, g->w, g->bx, b0, nbc, g->pad, g->pad, P.hq, P.wq,
                   S.chunk);
        const bf16_pass p = {.m = g->cout, .ntaps = ntaps, .a = S.a, .off = S.off, .b = S.chunk,
                        .bh = P.hq, .bw = P.wq, .brs = g->stride, .bstep = g->stride * 16,
                        .rows = g->oh, .cols = g->ow, .rs = 1, .cs = 1,
                        .out = y, .oh = g->oh, .ow = g->ow, .blk = 1};
        bf16_run_pass(&p, n, b0, nbc, K.tile);
    }
}

/* The weight gradient of blocks [b0, b0+nbc) into S->dwt (added). */
static void dw_chunk(const conv_geom *g, const plan *P, const carved *S, int n, const float *x,
                     const float *dy, int b0, int nbc, kern_dw kern)
{
    const int k = g->k, kk = k * k, s = g->stride, ohw = g->oh * g->ow;
    uint32_t *dyt = S->chunk, *xq = S->chunk + P->dyt * nbc;
    copy_dy_channels(g, P, n, dy, b0, nbc, dyt);
    copy_x_images(g, P, n, x, b0, nbc, xq);
    for (int q = 0; q < P->k6; q++) {
        const int t = q < P->ktaps ? q : 0, ci = t / kk, kq = t % kk;   /* padding taps: discarded */
        S->off_dw[q] = ((ci * nbc * P->hq + kq / k) * P->wq + kq % k) * 8;
    }
    /* rows of dy per call: their dyT (all output channels) about 256 KiB, in L2 */
    const size_t row_words = (size_t)g->ow * 8 * P->co64;
    int R = (int)((256u << 10) / 4 / row_words);
    R = R < 1 ? 1 : R > g->oh ? g->oh : R;
    const int groups = P->k6 / TQ, cgroups = P->co64 / CV;
    #pragma omp parallel
    for (int bb = 0; bb < nbc; bb++)
        for (int r0 = 0; r0 < g->oh; r0 += R) {
            const int nr = g->oh - r0 < R ? g->oh - r0 : R;
            const uint32_t *xb = xq + ((size_t)bb * P->hq + (size_t)r0 * s) * P->wq * 8,
                           *db = dyt + ((size_t)bb * ohw + (size_t)r0 * g->ow) * 8 * P->co64;
            /* the same taps to the same thread every time (static): no races,
             * and every sum in the order of the blocks and rows */
            #pragma omp for schedule(static) nowait
            for (int tg = 0; tg < groups; tg++)
                for (int cg = 0; cg < cgroups; cg++)
                    kern(nr, g->ow, xb, S->off_dw + tg * TQ, (size_t)s * P->wq * 8, s * 8,
                         db + cg * CV, P->co64, row_words,
                         S->dwt + (size_t)tg * TQ * P->co64 + cg * CV, P->co64);
        }
}

/* The input gradient of blocks [b0, b0+nbc): one pass per class of input
 * pixels (row and column mod stride). */
static void dx_chunk(const conv_geom *g, const plan *P, const carved *S, int n, const float *dy,
                     float *dx, int accumulate, const float *mask, int b0, int nbc,
                     kern_tile tile)
{
    const int k = g->k, s = g->stride, m6 = fe_up(g->cin, MR);
    copy_pairs(dy, g->cout, n, g->oh, g->ow, 1, b0, nbc, P->qh, P->qw, P->hd, P->wd, S->chunk);
    const uint32_t *a = S->a;
    int *off = S->off;
    for (int ph = 0; ph < s; ph++)
        for (int pw = 0; pw < s; pw++) {
            int ntaps = 0;
            for (int cp = 0; cp < P->co2; cp++)
                for (int kh = 0; kh < k; kh++)
                    for (int kw = 0; kw < k; kw++) {
                        int dh, dw;
                        if (reaches(g, ph, kh, &dh) && reaches(g, pw, kw, &dw))
                            off[ntaps++] = ((cp * nbc * P->hd + P->qh + dh) * P->wd + P->qw + dw) * 16;
                    }
            const bf16_pass p = {.m = g->cin, .ntaps = ntaps, .a = a, .off = off, .b = S->chunk,
                            .bh = P->hd, .bw = P->wd, .brs = 1, .bstep = 16,
                            .rows = (g->h - ph + s - 1) / s, .cols = (g->w - pw + s - 1) / s,
                            .rs = s, .r0 = ph, .cs = s, .c0 = pw,
                            .out = dx, .oh = g->h, .ow = g->w, .blk = g->bx,
                            .accumulate = accumulate, .mask = mask};
            bf16_run_pass(&p, n, b0, nbc, tile);
            a += (size_t)m6 * ntaps;
            off += ntaps;
        }
}

/* The input gradient's A for the class (ph, pw) at a: per 6 input channels,
 * per tap (pair of output channels, kh, kw) that reaches the class, in the
 * order dx_chunk numbers them.  Returns the class's taps. */
static int pack_dx_class(const conv_geom *g, const plan *P, const float *w, int ph, int pw,
                         uint32_t *a)
{
    const int k = g->k, kk = k * k, m6 = fe_up(g->cin, MR);
    int ntaps = 0, d;
    for (int fill = 0; fill < 2; fill++) {          /* count, then fill */
        int q = 0;
        for (int cp = 0; cp < P->co2; cp++)
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0; kw < k; kw++) {
                    if (!reaches(g, ph, kh, &d) || !reaches(g, pw, kw, &d))
                        continue;
                    for (int i = 0; fill && i < m6; i++) {
                        const int ci = i, c0 = 2 * cp;
                        const size_t o = (size_t)ci * kk + kh * k + kw, cs = (size_t)g->cin * kk;
                        uint32_t v = 0;
                        if (ci < g->cin)
                            v = bf16_bits(w[c0 * cs + o]) |
                                (c0 + 1 < g->cout ? bf16_bits(w[(c0 + 1) * cs + o]) : 0) << 16;
                        a[(size_t)(i / MR) * MR * ntaps + (size_t)q * MR + i % MR] = v;
                    }
                    q++;
                }
        ntaps = q;
    }
    return ntaps;
}

int conv2d_backward_bf16_blocked(const conv_geom *g, int n, const float *x, const float *w,
                                 const float *dy, float *dw, float *dx, int accumulate_dx,
                                 const float *mask, float *scratch, int portable)
{
    plan P;
    plan_of(g, &P);
    const carved S = carve(g, &P, scratch);
    const int s = g->stride, m6 = fe_up(g->cin, MR);
    const bf16_kernels K = bf16_kernels_for(portable);
    if (dw)
        memset(S.dwt, 0, sizeof(float) * P.k6 * P.co64);
    if (dx) {
        uint32_t *a = S.a;
        for (int ph = 0; ph < s; ph++)
            for (int pw = 0; pw < s; pw++)
                a += (size_t)m6 * pack_dx_class(g, &P, w, ph, pw, a);
    }
    const int nb = (n + FE_NB - 1) / FE_NB;
    for (int b0 = 0; b0 < nb; b0 += NBC) {
        const int nbc = nb - b0 < NBC ? nb - b0 : NBC;
        if (dw)
            dw_chunk(g, &P, &S, n, x, dy, b0, nbc, K.dw);
        if (dx)
            dx_chunk(g, &P, &S, n, dy, dx, accumulate_dx, mask, b0, nbc, K.tile);
    }
    if (dw)
        for (int co = 0; co < g->cout; co++)
            for (int q = 0; q < P.ktaps; q++)
                dw[(size_t)co * P.ktaps + q] = S.dwt[(size_t)q * P.co64 + co];
    return dx && mask;
}
