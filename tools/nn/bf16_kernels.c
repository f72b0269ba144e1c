/* bf16_kernels.c - the VDPBF16PS micro-kernels of the bf16 convolutions on the
 * blocked layout, and the pass that runs the tile kernel over an output
 * (bf16_blocked.h).  Each kernel exists twice: with AVX512_BF16, and in
 * portable C doing VDPBF16PS's arithmetic lane by lane (each pair: the odd
 * product added, then the even one, as Intel defines the instruction; bf16
 * products are exact in float32), which the tests run on every CPU.  Only
 * denormals differ (VDPBF16PS flushes them). */
#include "bf16_blocked.h"
#include "clones.h"


/* VDPBF16PS on one lane: the odd pair's product, then the even one's. */
static inline float dot2(float acc, uint32_t a, uint32_t b)
{
    acc += bf16_float(a >> 16) * bf16_float(b >> 16);
    acc += bf16_float(a & 0xffffu) * bf16_float(b & 0xffffu);
    return acc;
}

static void tile_portable(int ntaps, const uint32_t *a, const int *off, const uint32_t *b,
                          int pstep, float *t)
{
    float c[MR][NP][16] = {{{0}}};
    for (int q = 0; q < ntaps; q++)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NP; j++)
                for (int l = 0; l < 16; l++)
                    c[r][j][l] = dot2(c[r][j][l], a[q * MR + r], b[off[q] + j * pstep + l]);
    memcpy(t, c, sizeof c);
}

static void dw_portable(int nrows, int npix, const uint32_t *x, const int *off, size_t xrow,
                        int xpix, const uint32_t *d, int ldd, size_t drow, float *acc, int ldacc)
{
    for (int q = 0; q < TQ; q++)
        for (int v = 0; v < CV; v++) {
            float s = acc[(size_t)q * ldacc + v];
            for (int r = 0; r < nrows; r++)
                for (int px = 0; px < npix; px++)
                    for (int i = 0; i < 8; i++)
                        s = dot2(s, x[off[q] + r * xrow + (size_t)px * xpix + i],
                                 d[r * drow + ((size_t)px * 8 + i) * ldd + v]);
            acc[(size_t)q * ldacc + v] = s;
        }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FE_NO_CLONES) && \
    __GNUC__ >= 10
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#include "bf16_kernels_avx512.h"
#define HAVE_AVX512_KERNELS 1
#endif

bf16_kernels bf16_kernels_for(int portable)
{
#ifdef HAVE_AVX512_KERNELS
    if (!portable)
        return (bf16_kernels){tile_avx512, dw_avx512};
#else
    (void)portable;
#endif
    return (bf16_kernels){tile_portable, dw_portable};
}

/* ---- a pass in the forward's form (bf16_blocked.h) ---- */

/* A tile's results t[MR][NP][16] into the pass's output: rows m0.., columns c.. */
static inline __attribute__((always_inline)) void
store_tile(const bf16_pass *P, int n, int i0, int w, int m0, int orow, int c, const float *t)
{
    const size_t ohw = (size_t)P->oh * P->ow, lane = P->blk ? 1 : ohw, pix = P->blk ? (size_t)w : 1;
    const int on = P->on ? P->on : n;
    for (int i = 0; i < MR && m0 + i < P->m; i++)
        for (int j = 0; j < NP && c + j < P->cols; j++) {
            const size_t o = ((size_t)(m0 + i) * on + (i0 - P->oi0)) * ohw +
                             ((size_t)orow * P->ow + (size_t)(c + j) * P->cs + P->c0) * pix;
            float *dst = P->out + o;
            const float *src = t + (i * NP + j) * 16;
            if (lane == 1 && !P->accumulate && !P->mask) {  /* the common case: one vector */
                if (w == FE_NB)
                    memcpy(dst, src, sizeof(float) * FE_NB);
                else
                    memcpy(dst, src, sizeof(float) * w);
                continue;
            }
            const float *mk = P->mask ? P->mask + o : NULL;
            for (int l = 0; l < w; l++) {
                float v = P->accumulate ? dst[l * lane] + src[l] : src[l];
                if (mk && !(mk[l * lane] > 0.0f))
                    v = 0.0f;
                dst[l * lane] = v;
            }
        }
}

FE_CLONES void bf16_run_pass(const bf16_pass *P, int n, int b0, int nbc, kern_tile tile)
{
    const int groups = (P->m + MR - 1) / MR, nsub = P->nsub > 1 ? P->nsub : 1;
    /* items: (pass, block, row, 6 channels), the channels innermost, so that a
     * thread's consecutive items read the same rows of B; one parallel region
     * for all the passes */
    #pragma omp parallel for collapse(4) schedule(static)
    for (int s = 0; s < nsub; s++)
        for (int bb = 0; bb < nbc; bb++)
            for (int r = 0; r < P->rows; r++)
                for (int gi = 0; gi < groups; gi++) {
                    float t[MR * NP * 16] __attribute__((aligned(64)));
                    const int i0 = (b0 + bb) * FE_NB, w = fe_blk_w(n, i0), m0 = gi * MR;
                    bf16_pass q = *P;
                    q.a += s * P->a_step;
                    q.b += s * P->b_step;
                    q.out += s * P->out_step;
                    for (int c = 0; c < q.cols; c += NP) {
                        const uint32_t *b = q.b +
                                            ((size_t)bb * q.bh + (size_t)r * q.brs) * q.bw * 16 +
                                            (size_t)c * q.bstep;
                        if (q.ntaps)
                            tile(q.ntaps, q.a + (size_t)m0 * q.ntaps, q.off, b, q.bstep, t);
                        else
                            memset(t, 0, sizeof t);
                        store_tile(&q, n, i0, w, m0, r * q.rs + q.r0, c, t);
                    }
                }
}
