/* conv2d.c - 2-D convolution as im2col + one OpenBLAS sgemm per chunk of images.
 *
 * Layout: x [cin][N][h][w], y [cout][N][oh][ow], w [cout][cin*k*k] with the
 * patch index (ci*k + ki)*k + kj, as PyTorch's weight [cout][cin][k][k] flattens.
 * The im2col matrix of a chunk of nc images is [cin*k*k][nc*oh*ow]; the chunk's
 * output columns are a contiguous block of every output row, so the GEMM writes
 * straight into y with leading dimension N*oh*ow. */
#include <string.h>
#include <cblas.h>
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
