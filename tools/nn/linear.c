/* linear.c - fully connected layer on column-major batches: x [in][N], y [out][N]. */
#include <cblas.h>
#include "layers.h"

void linear_forward(int in, int out, int n, const float *x, const float *w, const float *b, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, n, in, 1.0f, w, in, x, n, 0.0f, y, n);
    if (b)
        for (int o = 0; o < out; o++)
            for (int j = 0; j < n; j++)
                y[(size_t)o * n + j] += b[o];
}

void linear_backward(int in, int out, int n, const float *x, const float *w, const float *dy,
                     float *dw, float *db, float *dx)
{
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, in, n, 1.0f, dy, n, x, n, 0.0f, dw, in);
    if (db)
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int j = 0; j < n; j++)
                s += dy[(size_t)o * n + j];
            db[o] = (float)s;
        }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, n, out, 1.0f, w, in, dy, n, 0.0f, dx, n);
}
