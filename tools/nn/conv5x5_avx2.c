/* conv5x5_avx2.c - conv5x5.c's forward pass (y = relu(w (*) x + b), p =
 * maxpool2(y)) and weight gradient in AVX2's 8-float registers.
 *
 * conv5x5.c's kernel holds two 16-float halves of an output row for six
 * channels: twelve AVX-512 registers, but 24 of AVX2's sixteen, so GCC's AVX2
 * clone spilled at every multiply-add (74% of LeNet-5's evaluation on a Zen 3).
 * Here one block is six channels by one 16-column half (twelve accumulators,
 * two input vectors, one weight).  Every output is still 0 + w[0] x[0] + ... +
 * w[24] x[24] summed in tap order, then + b, each product and sum rounded
 * (no FMA): the bits of conv5x5.c's kernels.  The weight gradient likewise
 * keeps conv5x5.c's 16 per-lane sums as two halves of 8. */
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
    enum { NB = (C5_MAXCO + C5_COB - 1) / C5_COB };
    /* the weights and biases by channel block, once for the chunk; missing
     * channels of the last block: zeros */
    float wl[NB][25][C5_COB] = {{{0}}}, bl[NB][C5_COB] = {{0}};
    for (int co = 0; co < g->cout; co++) {
        for (int kk = 0; kk < 25; kk++)
            wl[co / C5_COB][kk][co % C5_COB] = w[co * 25 + kk];
        bl[co / C5_COB][co % C5_COB] = b[co];
    }
    float xp[C5_PH * C5_PW];
    for (int i = n0; i < n0 + nc; i++) {
        conv5x5_pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int cb = 0; cb < g->cout; cb += C5_COB) {
            const int nb = g->cout - cb < C5_COB ? g->cout - cb : C5_COB;
            for (int oh = 0; oh < OH; oh += 2) {
                float rows[2][C5_COB][32];    /* two output rows of the block */
                for (int r = 0; r < 2; r++)
                    for (int h = 0; h < 2; h++)
                        row_half(xp + (oh + r) * C5_PW, (const float (*)[C5_COB])wl[cb / C5_COB],
                                 bl[cb / C5_COB], rows[r], h);
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

/* Lanes p[0], p[2], ..., p[14] (even8) or p[1], ..., p[15] (odd8). */
AVX2 static inline __m256 even8(const float *p)
{
    const __m256 e = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8),
                                       _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}

AVX2 static inline __m256 odd8(const float *p)
{
    const __m256 o = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8),
                                       _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* A row of ow (16 < ow <= 32) in 32 floats as conv5x5.c's even/odd masks read
 * it: column c, and past the row column c % 2 (lanes past ow/2 repeat columns
 * 0 and 1). */
static void row32(const float *r, int ow, float *buf)
{
    memcpy(buf, r, sizeof(float) * ow);
    for (int c = ow; c < 32; c++)
        buf[c] = r[c % 2];
}

AVX2 void conv5x5c1_pool_relu_backward_w_avx2(const conv_geom *g, int n, int n0, int nc,
                                             const float *x, const float *y, const float *dp,
                                             float *dw, float *db)
{
    const int OH = g->oh, OW = g->ow, PH = OH / 2, PW = OW / 2, CO = g->cout;
    float xp[C5_PH * C5_PW];
    /* xe[r][s][h] lane j = padded input (r, 2 (8 h + j) + s), as conv5x5.c's xe */
    __m256 xe[C5_PH][6][2];
    /* per pooled row and half: the gradient reaching the window's winner, and
     * whether the winner is in the window's second row / column */
    __m256 gw[16][2];
    __m256i wr[16][2], wc[16][2];
    __m256 acc[C5_MAXCO][25][2], accb[C5_MAXCO][2];  /* per-lane partial sums */
    const __m256i zero = _mm256_setzero_si256();
    for (int co = 0; co < CO; co++) {
        accb[co][0] = accb[co][1] = _mm256_setzero_ps();
        for (int kk = 0; kk < 25; kk++)
            acc[co][kk][0] = acc[co][kk][1] = _mm256_setzero_ps();
    }
    for (int i = n0; i < n0 + nc; i++) {
        conv5x5_pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int r = 0; r < OH + 4; r++)
            for (int s = 0; s < 6; s++)
                for (int h = 0; h < 2; h++)
                    xe[r][s][h] = even8(xp + r * C5_PW + s + 16 * h);
        for (int co = 0; co < CO; co++) {
            const size_t plane = (size_t)co * n + i;
            const float *yc = y + plane * OH * OW, *dpc = dp + plane * PH * PW;
            /* max-pool backward (the first maximum in row-major window order),
             * then ReLU backward (the winner must be > 0), compared as signed
             * integers as conv5x5.c does */
            for (int pi = 0; pi < PH; pi++) {
                float r0[32], r1[32], gb[16] = {0};     /* lanes past PW stay zero */
                row32(yc + (2 * pi) * OW, OW, r0);
                row32(yc + (2 * pi + 1) * OW, OW, r1);
                memcpy(gb, dpc + pi * PW, sizeof(float) * PW);
                for (int h = 0; h < 2; h++) {
                    const __m256i e0 = _mm256_castps_si256(even8(r0 + 16 * h));
                    const __m256i o0 = _mm256_castps_si256(odd8(r0 + 16 * h));
                    const __m256i e1 = _mm256_castps_si256(even8(r1 + 16 * h));
                    const __m256i o1 = _mm256_castps_si256(odd8(r1 + 16 * h));
                    const __m256i w1 = _mm256_cmpgt_epi32(o0, e0);
                    __m256i m = _mm256_blendv_epi8(e0, o0, w1);
                    const __m256i w2 = _mm256_cmpgt_epi32(e1, m);
                    m = _mm256_blendv_epi8(m, e1, w2);
                    const __m256i w3 = _mm256_cmpgt_epi32(o1, m);
                    m = _mm256_blendv_epi8(m, o1, w3);
                    const __m256 gv = _mm256_and_ps(_mm256_loadu_ps(gb + 8 * h),
                                                    _mm256_castsi256_ps(_mm256_cmpgt_epi32(m, zero)));
                    gw[pi][h] = gv;
                    wr[pi][h] = _mm256_or_si256(w2, w3);
                    wc[pi][h] = _mm256_or_si256(_mm256_andnot_si256(w2, w1), w3);
                    accb[co][h] = _mm256_add_ps(accb[co][h], gv);
                }
            }
            /* dw[ki][kj] += g * the winner's input under tap (ki, kj) */
            for (int h = 0; h < 2; h++)
                for (int ki = 0; ki < 5; ki++) {
                    __m256 a[5];
                    #pragma GCC unroll 5
                    for (int kj = 0; kj < 5; kj++)
                        a[kj] = acc[co][ki * 5 + kj][h];
                    for (int pi = 0; pi < PH; pi++) {
                        const __m256 mr = _mm256_castsi256_ps(wr[pi][h]);
                        const __m256 mc = _mm256_castsi256_ps(wc[pi][h]);
                        const __m256 gp = gw[pi][h];
                        __m256 rs[6];
                        #pragma GCC unroll 6
                        for (int s = 0; s < 6; s++)
                            rs[s] = _mm256_blendv_ps(xe[2 * pi + ki][s][h],
                                                     xe[2 * pi + ki + 1][s][h], mr);
                        #pragma GCC unroll 5
                        for (int kj = 0; kj < 5; kj++)
                            a[kj] = _mm256_add_ps(
                                a[kj], _mm256_mul_ps(gp, _mm256_blendv_ps(rs[kj], rs[kj + 1], mc)));
                    }
                    #pragma GCC unroll 5
                    for (int kj = 0; kj < 5; kj++)
                        acc[co][ki * 5 + kj][h] = a[kj];
                }
        }
    }
    /* the 16 lanes' sums in lane order, as conv5x5.c */
    for (int co = 0; co < CO; co++) {
        float l[16];
        for (int kk = 0; kk < 25; kk++) {
            _mm256_storeu_ps(l, acc[co][kk][0]);
            _mm256_storeu_ps(l + 8, acc[co][kk][1]);
            float s = 0.0f;
            for (int k = 0; k < 16; k++)
                s += l[k];
            dw[co * 25 + kk] += s;
        }
        _mm256_storeu_ps(l, accb[co][0]);
        _mm256_storeu_ps(l + 8, accb[co][1]);
        float s = 0.0f;
        for (int k = 0; k < 16; k++)
            s += l[k];
        db[co] += s;
    }
}
