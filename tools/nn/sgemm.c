/* sgemm.c - the float32 GEMM of sgemm.h: blocks of KC along k; per block, for
 * each 32 columns of op(B) (read in place, or packed when transposed: 32 KiB,
 * in L1), a micro-kernel makes each 8 x 32 tile of C (AVX2: 6 x 32) in
 * registers: the block's products added one fused multiply-add at a time from
 * zero, then the block's sum added to C when there is one to add to
 * (accumulate, or a block before).
 * (Summed in one sequential chain over k = 1088, Winograd's weight gradient
 * missed test_winograd's bound; OpenBLAS sums in blocks too.)  op(A)'s elements
 * are broadcast straight from A: at the Winograd products' sizes, packing A
 * cost as much as the arithmetic.
 *
 * Kernels, chosen by what the CPU reports: AVX-512F (16 accumulators of 16
 * floats, two loads of B and eight broadcasts of A per k), AVX2+FMA (tiles of
 * 6 rows, not 8, each 6 x 32 as two 6 x 16 of twelve accumulators; 4 x 16 for
 * the last rows; partial columns 8 at a time with masks) and a scalar one
 * (fmaf).  All three do the same roundings in the same order, so they give the
 * same bits. */
#include <math.h>
#include <string.h>
#include <immintrin.h>
#include "prefetch.h"
#include "sgemm.h"
#include "threads.h"
#include "transpose8_avx2.h"

#define KC FE_SGEMM_KC
#define MR 8
#define NR FE_SGEMM_NR
/* The kernels' loops over the MR rows, unrolled: their accumulators then live
 * in registers (at -O2 GCC keeps such small arrays in memory otherwise). */
#define UNROLL _Pragma("GCC unroll 8")

/* c[r*ldc + j] for r < mr, j < nr = (acc ? c : 0) + sum_p A(r, p) * b[p*ldb + j], with
 * A(r, p) = a[r*ars + p*aps]: op(A) read in place, either way round (the kernels
 * broadcast its elements one at a time, so it needs no packing).  The rows past
 * mr read row mr - 1 again and are not stored. */
typedef void kernel_fn(int kc, const float *a, size_t ars, size_t aps, const float *b, size_t ldb,
                       float *c, size_t ldc, int mr, int nr, int acc, const float *pf);

static void kernel_scalar(int kc, const float *a, size_t ars, size_t aps, const float *b,
                          size_t ldb, float *c, size_t ldc, int mr, int nr, int acc, const float *pf)
{
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float s = 0.0f;
            for (int p = 0; p < kc; p++)
                s = fmaf(a[r * ars + p * aps], b[p * ldb + j], s);
            c[r * ldc + j] = acc ? c[r * ldc + j] + s : s;
        }
}

/* The whole 8 x 32 tile: no masks, and each row of op(A) a pointer of its own,
 * found once, so a step over k is two loads of B, eight broadcasts and sixteen
 * FMAs (the general kernel below picks each row's address anew at every k).
 * pf (or NULL): the same rows of the next block of op(B), fetched into L1 as
 * the kernel goes, for the tiles of that block.  gemm() also asks for the
 * next block's lines of C before each tile.  In place, op(B)'s rows lie far
 * apart (a Winograd plane's 7056 columns at batch 512), one 128-byte piece of
 * each per block: more streams than the hardware prefetchers follow, so each
 * block's first tile waited on memory for B and every tile for C.  On 2 cores
 * of an Intel Xeon with AVX-512 (2026-12-07, tests/bench/ab.sh sgemm HEAD 40)
 * the products with B in place and 512 columns or more ran 1.07-1.48x faster
 * (1.00-1.12x those with B packed, where only C's fetch applies); a ResNet-18
 * training step 3-6% faster.  With 64 or 112 columns (the fused forward's tile
 * rows, C and B already in cache) the fetches cost 2-3%, so gemm() leaves
 * them out below 256 columns. */
__attribute__((target("avx512f")))
static void kernel_avx512_full(int kc, const float *a, size_t ars, size_t aps, const float *b,
                               size_t ldb, float *c, size_t ldc, int acc, const float *pf)
{
    const float *ar[MR];
    __m512 c0[MR], c1[MR];
    UNROLL
    for (int r = 0; r < MR; r++) {
        ar[r] = a + r * ars;
        c0[r] = c1[r] = _mm512_setzero_ps();
    }
    size_t off = 0;
    for (int p = 0; p < kc; p++, off += aps, b += ldb) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        if (pf) {
            _mm_prefetch((const char *)pf, _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + 16), _MM_HINT_T0);
            pf += ldb;
        }
        UNROLL
        for (int r = 0; r < MR; r++) {
            const __m512 x = _mm512_set1_ps(ar[r][off]);
            c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
        }
    }
    UNROLL
    for (int r = 0; r < MR; r++) {
        if (acc) {
            c0[r] = _mm512_add_ps(_mm512_loadu_ps(c + r * ldc), c0[r]);
            c1[r] = _mm512_add_ps(_mm512_loadu_ps(c + r * ldc + 16), c1[r]);
        }
        _mm512_storeu_ps(c + r * ldc, c0[r]);
        _mm512_storeu_ps(c + r * ldc + 16, c1[r]);
    }
}

