/* conv2d_sgemm.c - direct convolution with our own GEMM (sgemm.h) instead of
 * OpenBLAS's: for ResNet-18's stride-2 and 1x1 convolutions, which Winograd
 * F(4x4,3x3) does not cover.  On the 2-core Zen 5 whose environment selects
 * OpenBLAS's Haswell kernels these ran at 120-170 GFLOP/s (a quarter of
 * ResNet-18's convolution time); sgemm.h's AVX-512 tiles run the same shapes
 * faster (bench_train --layers 1 measures both).  The products are shared
 * among the threads by C's columns or rows, never along k, so the bits do not
 * depend on the thread count.
 *
 * With y blocked (g->by), the forward and the weight gradient read the patch
 * matrix without making it (implicit im2col): the GEMM asks for each block of
 * op(B) as it needs it (fe_sgemm_bsrc), and pack_cols/pack_cols_t copy it from
 * x.  The values, their order and the sums are im2col's, so the bits are the
 * same; the patch matrix's trip through memory is saved (at batch 512 it is
 * 2.25 times x for a 3x3 stride-2 conv).  The weight gradient keeps im2col's
 * chunks of images, whose sums are added to dw one chunk after another (the
 * same bits); the forward needs no chunks.  The input gradient still makes
 * the matrix's gradient (a chunk of it in col) and scatters it (col2im_add). */
#include <string.h>
#include <unistd.h>
#include "layers.h"
#include "sgemm.h"
#include "threads.h"
#include "transpose8_avx2.h"

#define NR FE_SGEMM_NR

/* The patch matrix of images [n0, n0 + ...) of x, in y's blocked column order
 * (image block, output pixel, lane): column c, row (ci * k + ki) * k + kj. */
typedef struct {
    const conv_geom *g;
    int n_total, n0;
    const float *x;
    int avx2;           /* pack_cols_t may transpose with AVX2 (x blocked, the CPU has it) */
} patches;

/* Where column c's pixel is: its first input pixel (ih0, iw0), its block's
 * first image i0 and width w, its lane l. */
typedef struct {
    int ih0, iw0, i0, w, l;
} column;

static column column_at(const patches *P, int c)
{
    const conv_geom *g = P->g;
    const int ohw = g->oh * g->ow, b = c / (ohw * FE_NB), r = c % (ohw * FE_NB);
    column o;
    o.i0 = P->n0 + b * FE_NB;
    o.w = fe_blk_w(P->n_total, o.i0);
    o.l = r % o.w;
    const int q = r / o.w;
    o.ih0 = q / g->ow * g->stride - g->pad;
    o.iw0 = q % g->ow * g->stride - g->pad;
    return o;
}

/* A row of the patch matrix, (ci * k + ki) * k + kj, kept as its three parts
 * so that walking the rows needs no division. */
typedef struct {
    int ci, ki, kj;
} patch_row;

static patch_row patch_row_at(const conv_geom *g, int j)
{
    return (patch_row){j / (g->k * g->k), j / g->k % g->k, j % g->k};
}

static void next_row(const conv_geom *g, patch_row *r)
{
    if (++r->kj == g->k) {
        r->kj = 0;
        if (++r->ki == g->k) {
            r->ki = 0;
            r->ci++;
        }
    }
}

/* x at patch row r of column o's pixel, lane o.l, or NULL in the padding;
 * *lane: the distance between lanes. */
static const float *patch_at(const patches *P, const column *o, patch_row r, size_t *lane)
{
    const conv_geom *g = P->g;
    const int ih = o->ih0 + r.ki, iw = o->iw0 + r.kj;
    const size_t hw = (size_t)g->h * g->w;
    *lane = g->bx ? 1 : hw;
    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
        return NULL;
    const size_t pix = g->bx ? (size_t)o->w : 1;
    return P->x + ((size_t)r.ci * P->n_total + o->i0) * hw + ((size_t)ih * g->w + iw) * pix +
           (size_t)o->l * *lane;
}

/* op(B) = the patch matrix (the forward): rows [p0, p0 + kc), columns [j0, j0 + nr).
 * A pixel's lanes are one run of columns, copied row by row: 16 floats at once
 * where x is blocked and the block full (memcpy of a variable length is a call). */
