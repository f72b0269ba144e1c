/* gemm_bf16.c - featevo's bfloat16 GEMM for `--precision bf16` (see gemm_bf16.h).
 *
 * Debian's OpenBLAS has no sbgemm, so this is our own, shaped for the
 * convolutions' im2col products (m, k: channels times 9, up to 4608; n:
 * images times pixels, thousands).  (Not for the Winograd F(4x4,3x3)
 * products: its transforms magnify bf16's rounding about 15-fold, to 10% of
 * the output scale; see conv2d_bf16.c.)
 * Operands are rounded to bf16 once, while they are packed (VCVTNE2PS2BF16:
 * to nearest even); VDPBF16PS then adds pairs of bf16 products into float32
 * accumulators, two multiply-adds per lane per instruction where float32 FMA
 * does one.  Layouts, in 32-bit words each holding a pair of bf16 along k:
 *   packed A:  [m/8][k/2][8]     (8 rows of op(A), pair p = columns 2p, 2p+1)
 *   B panel:   [k/2][48]         (48 columns of B, pair p = rows 2p, 2p+1)
 * Micro-kernel: 8 x 48 of C in 24 AVX-512 registers; per pair of k, 3 loads
 * of B, 8 broadcasts of A, 24 VDPBF16PS.  k is cut in blocks of KC (the
 * panel stays in L1/L2), each added into C in order, so a result does not
 * depend on the thread count.
 * fe_gemm_bf16 runs the AMX kernel of gemm_bf16_amx.c instead where the CPU
 * has AMX-BF16 (Intel Sapphire Rapids and later) and the kernel grants it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm_bf16.h"

#define MR 8
#define NR 48
#define KC 512                          /* k per block (even) */

static int kc_of(int k) { return k < KC ? (k + 1) & ~1 : KC; }

size_t fe_gemm_bf16_scratch(int m, int k)
{
    const size_t own = (size_t)((m + MR - 1) / MR) * MR * (size_t)(kc_of(k) / 2) + 16,
                 amx = fe_gemm_bf16_amx_scratch(m, k);
    return own > amx ? own : amx;
}

const char *fe_bf16_kernel_name(fe_bf16_kernel k)
{
    return k == FE_BF16_AMX ? "amx" : "avx512";
}

int fe_bf16_kernel_available(fe_bf16_kernel k)
{
    return k == FE_BF16_AMX ? fe_bf16_amx_ready() : fe_bf16_supported();
}

static void gemm_avx512(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                        int ldb, float *c, int ldc, float *scratch);

void fe_gemm_bf16_with(fe_bf16_kernel kern, int m, int n, int k, const float *a, int lda,
                       int trans_a, const float *b, int ldb, float *c, int ldc, float *scratch)
{
    if (k == 0) {
        for (int i = 0; i < m; i++)
            memset(c + (size_t)i * ldc, 0, sizeof(float) * n);
        return;
    }
    (kern == FE_BF16_AMX ? fe_gemm_bf16_amx : gemm_avx512)(m, n, k, a, lda, trans_a, b, ldb, c,
                                                          ldc, scratch);
}

void fe_gemm_bf16(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                  int ldb, float *c, int ldc, float *scratch)
{
    fe_gemm_bf16_with(fe_bf16_amx_ready() ? FE_BF16_AMX : FE_BF16_AVX512, m, n, k, a, lda,
                      trans_a, b, ldb, c, ldc, scratch);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FE_NO_CLONES) && \
    __GNUC__ >= 10
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))


/* 16 floats -> 16 bf16 (8 words), to nearest even. */
BF16_TARGET static inline void cvt16(const float *f, uint32_t *w)
{
    _mm256_storeu_si256((__m256i *)w, (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(f)));
}

