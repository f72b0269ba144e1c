/* bf16_kernels_avx512.h - the AVX512_BF16 micro-kernels of the bf16 convolutions
 * on the blocked layout (their contracts: kern_tile and kern_dw in
 * bf16_blocked.h), written with Intel's intrinsics.  The source is included
 * twice: by bf16_kernels.c, which compiles it for AVX512_BF16 (BF16_TARGET a
 * target attribute), and by tests/unit/test_bf16_kernels_emulated.c, which
 * compiles it against an emulation of the intrinsics (SIMDe, with VDPBF16PS
 * as Intel defines it), so that their loops, offsets, loads and stores run and
 * are compared bit for bit with the portable kernels on every CPU.  The
 * includer defines BF16_TARGET and provides the intrinsics.  Internal to
 * tools/nn. */
#ifndef FE_BF16_KERNELS_AVX512_H
#define FE_BF16_KERNELS_AVX512_H

#include "bf16_blocked.h"

BF16_TARGET static void tile_avx512(int ntaps, const uint32_t *a, const int *off,
                                    const uint32_t *b, int pstep, float *t)
{
    __m512 c[MR][NP];
    _Pragma("GCC unroll 6")
    for (int r = 0; r < MR; r++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NP; j++)
            c[r][j] = _mm512_setzero_ps();
    for (int q = 0; q < ntaps; q++) {
        const uint32_t *bq = b + off[q], *aq = a + (size_t)q * MR;
        __m512bh bv[NP];
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NP; j++)
            bv[j] = (__m512bh)_mm512_loadu_si512(bq + (size_t)j * pstep);
        _Pragma("GCC unroll 6")
        for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)aq[r]);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < NP; j++)
                c[r][j] = _mm512_dpbf16_ps(c[r][j], av, bv[j]);
        }
    }
    _Pragma("GCC unroll 6")
    for (int r = 0; r < MR; r++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NP; j++)
            _mm512_storeu_ps(t + (r * NP + j) * 16, c[r][j]);
}

BF16_TARGET static void dw_avx512(int nrows, int npix, const uint32_t *x, const int *off,
                                  size_t xrow, int xpix, const uint32_t *d, int ldd, size_t drow,
                                  float *acc, int ldacc)
{
    __m512 c[TQ][4];
    _Pragma("GCC unroll 6")
    for (int q = 0; q < TQ; q++)
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++)
            c[q][v] = _mm512_loadu_ps(acc + (size_t)q * ldacc + 16 * v);
    for (int r = 0; r < nrows; r++)
        for (int px = 0; px < npix; px++) {
            const uint32_t *xr = x + r * xrow + (size_t)px * xpix,
                           *dr = d + r * drow + (size_t)px * 8 * ldd;
            for (int i = 0; i < 8; i++) {
                __m512bh dv[4];
                _Pragma("GCC unroll 4")
                for (int v = 0; v < 4; v++)
                    dv[v] = (__m512bh)_mm512_loadu_si512(dr + (size_t)i * ldd + 16 * v);
                _Pragma("GCC unroll 6")
                for (int q = 0; q < TQ; q++) {
                    const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xr[off[q] + i]);
                    _Pragma("GCC unroll 4")
                    for (int v = 0; v < 4; v++)
                        c[q][v] = _mm512_dpbf16_ps(c[q][v], xv, dv[v]);
                }
            }
        }
    _Pragma("GCC unroll 6")
    for (int q = 0; q < TQ; q++)
        _Pragma("GCC unroll 4")
        for (int v = 0; v < 4; v++)
            _mm512_storeu_ps(acc + (size_t)q * ldacc + 16 * v, c[q][v]);
}

#endif