static void pack_cols(const void *ctx, int j0, int nr, int p0, int kc, float *bp)
{
    const patches *P = ctx;
    for (int j = 0; j < nr;) {
        const column o = column_at(P, j0 + j);
        const int run = o.w - o.l < nr - j ? o.w - o.l : nr - j;
        patch_row r = patch_row_at(P->g, p0);
        const int ahead = 2 * P->g->stride;     /* the next strip's pixels, two to the right */
        for (int p = 0; p < kc; p++, next_row(P->g, &r)) {
            size_t lane;
            const float *src = patch_at(P, &o, r, &lane);
            float *dst = bp + (size_t)p * NR + j;
            if (run == FE_NB && lane == 1) {
                if (src && o.iw0 + r.kj + ahead < P->g->w)
                    __builtin_prefetch(src + ahead * FE_NB);
                if (src)
                    memcpy(dst, src, sizeof(float) * FE_NB);
                else
                    memset(dst, 0, sizeof(float) * FE_NB);
            } else {
                for (int t = 0; t < run; t++)
                    dst[t] = src ? src[t * lane] : 0.0f;
            }
        }
        j += run;
    }
}

static const float zeros[FE_NB];

/* 16 lanes of x (blocked) for 8 patch rows from *r (then moved past them),
 * transposed: bp[t * NR + i] for lane t, row i.  Each row's pixel is also
 * fetched `ahead` channels on, where the GEMM's next block of rows will read
 * (x's lines come from memory one by one otherwise, at its latency). */
__attribute__((target("avx2")))
static void pack_pixel_avx2(const patches *P, const column *o, patch_row *r, int ahead, float *bp)
{
    const float *lo[8], *hi[8];
    const size_t plane = (size_t)P->n_total * P->g->h * P->g->w;
    for (int i = 0; i < 8; i++, next_row(P->g, r)) {
        size_t lane;
        const float *s = patch_at(P, o, *r, &lane);
        lo[i] = s ? s : zeros;
        hi[i] = s ? s + 8 : zeros;
        if (s && r->ci + ahead < P->g->cin)
            __builtin_prefetch(s + ahead * plane);
    }
    fe_transpose8_avx2(lo, bp, NR);
    fe_transpose8_avx2(hi, bp + 8 * NR, NR);
}

/* op(B) = the patch matrix transposed (the weight gradient): rows [p0, p0 + kc)
 * are columns of the patch matrix, columns [j0, j0 + nr) its rows. */
static void pack_cols_t(const void *ctx, int j0, int nr, int p0, int kc, float *bp)
{
    const patches *P = ctx;
    const int kk = P->g->k * P->g->k, ahead = (NR + kk - 1) / kk;   /* channels per call */
    for (int p = 0; p < kc;) {
        const column o = column_at(P, p0 + p);
        const int run = o.w - o.l < kc - p ? o.w - o.l : kc - p;
        patch_row r = patch_row_at(P->g, j0);
        int j = 0;
        if (P->avx2 && run == FE_NB)
            for (; j + 8 <= nr; j += 8)
                pack_pixel_avx2(P, &o, &r, ahead, bp + (size_t)p * NR + j);
        for (; j < nr; j++, next_row(P->g, &r)) {
            size_t lane;
            const float *src = patch_at(P, &o, r, &lane);
            for (int t = 0; t < run; t++)
                bp[(size_t)(p + t) * NR + j] = src ? src[t * lane] : 0.0f;
        }
        p += run;
    }
}

void conv2d_forward_sgemm(const conv_geom *g, int n, const float *x, const float *w, float *y,
                          float *col, size_t col_cap)
{
    const int K = g->cin * g->k * g->k;
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    if (g->by) {
        const patches P = {g, n, 0, x, 0};
        const fe_sgemm_bsrc src = {pack_cols, &P};
        fe_sgemm_threads_bsrc(0, g->cout, (int)ldy, K, w, K, &src, 0, y, (int)ldy);
        return;
    }
    const int chunk = conv_chunk(g, col_cap);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
        im2col(g, n, n0, nc, x, col);
        fe_sgemm_threads(0, 0, g->cout, cols, K, w, K, col, cols, 0, y + n0 * ohw, (int)ldy);
    }
}

/* dx += columns [c0, c0 + nr) of image block i0's patch-matrix gradient, its
 * rows for input channels [ci0, ci1) held in s[j * NR + (c - c0)]: pixel by
 * pixel from the last, so that with the blocks' columns handed in from the
 * last (dx_implicit) each element of dx gets its terms in col2im_add's order.
 * (Its term from output pixel (oh, ow) is patch row (ki, kj) = (ih + pad - oh *
 * stride, ...): col2im_add adds them by increasing (ki, kj), which is
 * decreasing (oh, ow).) */