/* op(A) rows [0, m), k-columns [k0, k0+kc) -> packed A. */
BF16_TARGET static void pack_a(int m, int k0, int kc, int k, const float *a, int lda, int trans,
                               uint32_t *ap)
{
    const int kp = (kc + 1) / 2;
    float t[2 * MR];
    for (int i0 = 0; i0 < m; i0 += MR)
        for (int p = 0; p < kp; p++) {
            for (int r = 0; r < MR; r++)
                for (int h = 0; h < 2; h++) {
                    const int i = i0 + r, q = k0 + 2 * p + h;
                    t[2 * r + h] = i >= m || q >= k0 + kc || q >= k ? 0.0f
                                   : trans ? a[(size_t)q * lda + i] : a[(size_t)i * lda + q];
                }
            cvt16(t, ap + ((size_t)(i0 / MR) * kp + p) * MR);
        }
}


BF16_TARGET static void kernel_8x48(int kp, const uint32_t *ap, const uint32_t *bp, int mrows,
                                    int ncols, int beta, float *c, int ldc)
{
    __m512 c0[MR], c1[MR], c2[MR];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < MR; r++)
        c0[r] = c1[r] = c2[r] = _mm512_setzero_ps();
    for (int p = 0; p < kp; p++) {
        const uint32_t *b = bp + (size_t)p * NR, *a = ap + (size_t)p * MR;
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16),
                       b2 = (__m512bh)_mm512_loadu_si512(b + 32);
        _Pragma("GCC unroll 8")
        for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
            c2[r] = _mm512_dpbf16_ps(c2[r], av, b2);
        }
    }
    const __mmask16 m0 = ncols >= 16 ? 0xffff : (__mmask16)((1u << ncols) - 1);
    const __mmask16 m1 = ncols >= 32 ? 0xffff : ncols <= 16 ? 0 : (__mmask16)((1u << (ncols - 16)) - 1);
    const __mmask16 m2 = ncols >= 48 ? 0xffff : ncols <= 32 ? 0 : (__mmask16)((1u << (ncols - 32)) - 1);
    _Pragma("GCC unroll 8")
    for (int r = 0; r < MR; r++) {
        if (r >= mrows)
            break;
        float *cr = c + (size_t)r * ldc;
        if (beta) {
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
            c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
            c2[r] = _mm512_add_ps(c2[r], _mm512_maskz_loadu_ps(m2, cr + 32));
        }
        _mm512_mask_storeu_ps(cr, m0, c0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
        _mm512_mask_storeu_ps(cr + 32, m2, c2[r]);
    }
}

static void gemm_avx512(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                        int ldb, float *c, int ldc, float *scratch)
{
    const int kc_max = kc_of(k);
    uint32_t *ap = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    for (int k0 = 0; k0 < k; k0 += kc_max) {
        const int kc = k - k0 < kc_max ? k - k0 : kc_max, kp = (kc + 1) / 2;
        const int add = k0 > 0;
        pack_a(m, k0, kc, k, a, lda, trans_a, ap);
        /* the threads share packed A and take panels of 48 columns of B; in a
         * panel, every row block reads the panel from L1/L2 */
        #pragma omp parallel
        {
            uint32_t bp[KC / 2 * NR] __attribute__((aligned(64)));
            #pragma omp for schedule(static)
            for (int j = 0; j < n; j += NR) {
                const int nc = n - j < NR ? n - j : NR;
                fe_bf16_pack_b(k0, kc, j, nc, b, ldb, NR, kp, bp);
                for (int i = 0; i < m; i += MR)
                    kernel_8x48(kp, ap + (size_t)(i / MR) * kp * MR, bp, m - i < MR ? m - i : MR,
                                nc, add, c + (size_t)i * ldc + j, ldc);
            }
        }
    }
}
#else
static void gemm_avx512(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                        int ldb, float *c, int ldc, float *scratch)
{
    /* An assertion, not an error path: no caller gets here, because a model is
     * built in bf16 only where fe_bf16_supported() (fe_arch_supports, and the
     * bf16 row of the conv table is not "available" otherwise). */
    abort();
}
#endif
