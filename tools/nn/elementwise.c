/* elementwise.c - ReLU and residual addition. */
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

void add_inplace(size_t n, float *y, const float *x)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}
