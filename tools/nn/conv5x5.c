/* conv5x5.c - direct convolution for one input channel and 5x5 kernels, stride 1
 * (LeNet-5's conv1), with its bias, ReLU and 2x2 max pool fused in the forward
 * pass and the weight gradient through pool and ReLU in the backward pass.
 *
 * The kernels below work on 16-float vectors (GCC vector extensions) and are
 * compiled for AVX-512, AVX2 and baseline x86-64, the loader picking the widest
 * the CPU has; on CPUs with AVX2 but no AVX-512 they give way to conv5x5_avx2.c's
 * kernels (two AVX2 registers per 16-float vector spill from AVX2's sixteen).  -std=c11 keeps floating-point contraction off, so every
 * kernel rounds every product and sum alike, in the same order: results do not
 * depend on the CPU. */
#include <stdint.h>
#include <string.h>
#include "clones.h"
#include "conv5x5.h"
#include "layers.h"

typedef float fe_v16 __attribute__((vector_size(64)));
typedef int32_t fe_v16i __attribute__((vector_size(64)));

/* An unaligned 16-float load (a macro: vector-returning functions trip -Wpsabi
 * in the baseline clone). */
#define v16_load(p) __extension__({ fe_v16 v_; memcpy(&v_, (p), sizeof v_); v_; })

int conv5x5c1_applies(const conv_geom *g)
{
    return g->cin == 1 && g->k == 5 && g->stride == 1 && g->cout <= C5_MAXCO && g->ow > 16 &&
           g->ow <= 32 && g->oh <= 32 && g->oh % 2 == 0 && g->ow % 2 == 0 &&
           g->h + 2 * g->pad <= C5_PH && g->w + 2 * g->pad <= C5_PW - 4;
}

/* conv5x5_avx2.c's kernels run where AVX2 is the widest vector (here the AVX2
 * clones' 16-float vectors, in two registers each, spill). */
static int conv5x5_avx2_only(void)
{
    return __builtin_cpu_supports("avx2") && !__builtin_cpu_supports("avx512f");
}

/* Lanes of a:b picked by m (GCC's two-vector __builtin_shuffle; clang, which
 * builds the fuzzing harnesses, has no variable-index form). */
#if defined(__clang__)
#define v16_shuffle2(a, b, m) __extension__({                                     \
    fe_v16 a_ = (a), b_ = (b), r_;                                               \
    fe_v16i m_ = (m);                                                            \
    for (int i_ = 0; i_ < 16; i_++)                                              \
        r_[i_] = (m_[i_] & 31) < 16 ? a_[m_[i_] & 15] : b_[m_[i_] & 15];         \
    r_; })
#else
#define v16_shuffle2(a, b, m) __builtin_shuffle(a, b, m)
#endif
#define v16_store(p, v) __extension__({ fe_v16 s_ = (v); memcpy((p), &s_, sizeof s_); })
/* m ? a : b, lane by lane (C has no vector ?:) */
#define v16_sel(m, a, b) ((fe_v16)(((fe_v16i)(a) & (m)) | ((fe_v16i)(b) & ~(m))))

/* Shuffle masks picking the even and odd columns of a row of ow (16 < ow <= 32)
 * held as lo = row[0..15], hi = row[ow-16 .. ow-1]: lane j gets column 2j (2j+1);
 * lanes j >= ow/2 repeat column 0 (1) and are cleared by the callers. */
static void even_odd_masks(int ow, fe_v16i *ev, fe_v16i *od)
{
    for (int j = 0; j < 16; j++) {
        int c = 2 * j < ow ? 2 * j : 0;
        (*ev)[j] = c < 16 ? c : c + 32 - ow;
        (*od)[j] = c + 1 < 16 ? c + 1 : c + 1 + 32 - ow;
    }
}

