/* conv2d.c - 2-D convolution as im2col + one OpenBLAS sgemm per chunk of images.
 *
 * Layout: x [cin][N][h][w], y [cout][N][oh][ow], w [cout][cin*k*k] with the
 * patch index (ci*k + ki)*k + kj, as PyTorch's weight [cout][cin][k][k] flattens.
 * The im2col matrix of a chunk of nc images is [cin*k*k][nc*oh*ow]; the chunk's
 * output columns are a contiguous block of every output row, so the GEMM writes
 * straight into y with leading dimension N*oh*ow. */
#include <string.h>
#include <cblas.h>
#include "clones.h"
#include "layers.h"

void conv_geom_init(conv_geom *g, int cin, int cout, int k, int stride, int pad, int h, int w)
{
    g->cin = cin; g->cout = cout; g->k = k; g->stride = stride; g->pad = pad;
    g->h = h; g->w = w;
    g->oh = (h + 2 * pad - k) / stride + 1;
    g->ow = (w + 2 * pad - k) / stride + 1;
    g->bx = g->by = 0;
}

size_t conv_col_floats(const conv_geom *g, int chunk)
{
    return (size_t)g->cin * g->k * g->k * (size_t)g->oh * g->ow * (size_t)chunk;
}

int conv_chunk(const conv_geom *g, size_t col_cap)
{
    size_t per = conv_col_floats(g, 1);
    size_t c = per ? col_cap / per : 1;
    c = c < 1 ? 1 : (c > 1 << 20 ? 1 << 20 : c);
    if ((g->bx || g->by) && c >= FE_NB)
        c &= ~(size_t)(FE_NB - 1);
    return (int)c;
}

/* Output columns [lo, hi) of a row whose input column ow*s - p + kj is inside [0, W). */
static void valid_cols(int OW, int W, int s, int p, int kj, int *lo, int *hi)
{
    int a = p - kj > 0 ? (p - kj + s - 1) / s : 0;          /* first ow with iw >= 0 */
    int b = W - 1 + p - kj >= 0 ? (W - 1 + p - kj) / s + 1 : 0;  /* past the last ow with iw < W */
    *lo = a < OW ? a : OW;
    *hi = b < OW ? b : OW;
    if (*hi < *lo)
        *hi = *lo;
}

/* The blocked layout (layers.h): the chunk's columns are in y's blocked order,
 * block by block (image block i0, output pixel, lane), and each output pixel
 * of a block takes its input pixel's w lanes: one copy of w floats when x is
 * blocked too, w strided loads when x is plain (ResNet-18's first conv, on the
 * input images).  Every column holds the same values as in the plain order;
 * only their order differs, so y and dx get the same sums (the weight
 * gradient's sum over the columns runs in the new order). */
static void im2col_row_blk(const conv_geom *g, int n_total, int n0, int nc, int ci, int ki,
                           int kj, const float *x, float *dst)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, s = g->stride, p = g->pad;
    const size_t hw = (size_t)H * W;
    for (int i0 = n0; i0 < n0 + nc; i0 += FE_NB) {
        const int w = fe_blk_w(n_total, i0);
        const float *src = x + ((size_t)ci * n_total + i0) * hw;      /* either layout */
        const size_t lane = g->bx ? 1 : hw, pix = g->bx ? (size_t)w : 1;
        for (int oh = 0; oh < OH; oh++) {
            const int ih = oh * s - p + ki;
            for (int ow = 0; ow < OW; ow++, dst += w) {
                const int iw = ow * s - p + kj;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
                    for (int l = 0; l < w; l++)
                        dst[l] = 0.0f;
                    continue;
                }
                const float *sp = src + ((size_t)ih * W + iw) * pix;
                if (lane == 1 && w == FE_NB)
                    for (int l = 0; l < FE_NB; l++)
                        dst[l] = sp[l];
                else
                    for (int l = 0; l < w; l++)
                        dst[l] = sp[l * lane];
            }
        }
    }
}

