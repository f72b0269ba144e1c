/* test_gemm_bf16.c - the bf16 GEMM of --precision bf16 (tools/nn/gemm_bf16.c)
 * against the product of the same operands rounded to bfloat16 (to nearest,
 * ties to even), summed in double: only float32 summation may differ.  The
 * shapes cover partial row blocks (m not a multiple of 8), partial column
 * panels (n not a multiple of 48), odd k (a half-empty last pair), k longer
 * than one block (KC = 512), and A transposed or not; for each kernel this
 * CPU runs (AVX512_BF16; AMX tiles), and fe_gemm_bf16 (the fastest of them).
 * Skipped, and said so, on a CPU without AVX512_BF16; the AMX kernel is
 * skipped, saying so, where the CPU or the OS does not run it. */
#include "fe_test.h"

#include <math.h>

#include "gemm_bf16.h"
#include "rng.h"

/* float -> bfloat16 -> float, to nearest even (finite inputs). */
static float bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

/* kern < 0: fe_gemm_bf16 */
static void gemm_case(int kern, int m, int n, int k, int trans_a)
{
    fe_rng r;
    fe_rng_seed(&r, 7, "gemm_bf16", (uint64_t)(m * 1000003 + n * 1009 + k * 2 + trans_a));
    const int lda = trans_a ? m + 3 : k + 1, ldb = n + 5, ldc = n + 2;   /* strides past the edge */
    const size_t na = (size_t)(trans_a ? k : m) * lda, nb = (size_t)k * ldb, nc = (size_t)m * ldc;
    float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb);
    float *c = malloc(sizeof(float) * nc);
    float *s = aligned_alloc(64, (sizeof(float) * fe_gemm_bf16_scratch(m, k) + 63) / 64 * 64);
    assert_true(a && b && c && s);
    for (size_t i = 0; i < na; i++)
        a[i] = (float)(fe_rng_uniform(&r) * 2 - 1);
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(fe_rng_uniform(&r) * 2 - 1);
    for (size_t i = 0; i < nc; i++)
        c[i] = 12345.0f;                        /* outside C's columns: must stay */
    if (kern < 0)
        fe_gemm_bf16(m, n, k, a, lda, trans_a, b, ldb, c, ldc, s);
    else
        fe_gemm_bf16_with((fe_bf16_kernel)kern, m, n, k, a, lda, trans_a, b, ldb, c, ldc, s);
    double worst = 0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double want = 0, mag = 0;
            for (int p = 0; p < k; p++) {
                double t = (double)bf16_round(trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                           bf16_round(b[(size_t)p * ldb + j]);
                want += t;
                mag += fabs(t);
            }
            const double err = fabs(c[(size_t)i * ldc + j] - want);
            /* float32 sums: at most k roundings of partial sums <= mag */
            if (!(err <= 1.2e-7 * k * mag + 1e-30))
                fail_msg("%s: m %d n %d k %d trans %d: C[%d][%d] = %.9g, want %.9g",
                         kern < 0 ? "fe_gemm_bf16" : fe_bf16_kernel_name((fe_bf16_kernel)kern), m,
                         n, k, trans_a, i, j, (double)c[(size_t)i * ldc + j], want);
            worst = fmax(worst, err / (mag + 1e-30));
        }
        for (int j = n; j < ldc; j++)
            assert_true(c[(size_t)i * ldc + j] == 12345.0f);
    }
    /* and the rounding is bf16's, not float32's: the result differs from a float32 product */
    double dev = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double f32 = 0;
            for (int p = 0; p < k; p++)
                f32 += (double)(trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                       b[(size_t)p * ldb + j];
            dev = fmax(dev, fabs(c[(size_t)i * ldc + j] - f32));
        }
    if (m * n * k > 1)
        assert_true(dev > 1e-4);
    free(a); free(b); free(c); free(s);
}

static void test_gemm_bf16_shapes(void **state)
{
    (void)state;
    if (!fe_bf16_supported()) {
        fprintf(stderr, "test_gemm_bf16: SKIPPED: this CPU has no AVX512_BF16\n");
        skip();
    }
    /* row blocks of 8 (AVX-512) and 32 (AMX), panels of 48 and 32, pairs padded to 16 */
    static const int shapes[][3] = {{8, 48, 16}, {64, 200, 64}, {17, 50, 30}, {5, 3, 1},
                                    {24, 97, 33}, {16, 48, 1100}, {9, 1, 7}, {128, 96, 512},
                                    {33, 65, 34}, {32, 32, 32}, {70, 31, 1025}};
    for (int kern = -1; kern <= FE_BF16_AMX; kern++) {
        if (kern >= 0 && !fe_bf16_kernel_available((fe_bf16_kernel)kern)) {
            fprintf(stderr, "test_gemm_bf16: SKIPPED the %s kernel: not run by this CPU or OS\n",
                    fe_bf16_kernel_name((fe_bf16_kernel)kern));
            continue;
        }
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int t = 0; t < 2; t++)
                gemm_case(kern, shapes[i][0], shapes[i][1], shapes[i][2], t);
    }
}

/* The AMX and AVX-512 kernels round the same operands: their results differ
 * only by float32 summation order (checked above against double); and
 * fe_gemm_bf16 is the AMX kernel's result, bit for bit, where AMX runs. */
static void test_gemm_bf16_dispatch(void **state)
{
    (void)state;
    if (!fe_bf16_kernel_available(FE_BF16_AMX)) {
        fprintf(stderr, "test_gemm_bf16: SKIPPED the dispatch check: no AMX here\n");
        skip();
    }
    const int m = 40, n = 70, k = 600;
    fe_rng r;
    fe_rng_seed(&r, 9, "gemm_bf16_dispatch", 0);
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
    float *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
    float *s = aligned_alloc(64, (sizeof(float) * fe_gemm_bf16_scratch(m, k) + 63) / 64 * 64);
    assert_true(a && b && c1 && c2 && s);
    for (int i = 0; i < m * k; i++)
        a[i] = (float)(fe_rng_uniform(&r) * 2 - 1);
    for (int i = 0; i < k * n; i++)
        b[i] = (float)(fe_rng_uniform(&r) * 2 - 1);
    fe_gemm_bf16(m, n, k, a, k, 0, b, n, c1, n, s);
    fe_gemm_bf16_with(FE_BF16_AMX, m, n, k, a, k, 0, b, n, c2, n, s);
    assert_memory_equal(c1, c2, sizeof(float) * m * n);
    free(a); free(b); free(c1); free(c2); free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_gemm_bf16_shapes),
                                       cmocka_unit_test(test_gemm_bf16_dispatch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