__attribute__((target("avx512f")))
static void kernel_avx512(int kc, const float *a, size_t ars, size_t aps, const float *b,
                          size_t ldb, float *c, size_t ldc, int mr, int nr, int acc, const float *pf)
{
    if (mr == MR && nr == NR) {
        kernel_avx512_full(kc, a, ars, aps, b, ldb, c, ldc, acc, pf);
        return;
    }
    const __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? 0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 c0[MR], c1[MR];          /* (unrolled, so that they live in registers) */
    UNROLL
    for (int r = 0; r < MR; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + p * ldb);
        const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + p * ldb + 16);
        const float *ap = a + p * aps;
        UNROLL
        for (int r = 0; r < MR; r++) {
            const __m512 x = _mm512_set1_ps(ap[(r < mr ? r : mr - 1) * ars]);
            c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
        }
    }
    UNROLL
    for (int r = 0; r < MR; r++)
        if (r < mr) {
            if (acc) {
                c0[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c + r * ldc), c0[r]);
                c1[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + r * ldc + 16), c1[r]);
            }
            _mm512_mask_storeu_ps(c + r * ldc, m0, c0[r]);
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c1[r]);
        }
}

/* Columns [j, j + 8) of the tile; nr8 of them (1..8) live. */
__attribute__((target("avx2,fma")))
static void kernel_avx2_8(int kc, const float *a, size_t ars, size_t aps, const float *b,
                          size_t ldb, float *c, size_t ldc, int mr, int nr8, int acc)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr8), idx);
    __m256 s[MR];
    UNROLL
    for (int r = 0; r < MR; r++)
        s[r] = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const __m256 x = _mm256_maskload_ps(b + p * ldb, mask);
        const float *ap = a + p * aps;
        UNROLL
        for (int r = 0; r < MR; r++)
            s[r] = _mm256_fmadd_ps(_mm256_set1_ps(ap[(r < mr ? r : mr - 1) * ars]), x, s[r]);
    }
    UNROLL
    for (int r = 0; r < MR; r++)
        if (r < mr)
            _mm256_maskstore_ps(c + r * ldc, mask,
                                acc ? _mm256_add_ps(_mm256_maskload_ps(c + r * ldc, mask), s[r])
                                    : s[r]);
}

/* Rows [0, R) and columns [0, 16) of a whole tile (rows and columns all
 * live), R = 6 or 4: 2R accumulators, and per k two loads of B, R broadcasts
 * of A and 2R FMAs (kernel_avx2_8 needs nine loads for its eight FMAs and
 * picks each row's address anew at every k).  Inlined with R a constant, the
 * loops unroll and the arrays live in registers: as fast as the 6 x 16 and
 * 4 x 16 kernels written out that it replaces (0.98-1.09x in two runs of
 * tests/bench/ab.sh sgemm).  With R = 6, twelve accumulators, each of the two
 * FMA pipes has more than its latency's worth of independent sums (four
 * cycles on a Zen 3); with R = 4 exactly that. */