/* dx += one row of the column matrix (blocked order), dx in either layout. */
static void col2im_row_blk(const conv_geom *g, int n_total, int n0, int nc, int ci, int ki,
                           int kj, const float *src, float *dx)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, s = g->stride, p = g->pad;
    const size_t hw = (size_t)H * W;
    for (int i0 = n0; i0 < n0 + nc; i0 += FE_NB) {
        const int w = fe_blk_w(n_total, i0);
        float *dst = dx + ((size_t)ci * n_total + i0) * hw;
        const size_t lane = g->bx ? 1 : hw, pix = g->bx ? (size_t)w : 1;
        for (int oh = 0; oh < OH; oh++) {
            const int ih = oh * s - p + ki;
            for (int ow = 0; ow < OW; ow++, src += w) {
                const int iw = ow * s - p + kj;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                    continue;
                float *dp = dst + ((size_t)ih * W + iw) * pix;
                if (lane == 1 && w == FE_NB)
                    for (int l = 0; l < FE_NB; l++)
                        dp[l] += src[l];
                else
                    for (int l = 0; l < w; l++)
                        dp[l * lane] += src[l];
            }
        }
    }
}

/* One row of the im2col matrix (patch position ci, ki, kj) for images
 * [n0, n0+nc): shared by the threaded im2col and the serial per-chunk one. */
static void im2col_row(const conv_geom *g, int n_total, int n0, int nc, int ci, int ki, int kj,
                       const float *x, float *dst)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, s = g->stride, p = g->pad;
    const size_t hw = (size_t)H * W;
    int lo, hi;
    valid_cols(OW, W, s, p, kj, &lo, &hi);
    for (int n = 0; n < nc; n++) {
        const float *src = x + ((size_t)ci * n_total + n0 + n) * hw;
        for (int oh = 0; oh < OH; oh++, dst += OW) {
            int ih = oh * s - p + ki;
            if (ih < 0 || ih >= H) {
                memset(dst, 0, sizeof(float) * OW);
                continue;
            }
            const float *row = src + (size_t)ih * W + kj - p;
            for (int ow = 0; ow < lo; ow++)
                dst[ow] = 0.0f;
            if (s == 1)
                memcpy(dst + lo, row + lo, sizeof(float) * (hi - lo));
            else
                for (int ow = lo; ow < hi; ow++)
                    dst[ow] = row[ow * s];
            for (int ow = hi; ow < OW; ow++)
                dst[ow] = 0.0f;
        }
    }
}

/* dx += col2im of one row of the column matrix (patch position ci, ki, kj). */
static void col2im_row(const conv_geom *g, int n_total, int n0, int nc, int ci, int ki, int kj,
                       const float *src, float *dx)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, s = g->stride, p = g->pad;
    const size_t hw = (size_t)H * W;
    int lo, hi;
    valid_cols(OW, W, s, p, kj, &lo, &hi);
    for (int n = 0; n < nc; n++) {
        float *dst = dx + ((size_t)ci * n_total + n0 + n) * hw;
        for (int oh = 0; oh < OH; oh++, src += OW) {
            int ih = oh * s - p + ki;
            if (ih < 0 || ih >= H)
                continue;
            float *row = dst + (size_t)ih * W + kj - p;
            if (s == 1)
                for (int ow = lo; ow < hi; ow++)
                    row[ow] += src[ow];
            else
                for (int ow = lo; ow < hi; ow++)
                    row[ow * s] += src[ow];
        }
    }
}

void im2col(const conv_geom *g, int n_total, int n0, int nc, const float *x, float *col)
{
    const int k = g->k;
    const size_t cols = (size_t)nc * g->oh * g->ow;
    #pragma omp parallel for collapse(3) schedule(static)
    for (int ci = 0; ci < g->cin; ci++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++)
                (g->by ? im2col_row_blk : im2col_row)(g, n_total, n0, nc, ci, ki, kj, x,
                                                      col + ((size_t)(ci * k + ki) * k + kj) * cols);
}

