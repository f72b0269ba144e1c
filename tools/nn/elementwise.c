/* elementwise.c - ReLU and the blocked layout's conversions (the residual
 * additions run in BatchNorm's pass: bn_post in layers.h). */
#include "layers.h"

void relu_forward(size_t n, float *x)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(size_t n, const float *y, const float *dy, float *dx)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void fe_blk_pack(int c, int n, size_t hw, const float *plain, float *blk)
{
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const size_t ch = p / (size_t)n, pl = ch * n * hw;
        const int i = (int)(p % (size_t)n);
        for (size_t j = 0; j < hw; j++)
            blk[pl + fe_blk_off(n, i, hw, j)] = plain[p * hw + j];
    }
}

void fe_blk_unpack(int c, int n, size_t hw, const float *blk, float *plain)
{
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const size_t ch = p / (size_t)n, pl = ch * n * hw;
        const int i = (int)(p % (size_t)n);
        for (size_t j = 0; j < hw; j++)
            plain[p * hw + j] = blk[pl + fe_blk_off(n, i, hw, j)];
    }
}
