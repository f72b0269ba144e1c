/* gemm_bf16_pack.c - what both bf16 GEMM kernels (gemm_bf16.c: AVX512_BF16;
 * gemm_bf16_amx.c: AMX tiles) share: whether the CPU has AVX512_BF16 (both
 * round with it), and the packing of B into panels of bf16 pairs along k
 * (see gemm_bf16.h).  Below both kernels: it uses neither. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm_bf16.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FE_NO_CLONES) && \
    __GNUC__ >= 10
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

int fe_bf16_supported(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

BF16_TARGET void fe_bf16_pack_b(int k0, int kc, int j, int nc, const float *b, int ldb, int nr,
                                int kp_pad, uint32_t *bp)
{
    /* rows 2p and 2p+1 of B, interleaved: x0 y0 x1 y1 ... */
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const int kp = (kc + 1) / 2;
    for (int p = 0; p < kp; p++) {
        const int two = 2 * p + 1 < kc;
        const float *r0 = b + (size_t)(k0 + 2 * p) * ldb + j, *r1 = two ? r0 + ldb : r0;
        for (int s = 0; s < nr; s += 16) {
            const int left = nc - s;
            const __mmask16 mk = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            const __m512 x = _mm512_maskz_loadu_ps(mk, r0 + s);
            const __m512 y = two ? _mm512_maskz_loadu_ps(mk, r1 + s) : _mm512_setzero_ps();
            const __m512 e = _mm512_permutex2var_ps(x, lo, y), o = _mm512_permutex2var_ps(x, hi, y);
            _mm512_storeu_si512(bp + (size_t)p * nr + s, (__m512i)_mm512_cvtne2ps_pbh(o, e));
        }
    }
    if (kp_pad > kp)
        memset(bp + (size_t)kp * nr, 0, sizeof(uint32_t) * (size_t)(kp_pad - kp) * nr);
}
#else
int fe_bf16_supported(void) { return 0; }
void fe_bf16_pack_b(int k0, int kc, int j, int nc, const float *b, int ldb, int nr, int kp_pad,
                    uint32_t *bp)
{
    abort();    /* no caller gets here: fe_bf16_supported() said no */
}
#endif