/* dx += col2im(col) for one chunk, then the mask.  A channel's chunk of dx is
 * complete once its k*k rows are in (earlier chunks hold other images). */
void col2im_add(const conv_geom *g, int n_total, int n0, int nc, const float *col, float *dx,
                const float *mask)
{
    const int k = g->k;
    const size_t cols = (size_t)nc * g->oh * g->ow, hw = (size_t)g->h * g->w;
    /* each input channel's planes receive only its own rows: no races */
    #pragma omp parallel for schedule(static)
    for (int ci = 0; ci < g->cin; ci++) {
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++)
                (g->by ? col2im_row_blk : col2im_row)(g, n_total, n0, nc, ci, ki, kj,
                                                      col + ((size_t)(ci * k + ki) * k + kj) * cols,
                                                      dx);
        if (mask) {          /* images n0 .. n0+nc-1 of channel ci, in either layout */
            const size_t o = ((size_t)ci * n_total + n0) * hw, len = (size_t)nc * hw;
            for (size_t i = 0; i < len; i++)
                dx[o + i] = mask[o + i] > 0.0f ? dx[o + i] : 0.0f;
        }
    }
}

void conv2d_forward(const conv_geom *g, int n, const float *x, const float *w, const float *b,
                    float *y, float *col, size_t col_cap)
{
    const int K = g->cin * g->k * g->k;
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    const int chunk = conv_chunk(g, col_cap);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        int nc = n - n0 < chunk ? n - n0 : chunk;
        im2col(g, n, n0, nc, x, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, (int)(nc * ohw), K,
                    1.0f, w, K, col, (int)(nc * ohw), 0.0f, y + n0 * ohw, (int)ldy);
    }
    if (b) {
        #pragma omp parallel for schedule(static)
        for (int co = 0; co < g->cout; co++) {
            float *yr = y + co * ldy, bv = b[co];
            for (size_t i = 0; i < ldy; i++)
                yr[i] += bv;
        }
    }
}

void conv2d_backward(const conv_geom *g, int n, const float *x, const float *w, const float *dy,
                     float *dw, float *db, float *dx, int accumulate_dx, float *col, size_t col_cap)
{
    const int K = g->cin * g->k * g->k;
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    const int chunk = conv_chunk(g, col_cap);
    if (db) {
        #pragma omp parallel for schedule(static)
        for (int co = 0; co < g->cout; co++) {
            const float *r = dy + co * ldy;
            double s = 0;
            for (size_t i = 0; i < ldy; i++)
                s += r[i];
            db[co] = (float)s;
        }
    }
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)g->cin * n * g->h * g->w);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        int nc = n - n0 < chunk ? n - n0 : chunk;
        int cols = (int)(nc * ohw);
        if (dw) {
            im2col(g, n, n0, nc, x, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, K, cols, 1.0f,
                        dy + n0 * ohw, (int)ldy, col, cols, n0 == 0 ? 0.0f : 1.0f, dw, K);
        }
        if (dx) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, cols, g->cout, 1.0f, w, K,
                        dy + n0 * ohw, (int)ldy, 0.0f, col, cols);
            col2im_add(g, n, n0, nc, col, dx, NULL);
        }
    }
}

/* ---- LeNet-5 fast paths ----
 * Chunk-level pieces for a caller that gives each thread whole chunks of images
 * (so these run serially, and OpenBLAS, called inside a parallel region, runs
 * single-threaded), plus a direct convolution for one input channel. */

