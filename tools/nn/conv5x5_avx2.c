/* conv5x5_avx2.c - conv5x5.c's forward pass (y = relu(w (*) x + b), p =
 * maxpool2(y)) in AVX2's 8-float registers.
 *
 * conv5x5.c's kernel holds two 16-float halves of an output row for six
 * channels: twelve AVX-512 registers, but 24 of AVX2's sixteen, so GCC's AVX2
 * clone spilled at every multiply-add (74% of LeNet-5's evaluation on a Zen 3).
 * Here one block is six channels by one 16-column half (twelve accumulators,
 * two input vectors, one weight).  Every output is still 0 + w[0] x[0] + ... +
 * w[24] x[24] summed in tap order, then + b, each product and sum rounded
 * (no FMA): the bits of conv5x5.c's kernels. */
#include <immintrin.h>
#include <string.h>
#include "conv5x5.h"

#define AVX2 __attribute__((target("avx2")))

/* t[c][16 * h + j] = relu(b[c] + sum over taps) for six channels and output
 * columns 16 h + j (j < 16) of the row whose padded input starts at xr. */
AVX2 static void row_half(const float *xr, const float (*wl)[C5_COB], const float *bl,
                          float (*t)[32], int h)
{
    __m256 a[C5_COB][2];
    #pragma GCC unroll 6
    for (int c = 0; c < C5_COB; c++)
        a[c][0] = a[c][1] = _mm256_setzero_ps();
    xr += 16 * h;
    for (int ki = 0; ki < 5; ki++, xr += C5_PW) {
        #pragma GCC unroll 5
        for (int kj = 0; kj < 5; kj++) {
            const __m256 x0 = _mm256_loadu_ps(xr + kj), x1 = _mm256_loadu_ps(xr + kj + 8);
            #pragma GCC unroll 6
            for (int c = 0; c < C5_COB; c++) {
                const __m256 wv = _mm256_broadcast_ss(&wl[ki * 5 + kj][c]);
                a[c][0] = _mm256_add_ps(a[c][0], _mm256_mul_ps(wv, x0));
                a[c][1] = _mm256_add_ps(a[c][1], _mm256_mul_ps(wv, x1));
            }
        }
    }
    const __m256 zero = _mm256_setzero_ps();
    #pragma GCC unroll 6
    for (int c = 0; c < C5_COB; c++)
        for (int k = 0; k < 2; k++) {
            __m256 v = _mm256_add_ps(a[c][k], _mm256_broadcast_ss(&bl[c]));
            v = _mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));   /* ReLU; NaN -> 0 */
            _mm256_storeu_ps(&t[c][16 * h + 8 * k], v);
        }
}

AVX2 void conv5x5c1_relu_pool_forward_avx2(const conv_geom *g, int n, int n0, int nc,
                                           const float *x, const float *w, const float *b,
                                           float *y, float *p)
{
    const int OH = g->oh, OW = g->ow, PW = OW / 2;
    float xp[C5_PH * C5_PW];
    for (int i = n0; i < n0 + nc; i++) {
        conv5x5_pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int cb = 0; cb < g->cout; cb += C5_COB) {
            const int nb = g->cout - cb < C5_COB ? g->cout - cb : C5_COB;
            float wl[25][C5_COB] = {{0}}, bl[C5_COB] = {0};  /* missing channels: zeros */
            for (int c = 0; c < nb; c++) {
                for (int kk = 0; kk < 25; kk++)
                    wl[kk][c] = w[(cb + c) * 25 + kk];
                bl[c] = b[cb + c];
            }
            for (int oh = 0; oh < OH; oh += 2) {
                float rows[2][C5_COB][32];    /* two output rows of the block */
                for (int r = 0; r < 2; r++)
                    for (int h = 0; h < 2; h++)
                        row_half(xp + (oh + r) * C5_PW, (const float (*)[C5_COB])wl, bl,
                                 rows[r], h);
                for (int c = 0; c < nb; c++) {
                    const size_t plane = (size_t)(cb + c) * n + i;
                    float *yr = y + plane * OH * OW + (size_t)oh * OW;
                    float *pr = p + plane * (OH / 2) * PW + (size_t)(oh / 2) * PW;
                    const float *r0 = rows[0][c], *r1 = rows[1][c];
                    memcpy(yr, r0, sizeof(float) * OW);
                    memcpy(yr + OW, r1, sizeof(float) * OW);
                    /* values are >= +0 and never NaN: the maximum is the same
                     * whatever the order of the comparisons */
                    for (int j = 0; j < PW; j++) {
                        float m = r0[2 * j];
                        m = r0[2 * j + 1] > m ? r0[2 * j + 1] : m;
                        m = r1[2 * j] > m ? r1[2 * j] : m;
                        m = r1[2 * j + 1] > m ? r1[2 * j + 1] : m;
                        pr[j] = m;
                    }
                }
            }
        }
    }
}
