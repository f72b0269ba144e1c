/* transpose8_avx2.h - an 8 x 8 block of floats transposed in AVX2 registers,
 * for the GEMM's transposed copies of op(B) (sgemm.c, conv2d_sgemm.c).  A copy:
 * every value lands unchanged. */
#ifndef FE_TRANSPOSE8_AVX2_H
#define FE_TRANSPOSE8_AVX2_H

#include <stddef.h>
#include <immintrin.h>

/* dst[t * ldd + i] = src[i][t] for i, t < 8. */
__attribute__((target("avx2"))) static inline void fe_transpose8_avx2(const float *const src[8],
                                                                       float *dst, size_t ldd)
{
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(src[i]);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    /* r[0..3]: elements {0,1,2,3} (low) and {4,5,6,7} (high) of src rows 0-3, as
     * columns; r[4..7] the same of rows 4-7 */
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + (size_t)i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (size_t)(i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

#endif