/* im2col without OpenMP; same columns as im2col (stride 1 only). */
static void im2col_s1_serial(const conv_geom *g, int n_total, int n0, int nc, const float *x,
                             float *col)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, k = g->k, p = g->pad;
    const size_t cols = (size_t)nc * OH * OW, hw = (size_t)H * W;
    if (p == 0 && OW == 10) {
        /* LeNet's conv2: fixed 10-float rows copy inline, not through memcpy calls */
        for (int ci = 0; ci < g->cin; ci++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    float *dst = col + ((size_t)(ci * k + ki) * k + kj) * cols;
                    for (int n = 0; n < nc; n++) {
                        const float *src = x + ((size_t)ci * n_total + n0 + n) * hw + ki * W + kj;
                        for (int oh = 0; oh < OH; oh++, dst += 10)
                            memcpy(dst, src + (size_t)oh * W, sizeof(float) * 10);
                    }
                }
        return;
    }
    for (int ci = 0; ci < g->cin; ci++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++)
                im2col_row(g, n_total, n0, nc, ci, ki, kj, x,
                           col + ((size_t)(ci * k + ki) * k + kj) * cols);
}

/* dx = col2im(col) for the chunk's images (overwritten), stride 1, no OpenMP. */
static void col2im_s1_serial(const conv_geom *g, int n_total, int n0, int nc, const float *col,
                             float *dx)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, k = g->k, p = g->pad;
    const size_t cols = (size_t)nc * OH * OW, hw = (size_t)H * W;
    for (int ci = 0; ci < g->cin; ci++)
        memset(dx + ((size_t)ci * n_total + n0) * hw, 0, sizeof(float) * nc * hw);
    if (p == 0 && OW == 10) {
        /* LeNet's conv2: fixed 10-float rows, all inside the image */
        for (int ci = 0; ci < g->cin; ci++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    const float *src = col + ((size_t)(ci * k + ki) * k + kj) * cols;
                    for (int n = 0; n < nc; n++) {
                        float *dst = dx + ((size_t)ci * n_total + n0 + n) * hw + ki * W + kj;
                        for (int oh = 0; oh < OH; oh++, src += 10)
                            for (int ow = 0; ow < 10; ow++)
                                dst[(size_t)oh * W + ow] += src[ow];
                    }
                }
        return;
    }
    for (int ci = 0; ci < g->cin; ci++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++)
                col2im_row(g, n_total, n0, nc, ci, ki, kj,
                           col + ((size_t)(ci * k + ki) * k + kj) * cols, dx);
}

void conv2d_forward_chunk(const conv_geom *g, int n, int n0, int nc, const float *x,
                          const float *w, float *y, float *col)
{
    const int K = g->cin * g->k * g->k, cols = nc * g->oh * g->ow;
    const size_t ohw = (size_t)g->oh * g->ow;
    im2col_s1_serial(g, n, n0, nc, x, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, cols, K, 1.0f, w, K, col,
                cols, 0.0f, y + n0 * ohw, (int)(n * ohw));
}

void conv2d_backward_chunk(const conv_geom *g, int n, int n0, int nc, const float *w,
                           const float *dy, const float *col, float *dw, float *dcol, float *dx)
{
    const int K = g->cin * g->k * g->k, cols = nc * g->oh * g->ow;
    const size_t ohw = (size_t)g->oh * g->ow;
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, K, cols, 1.0f, dy + n0 * ohw,
                    (int)(n * ohw), col, cols, 0.0f, dw, K);
    if (dx) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, cols, g->cout, 1.0f, w, K,
                    dy + n0 * ohw, (int)(n * ohw), 0.0f, dcol, cols);
        col2im_s1_serial(g, n, n0, nc, dcol, dx);
    }
}

/* The direct 5x5 kernels below work on 16-float vectors (GCC vector extensions)
 * and are compiled for AVX-512, AVX2 and baseline x86-64, the loader picking the
 * widest the CPU has.  -std=c11 keeps floating-point contraction off, so every
 * clone rounds every product and sum alike: results do not depend on the CPU. */

typedef float fe_v16 __attribute__((vector_size(64)));
typedef int32_t fe_v16i __attribute__((vector_size(64)));

/* An unaligned 16-float load (a macro: vector-returning functions trip -Wpsabi
 * in the baseline clone). */
#define v16_load(p) __extension__({ fe_v16 v_; memcpy(&v_, (p), sizeof v_); v_; })