FE_CLONES
static void forward_v16(const conv_geom *g, int n, int n0, int nc, const float *x,
                        const float *w, const float *b, float *y, float *p)
{
    const int OH = g->oh, OW = g->ow, PH = OH / 2, PW = OW / 2;
    float xp[C5_PH * C5_PW];
    float t[C5_COB][2][32];           /* two output rows of a channel block */
    fe_v16i ev, od;
    even_odd_masks(OW, &ev, &od);
    for (int i = n0; i < n0 + nc; i++) {
        conv5x5_pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int cb = 0; cb < g->cout; cb += C5_COB) {
            const int nb = g->cout - cb < C5_COB ? g->cout - cb : C5_COB;
            float wl[25][C5_COB] = {{0}};     /* missing channels have zero weights */
            for (int c = 0; c < nb; c++)
                for (int kk = 0; kk < 25; kk++)
                    wl[kk][c] = w[(cb + c) * 25 + kk];
            for (int oh = 0; oh < OH; oh += 2) {
                for (int r = 0; r < 2; r++) {
                    fe_v16 a[C5_COB][2];
                    #pragma GCC unroll 6
                    for (int c = 0; c < C5_COB; c++)
                        a[c][0] = a[c][1] = (fe_v16){0};
                    for (int ki = 0; ki < 5; ki++) {
                        const float *xr = xp + (oh + r + ki) * C5_PW;
                        #pragma GCC unroll 5
                        for (int kj = 0; kj < 5; kj++) {
                            const fe_v16 x0 = v16_load(xr + kj), x1 = v16_load(xr + kj + 16);
                            #pragma GCC unroll 6
                            for (int c = 0; c < C5_COB; c++) {
                                a[c][0] += wl[ki * 5 + kj][c] * x0;
                                a[c][1] += wl[ki * 5 + kj][c] * x1;
                            }
                        }
                    }
                    #pragma GCC unroll 6
                    for (int c = 0; c < C5_COB; c++)
                        for (int h = 0; h < 2; h++) {
                            fe_v16 v = a[c][h] + b[cb + (c < nb ? c : 0)];
                            v = (fe_v16)((fe_v16i)v & (v > 0.0f));     /* ReLU; NaN -> 0 */
                            v16_store(&t[c][r][16 * h], v);
                        }
                }
                for (int c = 0; c < nb; c++) {
                    const size_t plane = (size_t)(cb + c) * n + i;
                    float *yr = y + plane * OH * OW + (size_t)oh * OW;
                    memcpy(yr, t[c][0], sizeof(float) * OW);
                    memcpy(yr + OW, t[c][1], sizeof(float) * OW);
                    /* 2x2 max of the two rows: even/odd columns of each row */
                    const fe_v16 a0 = v16_load(t[c][0]), b0 = v16_load(t[c][0] + OW - 16);
                    const fe_v16 a1 = v16_load(t[c][1]), b1 = v16_load(t[c][1] + OW - 16);
                    const fe_v16 e0 = v16_shuffle2(a0, b0, ev), o0 = v16_shuffle2(a0, b0, od);
                    const fe_v16 e1 = v16_shuffle2(a1, b1, ev), o1 = v16_shuffle2(a1, b1, od);
                    fe_v16 m = v16_sel(o0 > e0, o0, e0);
                    m = v16_sel(e1 > m, e1, m);
                    m = v16_sel(o1 > m, o1, m);
                    float pm[16];
                    v16_store(pm, m);
                    memcpy(p + plane * PH * PW + (size_t)(oh / 2) * PW, pm, sizeof(float) * PW);
                }
            }
        }
    }
}

void conv5x5c1_relu_pool_forward(const conv_geom *g, int n, int n0, int nc, const float *x,
                                 const float *w, const float *b, float *y, float *p)
{
    if (conv5x5_avx2_only())
        conv5x5c1_relu_pool_forward_avx2(g, n, n0, nc, x, w, b, y, p);
    else
        forward_v16(g, n, n0, nc, x, w, b, y, p);
}

