/* sgemm.h - a float32 GEMM of our own, for the Winograd convolution's products
 * and the direct convolutions of conv2d_sgemm.c.
 *
 *   C (m x n, row stride ldc) = op(A) op(B)  (+ C when accumulate)
 *   op(A) is m x k: A[i][p] = a[i*lda + p], or with trans_a a[p*lda + i];
 *   op(B) is k x n: B[p][j] = b[p*ldb + j], or with trans_b b[j*ldb + p].
 *
 * One thread per call (the callers run independent products on their threads).
 * Each element of C is summed over p in blocks of FE_SGEMM_KC in increasing
 * order, within a block one fused multiply-add at a time from zero, each block's
 * sum then added to C: the same operations whatever the vector width, so the
 * AVX-512 and AVX2 kernels and the scalar one (fmaf) give the same bits.
 * pack: FE_SGEMM_PACK_FLOATS floats of scratch for this call (32 KiB), where
 * blocks of op(B) are copied (sgemm.c says when); NULL: a block on the stack. */
#ifndef FE_SGEMM_H
#define FE_SGEMM_H

#include <stddef.h>

#define FE_SGEMM_KC 256         /* the k of one block */
#define FE_SGEMM_PACK_FLOATS ((size_t)FE_SGEMM_KC * 32)   /* a block of op(B) when transposed */

void fe_sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
              const float *b, int ldb, int accumulate, float *c, int ldc, float *pack);

/* The same product on the threads of an OpenMP team (from outside a parallel
 * region): C's columns (or, when it has few, its rows) shared among them in
 * whole tiles, each thread with a pack block on its stack.  Every element is
 * summed as by fe_sgemm, so the result does not depend on the thread count. */
void fe_sgemm_threads(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                      const float *b, int ldb, int accumulate, float *c, int ldc);

/* op(B) made on the fly instead of read from memory (the direct convolutions'
 * implicit im2col, conv2d_sgemm.c): pack(ctx, j0, nr, p0, kc, bp) writes op(B)'s
 * rows [p0, p0 + kc) and columns [j0, j0 + nr) (nr <= FE_SGEMM_NR) to
 * bp[(p - p0) * FE_SGEMM_NR + (j - j0)]; columns past nr are not read.  It is
 * called for every block of op(B) a product needs, by the thread that needs it,
 * so it must not write anything else. */
#define FE_SGEMM_NR 32
typedef struct {
    void (*pack)(const void *ctx, int j0, int nr, int p0, int kc, float *bp);
    const void *ctx;
} fe_sgemm_bsrc;

/* fe_sgemm_threads with op(B) from b->pack: the same sums in the same order, so
 * the same bits as fe_sgemm_threads on the matrix that b->pack copies from. */
void fe_sgemm_threads_bsrc(int trans_a, int m, int n, int k, const float *a, int lda,
                           const fe_sgemm_bsrc *b, int accumulate, float *c, int ldc);

/* "avx512", "avx2" or "scalar": the kernel this CPU runs. */
const char *fe_sgemm_isa(void);

/* For the tests: run with a given kernel ("avx512", "avx2", "scalar"); returns
 * -1 when this CPU cannot run it. */
int fe_sgemm_with(const char *isa, int trans_a, int trans_b, int m, int n, int k, const float *a,
                  int lda, const float *b, int ldb, int accumulate, float *c, int ldc, float *pack);

#endif