#define C5_PW 40    /* padded input row: 32 output lanes + 4 kernel taps, rounded up */
#define C5_PH 36    /* padded input rows */
#define C5_COB 6    /* output channels per register block */
#define C5_MAXCO 16 /* output channels whose gradient sums stay in one stack tile */

int conv5x5c1_applies(const conv_geom *g)
{
    return g->cin == 1 && g->k == 5 && g->stride == 1 && g->cout <= C5_MAXCO && g->ow > 16 &&
           g->ow <= 32 && g->oh <= 32 && g->oh % 2 == 0 && g->ow % 2 == 0 &&
           g->h + 2 * g->pad <= C5_PH && g->w + 2 * g->pad <= C5_PW - 4;
}

/* The zero-padded image in a C5_PH x C5_PW tile: output (oh, ow) reads tile
 * rows oh..oh+4, columns ow..ow+4. */
static void pad_image(const conv_geom *g, const float *x, float *xp)
{
    memset(xp, 0, sizeof(float) * C5_PH * C5_PW);
    for (int i = 0; i < g->h; i++)
        memcpy(xp + (i + g->pad) * C5_PW + g->pad, x + (size_t)i * g->w, sizeof(float) * g->w);
}

/* Lanes of a:b picked by m (GCC's two-vector __builtin_shuffle; clang, which
 * builds the fuzzing harnesses, has no variable-index form). */
#if defined(__clang__)
#define v16_shuffle2(a, b, m) __extension__({                                     \
    fe_v16 a_ = (a), b_ = (b), r_;                                               \
    fe_v16i m_ = (m);                                                            \
    for (int i_ = 0; i_ < 16; i_++)                                              \
        r_[i_] = (m_[i_] & 31) < 16 ? a_[m_[i_] & 15] : b_[m_[i_] & 15];         \
    r_; })
#else
#define v16_shuffle2(a, b, m) __builtin_shuffle(a, b, m)
#endif
#define v16_store(p, v) __extension__({ fe_v16 s_ = (v); memcpy((p), &s_, sizeof s_); })
/* m ? a : b, lane by lane (C has no vector ?:) */
#define v16_sel(m, a, b) ((fe_v16)(((fe_v16i)(a) & (m)) | ((fe_v16i)(b) & ~(m))))

/* Shuffle masks picking the even and odd columns of a row of ow (16 < ow <= 32)
 * held as lo = row[0..15], hi = row[ow-16 .. ow-1]: lane j gets column 2j (2j+1);
 * lanes j >= ow/2 repeat column 0 (1) and are cleared by the callers. */
static void even_odd_masks(int ow, fe_v16i *ev, fe_v16i *od)
{
    for (int j = 0; j < 16; j++) {
        int c = 2 * j < ow ? 2 * j : 0;
        (*ev)[j] = c < 16 ? c : c + 32 - ow;
        (*od)[j] = c + 1 < 16 ? c + 1 : c + 1 + 32 - ow;
    }
}