static void scatter_cols(const conv_geom *g, int n_total, int i0, int ci0, int ci1, int c0, int nr,
                         const float *s, float *dx)
{
    const int w = fe_blk_w(n_total, i0), rows = (ci1 - ci0) * g->k * g->k;
    const size_t hw = (size_t)g->h * g->w, lane = g->bx ? 1 : hw, pix = g->bx ? (size_t)w : 1;
    for (int q = (c0 + nr - 1) / w; q >= c0 / w; q--) {
        const int l0 = c0 > q * w ? c0 - q * w : 0;
        const int l1 = c0 + nr < (q + 1) * w ? c0 + nr - q * w : w;
        const int ih0 = q / g->ow * g->stride - g->pad, iw0 = q % g->ow * g->stride - g->pad;
        const float *sq = s + (q * w + l0 - c0);
        patch_row r = {ci0, 0, 0};
        for (int j = 0; j < rows; j++, next_row(g, &r)) {
            const int ih = ih0 + r.ki, iw = iw0 + r.kj;
            if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                continue;
            float *d = dx + ((size_t)r.ci * n_total + i0) * hw + ((size_t)ih * g->w + iw) * pix +
                       (size_t)l0 * lane;
            const float *sr = sq + (size_t)j * NR;
            if (lane == 1 && l1 - l0 == FE_NB) {
                if (iw >= 2 * g->stride)         /* the next strip's pixel, two to the left */
                    __builtin_prefetch(d - 2 * g->stride * FE_NB, 1);
                for (int t = 0; t < FE_NB; t++)
                    d[t] += sr[t];
            }
            else
                for (int t = 0; t < l1 - l0; t++)
                    d[t * lane] += sr[t];
        }
    }
}

/* The input gradient with y blocked, without the patch matrix's gradient in
 * memory: the work is shared among the threads as (run of input channels,
 * image block) items, the runs outermost; a block's dx is touched by no other
 * block, a channel's by no other run.  For an item, a thread makes the
 * gradient columns 32 at a time from the last (W^T dy, the run's rows, by
 * fe_sgemm into its slice of col) and adds each to dx at once
 * (scatter_cols), then applies the mask.  The same sums as W^T dy over a
 * chunk then col2im_add: the same bits, whatever the runs.
 * - W^T is copied once, [K][cout], where col has room for it and the batch
 *   has 128 columns or more: the products' rows of op(A) are then contiguous.
 *   (At 64 columns, layer4.0.conv1 at batch 4, the copy cost more than it
 *   saved: 0.9 -> 1.2 ms.)  Read in place (W transposed, each
 *   row of op(A) a column of W, K floats apart), ResNet-18's layer4.0.conv1
 *   product streamed a 9 KiB-strided column per row.
 * - The runs are as many as the threads need when the blocks are fewer
 *   (batch 16: one block), and at least enough that a run's rows of W^T take
 *   half the CPU's L2 or less (sysconf; 256 KiB when it does not say): the
 *   run's rows then stay in L2 across its blocks, where all of W^T (4.5 MiB
 *   at layer4.0.conv1) went through the cache once per 32 columns.
 * On 2 cores of an Intel Xeon with a 2 MiB L2 (2026-12-07, tests/bench/ab.sh
 * direct HEAD 5, batch 512, two runs) the three 3x3 stride-2 convs' input
 * gradients took 79 -> 71, 81-83 -> 58-59 and 107-109 -> 65-69 ms with both
 * (W^T alone: 84 -> 79, 87 -> 70, 109 -> 76; runs of 256 or 512 KiB in place
 * of 1 MiB: 75-77 ms at layer4), the 1x1 ones within 1 ms.  The same bits in
 * every run.  With the AVX2 kernel forced on that CPU (a throwaway edit of
 * sgemm.c's kernel order): 108 -> 101, 113 -> 88 and 148 -> 107 ms.  Not
 * measured on a CPU without AVX-512 (a Zen 3's L2 is 512 KiB).
 * Returns 0 (and does nothing) when col cannot hold a K x 32 slice per thread. */
static size_t dx_run_bytes(void)
{
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return l2 >= 128 * 1024 ? (size_t)l2 / 2 : 256 * 1024;
}

