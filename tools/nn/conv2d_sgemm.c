/* conv2d_sgemm.c - direct convolution (im2col, as conv2d.c) with our own GEMM
 * (sgemm.h) instead of OpenBLAS's: for ResNet-18's stride-2 and 1x1
 * convolutions, which Winograd F(4x4,3x3) does not cover.  On the 2-core Zen 5
 * whose environment selects OpenBLAS's Haswell kernels these ran at 120-170
 * GFLOP/s (a quarter of ResNet-18's convolution time); sgemm.h's AVX-512 tiles
 * run the same shapes faster (bench_train --layers 1 measures both).  The
 * products are shared among the threads by C's columns or rows, never along k,
 * so the bits do not depend on the thread count. */
#include <string.h>
#include "layers.h"
#include "sgemm.h"

void conv2d_forward_sgemm(const conv_geom *g, int n, const float *x, const float *w, float *y,
                          float *col, size_t col_cap)
{
    const int K = g->cin * g->k * g->k, chunk = conv_chunk(g, col_cap);
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
        im2col(g, n, n0, nc, x, col);
        fe_sgemm_threads(0, 0, g->cout, cols, K, w, K, col, cols, 0, y + n0 * ohw, (int)ldy);
    }
}

void conv2d_backward_sgemm(const conv_geom *g, int n, const float *x, const float *w,
                           const float *dy, float *dw, float *dx, int accumulate_dx, float *col,
                           size_t col_cap, const float *mask)
{
    const int K = g->cin * g->k * g->k, chunk = conv_chunk(g, col_cap);
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)g->cin * n * g->h * g->w);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
        if (dw) {
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