FE_CLONES
void conv5x5c1_relu_pool_forward(const conv_geom *g, int n, int n0, int nc, const float *x,
                                 const float *w, const float *b, float *y, float *p)
{
    const int OH = g->oh, OW = g->ow, PH = OH / 2, PW = OW / 2;
    float xp[C5_PH * C5_PW];
    float t[C5_COB][2][32];           /* two output rows of a channel block */
    fe_v16i ev, od;
    even_odd_masks(OW, &ev, &od);
    for (int i = n0; i < n0 + nc; i++) {
        pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int cb = 0; cb < g->cout; cb += C5_COB) {
            const int nb = g->cout - cb < C5_COB ? g->cout - cb : C5_COB;
            float wl[25][C5_COB] = {{0}};     /* missing channels have zero weights */
            for (int c = 0; c < nb; c++)
                for (int kk = 0; kk < 25; kk++)
                    wl[kk][c] = w[(cb + c) * 25 + kk];
            for (int oh = 0; oh < OH; oh += 2) {
                for (int r = 0; r < 2; r++) {
                    fe_v16 a[C5_COB][2];
                    #pragma GCC unroll 6
                    for (int c = 0; c < C5_COB; c++)
                        a[c][0] = a[c][1] = (fe_v16){0};
                    for (int ki = 0; ki < 5; ki++) {
                        const float *xr = xp + (oh + r + ki) * C5_PW;
                        #pragma GCC unroll 5
                        for (int kj = 0; kj < 5; kj++) {
                            const fe_v16 x0 = v16_load(xr + kj), x1 = v16_load(xr + kj + 16);
                            #pragma GCC unroll 6
                            for (int c = 0; c < C5_COB; c++) {
                                a[c][0] += wl[ki * 5 + kj][c] * x0;
                                a[c][1] += wl[ki * 5 + kj][c] * x1;
                            }
                        }
                    }
                    #pragma GCC unroll 6
                    for (int c = 0; c < C5_COB; c++)
                        for (int h = 0; h < 2; h++) {
                            fe_v16 v = a[c][h] + b[cb + (c < nb ? c : 0)];
                            v = (fe_v16)((fe_v16i)v & (v > 0.0f));     /* ReLU; NaN -> 0 */
                            v16_store(&t[c][r][16 * h], v);
                        }
                }
                for (int c = 0; c < nb; c++) {
                    const size_t plane = (size_t)(cb + c) * n + i;
                    float *yr = y + plane * OH * OW + (size_t)oh * OW;
                    memcpy(yr, t[c][0], sizeof(float) * OW);
                    memcpy(yr + OW, t[c][1], sizeof(float) * OW);
                    /* 2x2 max of the two rows: even/odd columns of each row */
                    const fe_v16 a0 = v16_load(t[c][0]), b0 = v16_load(t[c][0] + OW - 16);
                    const fe_v16 a1 = v16_load(t[c][1]), b1 = v16_load(t[c][1] + OW - 16);
                    const fe_v16 e0 = v16_shuffle2(a0, b0, ev), o0 = v16_shuffle2(a0, b0, od);
                    const fe_v16 e1 = v16_shuffle2(a1, b1, ev), o1 = v16_shuffle2(a1, b1, od);
                    fe_v16 m = v16_sel(o0 > e0, o0, e0);
                    m = v16_sel(e1 > m, e1, m);
                    m = v16_sel(o1 > m, o1, m);
                    float pm[16];
                    v16_store(pm, m);
                    memcpy(p + plane * PH * PW + (size_t)(oh / 2) * PW, pm, sizeof(float) * PW);
                }
            }
        }
    }
}