__attribute__((target("avx2,fma"), always_inline))
static inline void kernel_avx2_rx16(const int R, int kc, const float *a, size_t ars, size_t aps,
                                    const float *b, size_t ldb, float *c, size_t ldc, int acc)
{
    const float *ar[6];
    __m256 s0[6], s1[6];
    UNROLL
    for (int r = 0; r < R; r++) {
        ar[r] = a + r * ars;
        s0[r] = s1[r] = _mm256_setzero_ps();
    }
    size_t off = 0;
    for (int p = 0; p < kc; p++, off += aps, b += ldb) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        UNROLL
        for (int r = 0; r < R; r++) {
            const __m256 x = _mm256_broadcast_ss(ar[r] + off);
            s0[r] = _mm256_fmadd_ps(x, b0, s0[r]);
            s1[r] = _mm256_fmadd_ps(x, b1, s1[r]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++) {
        float *cp = c + r * ldc;
        _mm256_storeu_ps(cp, acc ? _mm256_add_ps(_mm256_loadu_ps(cp), s0[r]) : s0[r]);
        _mm256_storeu_ps(cp + 8, acc ? _mm256_add_ps(_mm256_loadu_ps(cp + 8), s1[r]) : s1[r]);
    }
}

/* gemm() gives this kernel tiles of MR_AVX2 rows: the columns in blocks of 16
 * (6 x 16, or 4 x 16 for the rows left), then the rest 8 at a time. */
#define MR_AVX2 6
__attribute__((target("avx2,fma")))
static void kernel_avx2(int kc, const float *a, size_t ars, size_t aps, const float *b,
                        size_t ldb, float *c, size_t ldc, int mr, int nr, int acc, const float *pf)
{
    const int n16 = mr == MR_AVX2 || mr == 4 ? nr & ~15 : 0;
    for (int j = 0; j < n16; j += 16) {
        if (mr == MR_AVX2)
            kernel_avx2_rx16(6, kc, a, ars, aps, b + j, ldb, c + j, ldc, acc);
        else
            kernel_avx2_rx16(4, kc, a, ars, aps, b + j, ldb, c + j, ldc, acc);
    }
    for (int j = n16; j < nr; j += 8)
        kernel_avx2_8(kc, a, ars, aps, b + j, ldb, c + j, ldc, mr, nr - j < 8 ? nr - j : 8, acc);
}

/* op(B) = b^T: rows [p0, p0 + kc), columns [j0, j0 + nr) into bp[p * NR + j]. */
static void pack_bt(const float *b, size_t ldb, int j0, int nr, int p0, int kc, float *bp)
{
    for (int j = 0; j < nr; j++) {
        const float *src = b + (size_t)(j0 + j) * ldb + p0;
        for (int p = 0; p < kc; p++)
            bp[p * NR + j] = src[p];
    }
}

/* op(B) = b: rows [p0, p0 + kc), columns [j0, j0 + nr) into bp[p * NR + j]. */
static void pack_b(const float *b, size_t ldb, int j0, int nr, int p0, int kc, float *bp)
{
    for (int p = 0; p < kc; p++) {
        const float *src = b + (size_t)(p0 + p) * ldb + j0;
        float *dst = bp + (size_t)p * NR;
        memcpy(dst, src, sizeof(float) * (size_t)nr);
        if (nr < NR)
            memset(dst + nr, 0, sizeof(float) * (size_t)(NR - nr));
    }
}

/* pack_bt with AVX2 (every CPU with AVX-512F has it), for the vector kernels:
 * 8 x 8 transposes in registers.  A copy, so the same bits.  In a training
 * step of ResNet-18 at batch 512 on a 2-core Zen 3 the scalar pack_bt took 5%
 * of the time (perf); the weight-gradient products (B transposed) ran
 * 1.06-1.19x faster with this one (tests/bench/ab.sh sgemm, with the tiles of
 * tile_rows).  pack_b's memcpy stays: whole AVX2 vectors instead were 1.05x
 * faster at 64 columns and 0.96-0.97x at 1792-3584. */
__attribute__((target("avx2")))
static void pack_bt_avx2(const float *b, size_t ldb, int j0, int nr, int p0, int kc, float *bp)
{
    int j = 0;
    for (; j + 8 <= nr; j += 8) {
        const float *src = b + (size_t)(j0 + j) * ldb + p0;
        int p = 0;
        for (; p + 8 <= kc; p += 8) {
            const float *rows[8];
            for (int i = 0; i < 8; i++)
                rows[i] = src + (size_t)i * ldb + p;
            fe_transpose8_avx2(rows, bp + (size_t)p * NR + j, NR);
        }
        for (; p < kc; p++)
            for (int i = 0; i < 8; i++)
                bp[p * NR + j + i] = src[(size_t)i * ldb + p];
    }
    if (j < nr)                                /* the last columns, one at a time */
        pack_bt(b, ldb, j0 + j, nr - j, p0, kc, bp + j);
}

/* With op(B) = b^T packed, the vector kernels' gemm() asks for the next
 * block's lines of b into L2 (the next columns at this k block, or the first
 * at the next), to be there when pack_bt_avx2 reads them: b's 32 rows per
 * block, each read 1 KiB at a time, are more streams than the hardware
 * prefetchers follow.  ab.sh sgemm HEAD 40 (2026-12-07, the Intel Xeon of
 * the note above kernel_avx512_full), three runs: layer1's weight-gradient
 * product (64 x 64 x 7056) 1.18-1.36x faster, layer2's 1.05-1.07x, the larger
 * ones 1.00-1.02x; the same bits.  With the AVX2 kernel forced there (a
 * throwaway edit of the kernel order, both builds), two runs: 1.30x, 1.08-1.10x,
 * 1.04-1.10x.  Not measured on a CPU without AVX-512.  (Fetching op(A)'s rows for the
 * next k block as well added 0-4% to these and cost 4% on 512 x 512 x 512
 * with A transposed: not kept.) */
static void fetch_next_bt(const float *b, int ldb, int n, int k, int j0, int p0)
{
    const int jn = j0 + NR < n ? j0 + NR : 0, pn = j0 + NR < n ? p0 : p0 + KC;
    if (pn >= k)
        return;
    const int nrn = n - jn < NR ? n - jn : NR, kcn = k - pn < KC ? k - pn : KC;
    for (int j = 0; j < nrn; j++)
        for (int q = 0; q < kcn; q += 16)
            fetch_t1(b + (size_t)(jn + j) * ldb + pn + q);
}

/* The rows of the next tile, `left` rows to go.  The AVX2 kernel's whole
 * tiles are 6 x 16 and 4 x 16; any other height runs 8 columns at a time with
 * masks, several times slower.  Convolutions' rows are multiples of 16, so the
 * last rows are 2 or 4 (m mod 6): 8 rows left go as two tiles of 4, not 6 + 2
 * (ResNet-18's 128 and 512 rows).  Each element of C is the same sum whatever
 * its tile: the same bits.  (Tiles of 5 in place of the 4s, 16 rows as 6 + 5
 * + 5, 64 as 9 x 6 + 2 x 5: 0.98-1.05x on the products of batches 16 and
 * 512, by tests/bench/ab.sh sgemm; not kept.) */
static int tile_rows(kernel_fn *kern, int left)
{
    if (kern != kernel_avx2)
        return left < MR ? left : MR;
    return left == 8 ? 4 : left < MR_AVX2 ? left : MR_AVX2;
}

/* bs: op(B) from bs->pack (b, ldb and trans_b unused), its columns from bj0 on. */
static void gemm(kernel_fn *kern, int trans_a, int trans_b, int m, int n, int k, const float *a,
                 int lda, const float *b, int ldb, const fe_sgemm_bsrc *bs, int bj0,
                 int accumulate, float *c, int ldc, float *pack)
{
    float own[FE_SGEMM_PACK_FLOATS] __attribute__((aligned(64)));
    if (!pack)
        pack = own;
    /* op(B) in place, except:
     * - when its rows lie a multiple of 4 KiB apart: then every row of a block
     *   falls in the same few sets of L1, and a copy is faster (ResNet-18's
     *   layer4.0.conv1 at batch 512: 8192 columns, 8% faster);
     * - for the AVX2 kernel, when C has 128 rows or more, so that each copy
     *   serves 16 row blocks or more: on a 2-core Zen 3 (32 KiB of L1, one
     *   block of B is all of it) the products of ResNet-18's layers 2-4 ran
     *   1.1-1.3x faster, layer1's (64 rows) not.  The AVX-512 kernel keeps B
     *   in place: copying every block made layer1's products 2x slower on a
     *   Zen 5, and 128 rows or more were not measured there. */
    const int copy_b = !trans_b && (ldb % 1024 == 0 || (m >= 128 && kern == kernel_avx2));
    const size_t ars = trans_a ? 1 : (size_t)lda, aps = trans_a ? (size_t)lda : 1;
    const int vec = kern != kernel_scalar;                 /* the AVX2 transposes */
    if (k == 0 && !accumulate)
        for (int i = 0; i < m; i++)
            memset(c + (size_t)i * ldc, 0, sizeof(float) * (size_t)n);
    for (int p0 = 0; p0 < k; p0 += KC) {
        const int kc = k - p0 < KC ? k - p0 : KC, acc = accumulate || p0 > 0;
        for (int j0 = 0; j0 < n; j0 += NR) {
            const int nr = n - j0 < NR ? n - j0 : NR;
            const float *bj = pack;                  /* the block of op(B) */
            size_t ldbj = NR;
            if (bs)
                bs->pack(bs->ctx, bj0 + j0, nr, p0, kc, pack);
            else if (trans_b) {
                (vec ? pack_bt_avx2 : pack_bt)(b, (size_t)ldb, j0, nr, p0, kc, pack);
                if (vec)
                    fetch_next_bt(b, ldb, n, k, j0, p0);
            }
            else if (copy_b)
                pack_b(b, (size_t)ldb, j0, nr, p0, kc, pack);
            else {
                bj = b + (size_t)p0 * ldb + j0;
                ldbj = (size_t)ldb;
            }
            /* Prefetches, for the AVX-512 kernel (measured there; see the
             * note above kernel_avx512_full) when a whole block of columns
             * follows: each tile first asks for its rows of C in that block,
             * and with op(B) in place the first tile also fetches that block's
             * lines of B as it goes, for the tiles after it. */
            const int ahead = kern == kernel_avx512 && n >= 8 * NR && n - j0 >= 2 * NR;
            const float *pf = ahead && bj != pack ? bj + NR : NULL;
            for (int i0 = 0, h; i0 < m; i0 += h) {
                h = tile_rows(kern, m - i0);
                for (int r = 0; ahead && r < h; r++) {
                    const float *cn = c + (size_t)(i0 + r) * ldc + j0 + NR;
                    fetch_t0(cn);
                    fetch_t0(cn + 16);
                }
                kern(kc, a + i0 * ars + p0 * aps, ars, aps, bj, ldbj, c + (size_t)i0 * ldc + j0,
                     (size_t)ldc, h, nr, acc, i0 ? NULL : pf);
            }
        }
    }
}

static kernel_fn *kernel_for(const char *isa)
{
    __builtin_cpu_init();
    if (!strcmp(isa, "avx512"))
        return __builtin_cpu_supports("avx512f") ? kernel_avx512 : NULL;
    if (!strcmp(isa, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? kernel_avx2
                                                                                 : NULL;
    return !strcmp(isa, "scalar") ? kernel_scalar : NULL;
}

/* The fastest kernel this CPU runs, and its name. */
static kernel_fn *best(const char **isa)
{
    static const char *const order[] = {"avx512", "avx2", "scalar"};
    for (int i = 0;; i++) {
        kernel_fn *k = kernel_for(order[i]);
        if (k) {
            *isa = order[i];
            return k;
        }
    }
}

const char *fe_sgemm_isa(void)
{
    const char *isa;
    best(&isa);
    return isa;
}

void fe_sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
              const float *b, int ldb, int accumulate, float *c, int ldc, float *pack)
{
    const char *isa;
    gemm(best(&isa), trans_a, trans_b, m, n, k, a, lda, b, ldb, NULL, 0, accumulate, c, ldc, pack);
}

int fe_sgemm_with(const char *isa, int trans_a, int trans_b, int m, int n, int k, const float *a,
                  int lda, const float *b, int ldb, int accumulate, float *c, int ldc, float *pack)
{
    kernel_fn *kern = kernel_for(isa);
    if (!kern)
        return -1;
    gemm(kern, trans_a, trans_b, m, n, k, a, lda, b, ldb, NULL, 0, accumulate, c, ldc, pack);
    return 0;
}

/* C's columns (or, when it has few, its rows) shared among the threads in
 * whole tiles: bs NULL, op(B) from b; else from bs->pack. */
static void gemm_threads(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                         const float *b, int ldb, const fe_sgemm_bsrc *bs, int accumulate,
                         float *c, int ldc)
{
    const char *isa;
    kernel_fn *kern = best(&isa);
    const int by_cols = n >= 4 * NR || n >= m;      /* share the longer side */
    const int unit = by_cols ? NR : MR, units = ((by_cols ? n : m) + unit - 1) / unit;
    #pragma omp parallel
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int u0 = (int)((long)units * t / nt), u1 = (int)((long)units * (t + 1) / nt);
        const int lo = u0 * unit, hi = u1 * unit < (by_cols ? n : m) ? u1 * unit : (by_cols ? n : m);
        if (hi > lo && by_cols)
            gemm(kern, trans_a, trans_b, m, hi - lo, k, a, lda,
                 bs ? b : trans_b ? b + (size_t)lo * ldb : b + lo, ldb, bs, lo, accumulate,
                 c + lo, ldc, NULL);
        else if (hi > lo)
            gemm(kern, trans_a, trans_b, hi - lo, n, k,
                 trans_a ? a + lo : a + (size_t)lo * lda, lda, b, ldb, bs, 0, accumulate,
                 c + (size_t)lo * ldc, ldc, NULL);
    }
}

void fe_sgemm_threads(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                      const float *b, int ldb, int accumulate, float *c, int ldc)
{
    gemm_threads(trans_a, trans_b, m, n, k, a, lda, b, ldb, NULL, accumulate, c, ldc);
}

void fe_sgemm_threads_bsrc(int trans_a, int m, int n, int k, const float *a, int lda,
                           const fe_sgemm_bsrc *b, int accumulate, float *c, int ldc)
{
    gemm_threads(trans_a, 0, m, n, k, a, lda, NULL, 0, b, accumulate, c, ldc);
}
