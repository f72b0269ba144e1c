/* pool.c - 2x2/stride-2 max pooling and global average pooling over [C][N][H][W]. */
#include <string.h>
#include "layers.h"

void maxpool2_forward(int c, int n, int h, int w, const float *x, float *y)
{
    const int oh = h / 2, ow = w / 2;
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const float *xp = x + p * h * w;
        float *yp = y + p * oh * ow;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const float *q = xp + (2 * i) * w + 2 * j;
                float m = q[0];
                if (q[1] > m) m = q[1];
                if (q[w] > m) m = q[w];
                if (q[w + 1] > m) m = q[w + 1];
                yp[i * ow + j] = m;
            }
    }
}

void maxpool2_backward(int c, int n, int h, int w, const float *x, const float *dy, float *dx)
{
    const int oh = h / 2, ow = w / 2;
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const float *xp = x + p * h * w;
        float *dxp = dx + p * h * w;
        memset(dxp, 0, sizeof(float) * h * w);
        const float *dyp = dy + p * oh * ow;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                /* first maximum in row-major window order wins, as in PyTorch */
                int base = (2 * i) * w + 2 * j, best = base;
                const int cand[3] = {base + 1, base + w, base + w + 1};
                for (int t = 0; t < 3; t++)
                    if (xp[cand[t]] > xp[best])
                        best = cand[t];
                dxp[best] += dyp[i * ow + j];
            }
    }
}

void avgpool_forward(int c, int n, int hw, const float *x, float *y)
{
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const float *xp = x + p * hw;
        float s = 0;
        for (int i = 0; i < hw; i++)
            s += xp[i];
        y[p] = s / (float)hw;
    }
}

void avgpool_backward(int c, int n, int hw, const float *dy, float *dx)
{
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        float g = dy[p] / (float)hw;
        for (int i = 0; i < hw; i++)
            dx[p * hw + i] = g;
    }
}