FE_CLONES
void conv5x5c1_pool_relu_backward_w(const conv_geom *g, int n, int n0, int nc, const float *x,
                                    const float *y, const float *dp, float *dw, float *db)
{
    const int OH = g->oh, OW = g->ow, PH = OH / 2, PW = OW / 2, CO = g->cout;
    float xp[C5_PH * C5_PW];
    /* xe[r][s] lane j = padded input (r, 2j + s): the input under kernel column
     * s - dc of pooled column j's window column dc */
    fe_v16 xe[C5_PH][6];
    /* per pooled row: the gradient reaching the window's winner (zero unless it
     * won and is > 0), and whether the winner is in the window's second row / column */
    fe_v16 gw[16];
    fe_v16i wr[16], wc[16];
    fe_v16 acc[C5_MAXCO][25], accb[C5_MAXCO];  /* per-lane partial sums over the chunk */
    fe_v16i ev, od;
    even_odd_masks(OW, &ev, &od);
    const fe_v16i ex = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    for (int co = 0; co < CO; co++) {
        accb[co] = (fe_v16){0};
        for (int kk = 0; kk < 25; kk++)
            acc[co][kk] = (fe_v16){0};
    }
    for (int i = n0; i < n0 + nc; i++) {
        pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int r = 0; r < OH + 4; r++)
            for (int s = 0; s < 6; s++) {
                const float *xr = xp + r * C5_PW + s;
                xe[r][s] = v16_shuffle2(v16_load(xr), v16_load(xr + 16), ex);
            }
        for (int co = 0; co < CO; co++) {
            const size_t plane = (size_t)co * n + i;
            const float *yc = y + plane * OH * OW, *dpc = dp + plane * PH * PW;
            fe_v16 ab = accb[co];
            /* max-pool backward (first maximum in row-major window order, as
             * maxpool2_backward), then ReLU backward (the winner must be > 0),
             * 16 windows at a time with lane selects */
            for (int pi = 0; pi < PH; pi++) {
                const float *r0 = yc + (2 * pi) * OW, *r1 = r0 + OW;
                const fe_v16 a0 = v16_load(r0), b0 = v16_load(r0 + OW - 16);
                const fe_v16 a1 = v16_load(r1), b1 = v16_load(r1 + OW - 16);
                const fe_v16 e0 = v16_shuffle2(a0, b0, ev), o0 = v16_shuffle2(a0, b0, od);
                const fe_v16 e1 = v16_shuffle2(a1, b1, ev), o1 = v16_shuffle2(a1, b1, od);
                /* compared as signed integers (GCC's AVX-512F clone scalarizes
                 * float compares): the same order as floats for values > 0, and
                 * every value <= 0 ranks below them, so for non-NaN y the first
                 * maximum, when it is > 0, is the same window element */
                const fe_v16i ie0 = (fe_v16i)e0, io0 = (fe_v16i)o0;
                const fe_v16i ie1 = (fe_v16i)e1, io1 = (fe_v16i)o1;
                const fe_v16i w1 = io0 > ie0;
                fe_v16i m = (io0 & w1) | (ie0 & ~w1);
                const fe_v16i w2 = ie1 > m;
                m = (ie1 & w2) | (m & ~w2);
                const fe_v16i w3 = io1 > m;
                m = (io1 & w3) | (m & ~w3);
                float gb[16] = {0};                 /* lanes past PW stay zero */
                memcpy(gb, dpc + pi * PW, sizeof(float) * PW);
                const fe_v16i gv = (fe_v16i)v16_load(gb) & (m > 0);
                gw[pi] = (fe_v16)gv;
                wr[pi] = w2 | w3;
                wc[pi] = (w1 & ~w2) | w3;
                ab += (fe_v16)gv;
            }
            accb[co] = ab;
            /* dw[ki][kj] += g * the winner's input under tap (ki, kj): pick the
             * winner's row, then its column */
            for (int ki = 0; ki < 5; ki++) {
                fe_v16 a[5];
                #pragma GCC unroll 5
                for (int kj = 0; kj < 5; kj++)
                    a[kj] = acc[co][ki * 5 + kj];
                for (int pi = 0; pi < PH; pi++) {
                    const fe_v16 *x0 = xe[2 * pi + ki], *x1 = xe[2 * pi + ki + 1];
                    const fe_v16i mr = wr[pi], mc = wc[pi];
                    const fe_v16 gp = gw[pi];
                    fe_v16 rs[6];
                    #pragma GCC unroll 6
                    for (int s = 0; s < 6; s++)
                        rs[s] = v16_sel(mr, x1[s], x0[s]);
                    #pragma GCC unroll 5
                    for (int kj = 0; kj < 5; kj++)
                        a[kj] += gp * v16_sel(mc, rs[kj + 1], rs[kj]);
                }
                #pragma GCC unroll 5
                for (int kj = 0; kj < 5; kj++)
                    acc[co][ki * 5 + kj] = a[kj];
            }
        }
    }
    for (int co = 0; co < CO; co++) {
        for (int kk = 0; kk < 25; kk++) {
            float s = 0.0f;
            for (int l = 0; l < 16; l++)
                s += acc[co][kk][l];
            dw[co * 25 + kk] += s;
        }
        float s = 0.0f;
        for (int l = 0; l < 16; l++)
            s += accb[co][l];
        db[co] += s;
    }
}
