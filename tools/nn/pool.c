/* pool.c - 2x2/stride-2 max pooling and global average pooling over [C][N][H][W]. */
#include <stdint.h>
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

/* The same sums in the same order in either layout: image i's pixel j is at
 * (its channel's plane) + fe_blk_off(n, i, hw, j) when blocked. */
void avgpool_forward(int c, int n, int hw, int blk, const float *x, float *y)
{
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const size_t ch = p / (size_t)n;
        const int i = (int)(p % (size_t)n);
        const float *xp = blk ? x + ch * n * hw + fe_blk_off(n, i, (size_t)hw, 0) : x + p * hw;
        const size_t step = blk ? (size_t)fe_blk_w(n, i) : 1;
        float s = 0;
        for (int j = 0; j < hw; j++)
            s += xp[j * step];
        y[p] = s / (float)hw;
    }
}

void avgpool_backward(int c, int n, int hw, int blk, const float *dy, float *dx)
{
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < (size_t)c * n; p++) {
        const size_t ch = p / (size_t)n;
        const int i = (int)(p % (size_t)n);
        float *dp = blk ? dx + ch * n * hw + fe_blk_off(n, i, (size_t)hw, 0) : dx + p * hw;
        const size_t step = blk ? (size_t)fe_blk_w(n, i) : 1;
        float g = dy[p] / (float)hw;
        for (int j = 0; j < hw; j++)
            dp[j * step] = g;
    }
}

/* ---- LeNet-5 fast paths ---- */

void bias_relu_maxpool2_forward(int c, int n, int n0, int nc, int h, int w, const float *b,
                                float *y, float *p, size_t pcs, size_t pis, size_t pss)
{
    const int oh = h / 2, ow = w / 2;
    for (int ch = 0; ch < c; ch++)
        for (int i = n0; i < n0 + nc; i++) {
            float *yp = y + ((size_t)ch * n + i) * h * w;
            const float bv = b ? b[ch] : 0.0f;
            for (int k = 0; k < h * w; k++) {
                float v = yp[k] + bv;
                yp[k] = v > 0.0f ? v : 0.0f;
            }
            float *pp = p + ch * pcs + i * pis;
            for (int r = 0; r < oh; r++)
                for (int j = 0; j < ow; j++) {
                    const float *q = yp + (2 * r) * w + 2 * j;
                    float m = q[0];
                    if (q[1] > m) m = q[1];
                    if (q[w] > m) m = q[w];
                    if (q[w + 1] > m) m = q[w + 1];
                    pp[(size_t)(r * ow + j) * pss] = m;
                }
        }
}

void maxpool2_relu_backward(int c, int n, int n0, int nc, int h, int w, const float *y,
                            const float *dp, size_t pcs, size_t pis, size_t pss, float *dz,
                            float *db)
{
    const int oh = h / 2, ow = w / 2;
    for (int ch = 0; ch < c; ch++) {
        float s = 0.0f;
        for (int i = n0; i < n0 + nc; i++) {
            const float *yp = y + ((size_t)ch * n + i) * h * w;
            float *dzp = dz + ((size_t)ch * n + i) * h * w;
            const float *dpp = dp + ch * pcs + i * pis;
            for (int r = 0; r < oh; r++)
                for (int j = 0; j < ow; j++) {
                    /* first maximum in row-major window order wins, as in
                     * maxpool2_backward; ReLU passes it only when positive */
                    const int base = (2 * r) * w + 2 * j;
                    /* integer masks, not branches: the winner is data-dependent */
                    const float a = yp[base], b1 = yp[base + 1], c1 = yp[base + w],
                                e = yp[base + w + 1];
                    const uint32_t k1 = -(uint32_t)(b1 > a);
                    float m = b1 > a ? b1 : a;
                    const uint32_t k2 = -(uint32_t)(c1 > m);
                    m = c1 > m ? c1 : m;
                    const uint32_t k3 = -(uint32_t)(e > m);
                    m = e > m ? e : m;
                    uint32_t gb;
                    const float d = dpp[(size_t)(r * ow + j) * pss];
                    memcpy(&gb, &d, 4);
                    gb &= -(uint32_t)(m > 0.0f);
                    const uint32_t z[4] = {gb & ~(k1 | k2 | k3), gb & k1 & ~(k2 | k3), gb & k2 & ~k3,
                                           gb & k3};
                    memcpy(dzp + base, z, 8);
                    memcpy(dzp + base + w, z + 2, 8);
                    float gd;
                    memcpy(&gd, &gb, 4);
                    s += gd;           /* + 0.0f leaves s as it was */
                }
        }
        if (db)
            db[ch] += s;
    }
}
