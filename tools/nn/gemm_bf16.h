/* gemm_bf16.h - the reduced-precision GEMM of `--precision bf16` (gemm_bf16.c):
 *     C (m x n) = op(A) (m x k) * B (k x n), row-major, C overwritten,
 * with the operands rounded to bfloat16 (to nearest, ties to even) and the
 * products summed in float32 by AVX512_BF16's dot-product instruction, or by
 * AMX's tile product where the CPU has it (gemm_bf16_amx.c).
 * op(A) = A or A^T (trans_a).  Runs on the OpenMP threads (call it outside a
 * parallel region).  Callers check fe_bf16_supported()
 * first; every buffer is the caller's (no state). */
#ifndef FE_GEMM_BF16_H
#define FE_GEMM_BF16_H

#include <stddef.h>

#include <stdint.h>

/* 1 when this CPU has AVX512F, AVX512BW and AVX512_BF16 (and the build has the kernel). */
int fe_bf16_supported(void);
/* Scratch floats fe_gemm_bf16 needs for an m x k op(A) (packed A, either kernel). */
size_t fe_gemm_bf16_scratch(int m, int k);
/* With the fastest kernel this CPU runs: AMX tiles where the CPU has AMX-BF16 and
 * the kernel grants the process its tile state (gemm_bf16_amx.c), else AVX512_BF16. */
void fe_gemm_bf16(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                  int ldb, float *c, int ldc, float *scratch);

/* The kernels, for the tests and make bench (each: the same contract as fe_gemm_bf16;
 * callers check fe_bf16_kernel_available(kern) first). */
typedef enum { FE_BF16_AVX512, FE_BF16_AMX } fe_bf16_kernel;
const char *fe_bf16_kernel_name(fe_bf16_kernel k);
/* 1 when this CPU (and OS) runs kernel k. */
int fe_bf16_kernel_available(fe_bf16_kernel k);
void fe_gemm_bf16_with(fe_bf16_kernel kern, int m, int n, int k, const float *a, int lda,
                       int trans_a, const float *b, int ldb, float *c, int ldc, float *scratch);

/* Shared by the two kernels: B rows [k0, k0+kc), columns [j, j+nc) -> a panel
 * [kp_pad][nr] of 32-bit words, each the bf16 pair of rows 2p and 2p+1 of one
 * column (even row in the low half); zero past nc and past kc (rows up to
 * 2*kp_pad).  nr a multiple of 16. */
void fe_bf16_pack_b(int k0, int kc, int j, int nc, const float *b, int ldb, int nr, int kp_pad,
                    uint32_t *bp);
/* gemm_bf16_amx.c: AMX present and granted; the AMX kernel; its scratch. */
int fe_bf16_amx_ready(void);
size_t fe_gemm_bf16_amx_scratch(int m, int k);
void fe_gemm_bf16_amx(int m, int n, int k, const float *a, int lda, int trans_a, const float *b,
                      int ldb, float *c, int ldc, float *scratch);

#endif