FE_CLONES
static void backward_w_v16(const conv_geom *g, int n, int n0, int nc, const float *x,
                           const float *y, const float *dp, float *dw, float *db)
{
    const int OH = g->oh, OW = g->ow, PH = OH / 2, PW = OW / 2, CO = g->cout;
    float xp[C5_PH * C5_PW];
    /* xe[r][s] lane j = padded input (r, 2j + s): the input under kernel column
     * s - dc of pooled column j's window column dc */
    fe_v16 xe[C5_PH][6];
    /* per pooled row: the gradient reaching the window's winner (zero unless it
     * won and is > 0), and whether the winner is in the window's second row / column */
    fe_v16 gw[16];
    fe_v16i wr[16], wc[16];
    fe_v16 acc[C5_MAXCO][25], accb[C5_MAXCO];  /* per-lane partial sums over the chunk */
    fe_v16i ev, od;
    even_odd_masks(OW, &ev, &od);
    const fe_v16i ex = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    for (int co = 0; co < CO; co++) {
        accb[co] = (fe_v16){0};
        for (int kk = 0; kk < 25; kk++)
            acc[co][kk] = (fe_v16){0};
    }
    for (int i = n0; i < n0 + nc; i++) {
        conv5x5_pad_image(g, x + (size_t)i * g->h * g->w, xp);
        for (int r = 0; r < OH + 4; r++)
            for (int s = 0; s < 6; s++) {
                const float *xr = xp + r * C5_PW + s;
                xe[r][s] = v16_shuffle2(v16_load(xr), v16_load(xr + 16), ex);
            }
        for (int co = 0; co < CO; co++) {
            const size_t plane = (size_t)co * n + i;
            const float *yc = y + plane * OH * OW, *dpc = dp + plane * PH * PW;
            fe_v16 ab = accb[co];
            /* max-pool backward (first maximum in row-major window order, as
             * maxpool2_backward), then ReLU backward (the winner must be > 0),
             * 16 windows at a time with lane selects */
            for (int pi = 0; pi < PH; pi++) {
                const float *r0 = yc + (2 * pi) * OW, *r1 = r0 + OW;
                const fe_v16 a0 = v16_load(r0), b0 = v16_load(r0 + OW - 16);
                const fe_v16 a1 = v16_load(r1), b1 = v16_load(r1 + OW - 16);
                const fe_v16 e0 = v16_shuffle2(a0, b0, ev), o0 = v16_shuffle2(a0, b0, od);
                const fe_v16 e1 = v16_shuffle2(a1, b1, ev), o1 = v16_shuffle2(a1, b1, od);
                /* compared as signed integers (GCC's AVX-512F clone scalarizes
                 * float compares): the same order as floats for values > 0, and
                 * every value <= 0 ranks below them, so for non-NaN y the first
                 * maximum, when it is > 0, is the same window element */
                const fe_v16i ie0 = (fe_v16i)e0, io0 = (fe_v16i)o0;
                const fe_v16i ie1 = (fe_v16i)e1, io1 = (fe_v16i)o1;
                const fe_v16i w1 = io0 > ie0;
                fe_v16i m = (io0 & w1) | (ie0 & ~w1);
                const fe_v16i w2 = ie1 > m;
                m = (ie1 & w2) | (m & ~w2);
                const fe_v16i w3 = io1 > m;
                m = (io1 & w3) | (m & ~w3);
                float gb[16] = {0};                 /* lanes past PW stay zero */
                memcpy(gb, dpc + pi * PW, sizeof(float) * PW);
                const fe_v16i gv = (fe_v16i)v16_load(gb) & (m > 0);
                gw[pi] = (fe_v16)gv;
                wr[pi] = w2 | w3;
                wc[pi] = (w1 & ~w2) | w3;
                ab += (fe_v16)gv;
            }
            accb[co] = ab;
            /* dw[ki][kj] += g * the winner's input under tap (ki, kj): pick the
             * winner's row, then its column */
            for (int ki = 0; ki < 5; ki++) {
                fe_v16 a[5];
                #pragma GCC unroll 5
                for (int kj = 0; kj < 5; kj++)
                    a[kj] = acc[co][ki * 5 + kj];
                for (int pi = 0; pi < PH; pi++) {
                    const fe_v16 *x0 = xe[2 * pi + ki], *x1 = xe[2 * pi + ki + 1];
                    const fe_v16i mr = wr[pi], mc = wc[pi];
                    const fe_v16 gp = gw[pi];
                    fe_v16 rs[6];
                    #pragma GCC unroll 6
                    for (int s = 0; s < 6; s++)
                        rs[s] = v16_sel(mr, x1[s], x0[s]);
                    #pragma GCC unroll 5
                    for (int kj = 0; kj < 5; kj++)
                        a[kj] += gp * v16_sel(mc, rs[kj + 1], rs[kj]);
                }
                #pragma GCC unroll 5
                for (int kj = 0; kj < 5; kj++)
                    acc[co][ki * 5 + kj] = a[kj];
            }
        }
    }
    for (int co = 0; co < CO; co++) {
        for (int kk = 0; kk < 25; kk++) {
            float s = 0.0f;
            for (int l = 0; l < 16; l++)
                s += acc[co][kk][l];
            dw[co * 25 + kk] += s;
        }
        float s = 0.0f;
        for (int l = 0; l < 16; l++)
            s += accb[co][l];
        db[co] += s;
    }
}

void conv5x5c1_pool_relu_backward_w(const conv_geom *g, int n, int n0, int nc, const float *x,
                                    const float *y, const float *dp, float *dw, float *db)
{
    if (conv5x5_avx2_only())
        conv5x5c1_pool_relu_backward_w_avx2(g, n, n0, nc, x, y, dp, dw, db);
    else
        backward_w_v16(g, n, n0, nc, x, y, dp, dw, db);
}
