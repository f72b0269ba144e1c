/* gemm_bf16.h - the reduced-precision GEMM of `--precision bf16` (gemm_bf16.c):
 *     C (m x n) = op(A) (m x k) * B (k x n), row-major, C overwritten,
 * with the operands rounded to bfloat16 (to nearest, ties to even) and the
 * products summed in float32 by AVX512_BF16's dot-product instruction.
 * op(A) = A or A^T (trans_a).  Runs on the OpenMP threads (call it outside a
 * parallel region).  Callers check fe_bf16_supported()
 * first; every buffer is the caller's (no state). */
#ifndef FE_GEMM_BF16_H
#define FE_GEMM_BF16_H

#include <stddef.h>

/* 1 when this CPU has AVX512F, AVX512BW and AVX512_BF16 (and the build has the kernel). */
int fe_bf16_supported(void);
/* Scratch floats fe_gemm_bf16 needs for an m x k op(A) (packed A). */
size_t fe_gemm_bf16_scratch(int m, int k);
void fe_gemm_bf16(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                  int ldb, float *c, int ldc, float *scratch);

#endif
