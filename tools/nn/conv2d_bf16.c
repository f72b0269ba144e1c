/* conv2d_bf16.c - convolution for `--precision bf16` on the plain layout (a
 * model built with plain_layout; ResNet-18 trains on the blocked layout with
 * conv2d_bf16_blocked.c, which needs no im2col): im2col and col2im as in
 * conv2d.c, the forward product W * cols and the input gradient's W^T * dY
 * in bfloat16 with float32 sums (gemm_bf16.c), the weight gradient (a sum
 * over every pixel of the batch) in float32 by conv2d_backward.
 *
 * Direct convolution, not Winograd: Winograd F(4x4,3x3)'s transforms
 * (coefficients up to 8, 36-term sums with cancellation) magnify the operands'
 * bf16 rounding about 15-fold: 10.5% of the output scale where direct
 * convolution in bf16 stays at 0.7% (worst of 200 random 16-channel tiles,
 * tests/bench/winograd_bf16_error.py); bf16 therefore pays 4x the multiplies of the float32
 * path, and is a study of precision, not a speed-up, on CPUs whose VDPBF16PS
 * is not faster than two float32 FMAs (README: Performance).  Where the CPU has
 * AMX (gemm_bf16_amx.c), the two bf16 products run on tiles at about 3x the
 * VDPBF16PS peak, and the time goes to im2col, col2im and the float32 weight
 * gradient (measured on Intel Emerald Rapids: bf16 training 40-53 images/s at
 * batch 512, against 31-40 without AMX and 58-69 in float32). */
#include <string.h>
#include "gemm_bf16.h"
#include "layers.h"

size_t conv_bf16_scratch_floats(const conv_geom *g)
{
    const int K = g->cin * g->k * g->k;
    const size_t f = fe_gemm_bf16_scratch(g->cout, K), b = fe_gemm_bf16_scratch(K, g->cout);
    return f > b ? f : b;
}

void conv2d_forward_bf16(const conv_geom *g, int n, const float *x, const float *w, float *y,
                         float *col, size_t col_cap, float *scratch)
{
    const int K = g->cin * g->k * g->k, chunk = conv_chunk(g, col_cap);
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
        im2col(g, n, n0, nc, x, col);
        fe_gemm_bf16(g->cout, cols, K, w, K, 0, col, cols, y + n0 * ohw, (int)ldy, scratch);
    }
}

void conv2d_backward_bf16(const conv_geom *g, int n, const float *x, const float *w,
                          const float *dy, float *dw, float *dx, int accumulate_dx, float *col,
                          size_t col_cap, float *scratch)
{
    const int K = g->cin * g->k * g->k, chunk = conv_chunk(g, col_cap);
    const size_t ohw = (size_t)g->oh * g->ow, ldy = (size_t)n * ohw;
    if (dw)
        conv2d_backward(g, n, x, w, dy, dw, NULL, NULL, 0, col, col_cap);
    if (!dx)
        return;
    if (!accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)g->cin * n * g->h * g->w);
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int nc = n - n0 < chunk ? n - n0 : chunk, cols = (int)(nc * ohw);
        fe_gemm_bf16(K, cols, g->cout, w, K, 1, dy + n0 * ohw, (int)ldy, col, cols, scratch);
        col2im_add(g, n, n0, nc, col, dx, NULL);
    }
}