static int dx_implicit(const conv_geom *g, int n, const float *w, const float *dy, float *dx,
                       float *col, size_t col_cap, const float *mask)
{
    const int kk = g->k * g->k, K = g->cin * kk, blocks = (n + FE_NB - 1) / FE_NB;
    const int nt = omp_get_max_threads();
    int groups = blocks >= nt ? 1 : (nt + blocks - 1) / blocks;
    const size_t wbytes = sizeof(float) * (size_t)K * g->cout, run = dx_run_bytes();
    if ((size_t)groups * run < wbytes)
        groups = (int)((wbytes + run - 1) / run);
    if (groups > g->cin)
        groups = g->cin;
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw, hw = (size_t)g->h * g->w;
    if (!g->by || col_cap < (size_t)nt * K * NR)
        return 0;
    float *wt = ldy >= 4 * NR && col_cap >= (size_t)nt * K * NR + (size_t)K * g->cout
                    ? col + (size_t)nt * K * NR : NULL;
    #pragma omp parallel
    {
        float *s = col + (size_t)omp_get_thread_num() * K * NR;
        if (wt) {                                   /* W^T, 16 of its rows at a time */
            #pragma omp for schedule(static)
            for (int r0 = 0; r0 < K; r0 += 16)
                for (int co = 0; co < g->cout; co++)
                    for (int r = r0; r < r0 + 16 && r < K; r++)
                        wt[(size_t)r * g->cout + co] = w[(size_t)co * K + r];
        }
        #pragma omp for schedule(static)
        for (int item = 0; item < blocks * groups; item++) {
            const int gi = item / blocks, b = item % blocks;
            const int ci0 = g->cin * gi / groups, ci1 = g->cin * (gi + 1) / groups;
            const int i0 = b * FE_NB, wb = fe_blk_w(n, i0), cols = (int)ohw * wb;
            const float *dyb = dy + (size_t)i0 * ohw;          /* the block's first column */
            for (int c0 = (cols - 1) / NR * NR; c0 >= 0; c0 -= NR) {
                const int nr = cols - c0 < NR ? cols - c0 : NR;
                if (wt)
                    fe_sgemm(0, 0, (ci1 - ci0) * kk, nr, g->cout, wt + (size_t)ci0 * kk * g->cout,
                             g->cout, dyb + c0, (int)ldy, 0, s, NR, NULL);
                else
                    fe_sgemm(1, 0, (ci1 - ci0) * kk, nr, g->cout, w + (size_t)ci0 * kk, K, dyb + c0,
                             (int)ldy, 0, s, NR, NULL);
                scatter_cols(g, n, i0, ci0, ci1, c0, nr, s, dx);
            }
            if (mask)
                for (int ci = ci0; ci < ci1; ci++) {
                    const size_t o = ((size_t)ci * n + i0) * hw, len = (size_t)wb * hw;
                    for (size_t i = 0; i < len; i++)
                        dx[o + i] = mask[o + i] > 0.0f ? dx[o + i] : 0.0f;
                }
        }
    }
    return 1;
}

void conv2d_backward_sgemm(const conv_geom *g, int n, const float *x, const float *w,
                           const float *dy, float *dw, float *dx, int accumulate_dx, float *col,
                           size_t col_cap, const float *mask)
{
    const int K = g->cin * g->k * g->k, chunk = conv_chunk(g, col_cap);
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    __builtin_cpu_init();
    const int avx2 = g->bx && __builtin_cpu_supports("avx2");
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)g->cin * n * g->h * g->w);
    if (dx && dx_implicit(g, n, w, dy, dx, col, col_cap, mask))
        dx = NULL;                                                  /* done */
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
        if (dw && g->by) {
            const patches P = {g, n, n0, x, avx2};
            const fe_sgemm_bsrc src = {pack_cols_t, &P};
            fe_sgemm_threads_bsrc(0, g->cout, K, cols, dy + n0 * ohw, (int)ldy, &src, n0 != 0,
                                  dw, K);
        } else if (dw) {
            im2col(g, n, n0, nc, x, col);
            fe_sgemm_threads(0, 1, g->cout, K, cols, dy + n0 * ohw, (int)ldy, col, cols, n0 != 0,
                             dw, K);
        }
        if (dx) {
            fe_sgemm_threads(1, 0, K, cols, g->cout, w, K, dy + n0 * ohw, (int)ldy, 0, col, cols);
            col2im_add(g, n, n0, nc, col, dx, mask);
        }
    }
}
