/* gemm_bf16_amx.c - the bf16 GEMM of gemm_bf16.h on Intel AMX tiles
 * (Sapphire Rapids and later: AMX-TILE, AMX-BF16).
 *
 * Where VDPBF16PS runs at half rate (Intel Emerald Rapids: the bf16 dot peak
 * is half the float32 FMA peak), the tile unit does a 16x16x32 bf16 product
 * per TDPBF16PS: measured about 6x that peak per core.  The operands are
 * rounded to bf16 exactly as for the AVX-512 kernel (while packed, to nearest
 * even); the products of a pair along k are summed into float32 accumulators,
 * so the result differs from the AVX-512 kernel's only in the order of the
 * float32 sums.
 * Layouts, in 32-bit words each holding a bf16 pair along k:
 *   packed A:  [mp][kpp]   rows of op(A), mp = m rounded up to 32, kpp = the
 *                          block's pairs rounded up to 16 (zero padding)
 *   B panel:   [kpp][32]   32 columns of B (fe_bf16_pack_b)
 * Micro-kernel: 32 x 32 of C in tiles 0-3; per 16 pairs of k, two A tiles
 * (4, 5: 16 rows x 16 pairs) and two B tiles (6, 7: 16 pairs x 16 columns),
 * four TDPBF16PS.  k is cut in blocks of KC, each added into C in order, and a
 * block of C is summed by one thread: the result does not depend on the thread
 * count.
 * Linux hands a process the tile state only on request (arch_prctl
 * ARCH_REQ_XCOMP_PERM); fe_bf16_amx_ready() asks, and says no where the CPU,
 * the hypervisor or the kernel does. */
#define _DEFAULT_SOURCE     /* syscall() */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm_bf16.h"

#define MB 32                           /* rows of C per micro-kernel */
#define NB 32                           /* columns of C per B panel */
#define KC 512                          /* k per block (even) */

static int kc_of(int k) { return k < KC ? (k + 1) & ~1 : KC; }
static int pad16(int x) { return (x + 15) & ~15; }

size_t fe_gemm_bf16_amx_scratch(int m, int k)
{
    return (size_t)((m + MB - 1) / MB) * MB * (size_t)pad16(kc_of(k) / 2) + 16;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FE_NO_CLONES) && \
    __GNUC__ >= 11
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int fe_bf16_amx_ready(void)
{
    unsigned a, b, c, d;
    if (!fe_bf16_supported() || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    if (!(d & (1u << 22)) || !(d & (1u << 24)))     /* AMX-BF16, AMX-TILE */
        return 0;
    /* granted once per process; asking again is a no-op that says yes */
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

/* op(A) rows [0, m), k-columns [k0, k0+kc) -> packed A [mp][kpp], zero padded. */
AMX_TARGET static void pack_a(int m, int mp, int k0, int kc, const float *a, int lda, int trans,
                              int kpp, uint32_t *ap)
{
    float t[16];
    for (int i = 0; i < mp; i++)
        for (int p0 = 0; p0 < kpp; p0 += 8) {
            for (int h = 0; h < 16; h++) {
                const int q = 2 * p0 + h;           /* column of the block */
                t[h] = i >= m || q >= kc ? 0.0f
                       : trans ? a[(size_t)(k0 + q) * lda + i] : a[(size_t)i * lda + k0 + q];
            }
            _mm256_storeu_si256((__m256i *)(ap + (size_t)i * kpp + p0),
                                (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(t)));
        }
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

AMX_TARGET void fe_gemm_bf16_amx(int m, int n, int k, const float *a, int lda, int trans_a,
                                 const float *b, int ldb, float *c, int ldc, float *scratch)
{
    const int kc_max = kc_of(k), mp = (m + MB - 1) / MB * MB;
    uint32_t *ap = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    for (int k0 = 0; k0 < k; k0 += kc_max) {
        const int kc = k - k0 < kc_max ? k - k0 : kc_max, kpp = pad16((kc + 1) / 2);
        const int add = k0 > 0;
        pack_a(m, mp, k0, kc, a, lda, trans_a, kpp, ap);
        #pragma omp parallel
        {
            uint32_t bp[KC / 2 * NB] __attribute__((aligned(64)));
            float t[MB * NB] __attribute__((aligned(64)));
            tile_config cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.palette = 1;
            for (int i = 0; i < 8; i++) {
                cfg.colsb[i] = 64;
                cfg.rows[i] = 16;
            }
            _tile_loadconfig(&cfg);
            #pragma omp for schedule(static)
            for (int j = 0; j < n; j += NB) {
                const int nc = n - j < NB ? n - j : NB;
                fe_bf16_pack_b(k0, kc, j, nc, b, ldb, NB, kpp, bp);
                for (int i = 0; i < m; i += MB) {
                    const uint32_t *a0 = ap + (size_t)i * kpp, *a1 = a0 + (size_t)16 * kpp;
                    _tile_zero(0);
                    _tile_zero(1);
                    _tile_zero(2);
                    _tile_zero(3);
                    for (int p = 0; p < kpp; p += 16) {
                        _tile_loadd(4, a0 + p, kpp * 4);
                        _tile_loadd(5, a1 + p, kpp * 4);
                        _tile_loadd(6, bp + (size_t)p * NB, NB * 4);
                        _tile_loadd(7, bp + (size_t)p * NB + 16, NB * 4);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                    _tile_stored(0, t, NB * 4);
                    _tile_stored(1, t + 16, NB * 4);
                    _tile_stored(2, t + 16 * NB, NB * 4);
                    _tile_stored(3, t + 16 * NB + 16, NB * 4);
                    const int rows = m - i < MB ? m - i : MB;
                    for (int r = 0; r < rows; r++) {
                        float *cr = c + (size_t)(i + r) * ldc + j;
                        const float *tr = t + r * NB;
                        if (add)
                            for (int s = 0; s < nc; s++)
                                cr[s] += tr[s];
                        else
                            memcpy(cr, tr, sizeof(float) * nc);
                    }
                }
            }
            _tile_release();
        }
    }
}
#else
int fe_bf16_amx_ready(void) { return 0; }
void fe_gemm_bf16_amx(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                      int ldb, float *c, int ldc, float *scratch)
{
    abort();    /* no caller gets here: fe_bf16_amx_ready() said no */
}
#endif
