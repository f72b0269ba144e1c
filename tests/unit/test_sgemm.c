/* test_sgemm.c - the GEMM of tools/nn/sgemm.h against a float64 product, for
 * every transpose, accumulate or not, and sizes on both sides of the blocks
 * (6 and 8 rows, 32 columns, KC = 256, k = 0); every kernel this CPU runs
 * gives the scalar kernel's bits (the same fused multiply-adds and additions),
 * with the caller's pack block and with its own;
 * elements of C outside the m x n block are not touched; the threaded entry
 * gives the same bits on any thread count. */
#include "fe_test.h"

#include <math.h>
#include <omp.h>

#include "rng.h"
#include "sgemm.h"

static const char *const isas[] = {"scalar", "avx2", "avx512"};

/* ldb_want 0: op(B)'s rows a few floats longer than its columns */
static void gemm_case_ldb(int ta, int tb, int m, int n, int k, int acc, int ldb_want)
{
    char what[160];
    snprintf(what, sizeof what, "sgemm %s%s m %d n %d k %d%s", ta ? "A^T " : "", tb ? "B^T " : "",
             m, n, k, acc ? " accumulate" : "");
    fe_rng r;
    fe_rng_seed(&r, 7, what, 0);
    const int lda = (ta ? m : k) + 3, ldb = ldb_want ? ldb_want : (tb ? k : n) + 5, ldc = n + 2;
    const size_t na = (size_t)(ta ? k : m) * lda + 1, nb = (size_t)(tb ? n : k) * ldb + 1,
                 nc = (size_t)m * ldc;
    float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb);
    float *c0 = malloc(sizeof(float) * nc), *c = malloc(sizeof(float) * nc),
          *ref = malloc(sizeof(float) * nc);
    float *pack = aligned_alloc(64, sizeof(float) * FE_SGEMM_PACK_FLOATS);
    assert_true(a && b && c0 && c && ref && pack);
    for (size_t i = 0; i < na; i++)
        a[i] = (float)fe_rng_normal(&r);
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)fe_rng_normal(&r);
    for (size_t i = 0; i < nc; i++)
        c0[i] = (float)fe_rng_normal(&r);
    int ran = 0;
    /* each kernel twice: with the caller's pack block, and with NULL (its own) */
    for (size_t s = 0; s < 2 * (sizeof isas / sizeof isas[0]); s++) {
        memcpy(c, c0, sizeof(float) * nc);
        if (fe_sgemm_with(isas[s / 2], ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc,
                          s % 2 ? NULL : pack)) {
            assert_int_not_equal(s / 2, 0);     /* the scalar kernel runs everywhere */
            continue;
        }
        if (s == 0) {
            memcpy(ref, c, sizeof(float) * nc);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double want = acc ? c0[(size_t)i * ldc + j] : 0.0, mag = fabs(want);
                    for (int p = 0; p < k; p++) {
                        const double x = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                        const double y = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                        want += x * y;
                        mag += fabs(x * y);
                    }
                    const double got = c[(size_t)i * ldc + j];
                    if (!(fabs(got - want) <= (k + 1) * 0x1p-23 * mag + 1e-30))
                        fail_msg("%s: C[%d][%d] = %.9g, want %.9g", what, i, j, got, want);
                }
            for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++)
                    if (memcmp(&c[(size_t)i * ldc + j], &c0[(size_t)i * ldc + j], sizeof(float)))
                        fail_msg("%s: C[%d][%d] outside the block was written", what, i, j);
        } else if (memcmp(c, ref, sizeof(float) * nc)) {
            size_t at = 0;
            while (!memcmp(&c[at], &ref[at], sizeof(float)))
                at++;
            fail_msg("%s: the %s kernel's bits (pack %s) differ from the scalar one's at [%zu]: "
                     "%.9g vs %.9g", what, isas[s / 2], s % 2 ? "NULL" : "given", at,
                     (double)c[at], (double)ref[at]);
        }
        ran++;
    }
    assert_true(ran >= 2);
    free(a); free(b); free(c0); free(c); free(ref); free(pack);
}

static void gemm_case(int ta, int tb, int m, int n, int k, int acc)
{
    gemm_case_ldb(ta, tb, m, n, k, acc, 0);
}

static void test_sgemm_sizes(void **state)
{
    (void)state;
    static const int ms[] = {1, 4, 5, 6, 7, 8, 9, 10, 64}, ns[] = {1, 15, 16, 17, 32, 33, 70},
                     ks[] = {0, 1, 5, 256, 300};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
                for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
                    for (size_t l = 0; l < sizeof ks / sizeof ks[0]; l++)
                        gemm_case(ta, tb, ms[i], ns[j], ks[l], (int)((i + j + l) % 2));
}

/* Several KC blocks, hundreds of rows, at the Winograd products' shapes. */
static void test_sgemm_large(void **state)
{
    (void)state;
    gemm_case(0, 0, 520, 100, 600, 0);      /* M = U V (cout x T) */
    gemm_case(0, 0, 130, 50, 300, 1);       /* 128 rows or more, part blocks: B copied (AVX2) */
    gemm_case(1, 0, 64, 196, 128, 0);       /* dV = U^T dM */
    gemm_case(0, 1, 128, 64, 777, 1);       /* dU += dM V^T, over a long k */
}

/* Rows of B 4 KiB apart are copied block by block before use (sgemm.c). */
static void test_sgemm_aliased_b(void **state)
{
    (void)state;
    gemm_case_ldb(0, 0, 70, 1000, 300, 0, 1024);
    gemm_case_ldb(1, 0, 9, 33, 260, 1, 2048);
}

/* fe_sgemm_threads gives fe_sgemm's bits on 1, 2 and 3 threads, sharing C by
 * columns (wide C) and by rows (narrow C), for every transpose. */
static void test_sgemm_threads(void **state)
{
    (void)state;
    static const int shapes[][3] = {{70, 300, 290}, {300, 20, 70}, {9, 129, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                const int lda = ta ? m : k, ldb = tb ? k : n;
                fe_rng r;
                fe_rng_seed(&r, 11, "threads", (uint64_t)(s * 4 + ta * 2 + tb));
                float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
                float *want = malloc(sizeof(float) * m * n), *got = malloc(sizeof(float) * m * n);
                float *pack = aligned_alloc(64, sizeof(float) * FE_SGEMM_PACK_FLOATS);
                assert_true(a && b && want && got && pack);
                for (int i = 0; i < m * k; i++)
                    a[i] = (float)fe_rng_normal(&r);
                for (int i = 0; i < k * n; i++)
                    b[i] = (float)fe_rng_normal(&r);
                fe_sgemm(ta, tb, m, n, k, a, lda, b, ldb, 0, want, n, pack);
                for (int t = 1; t <= 3; t++) {
                    omp_set_num_threads(t);
                    for (int i = 0; i < m * n; i++)
                        got[i] = (float)i;
                    fe_sgemm_threads(ta, tb, m, n, k, a, lda, b, ldb, 0, got, n);
                    if (memcmp(got, want, sizeof(float) * m * n))
                        fail_msg("fe_sgemm_threads m %d n %d k %d ta %d tb %d on %d threads: "
                                 "not fe_sgemm's bits", m, n, k, ta, tb, t);
                }
                free(a); free(b); free(want); free(got); free(pack);
            }
}

static void test_sgemm_isa(void **state)
{
    (void)state;
    const char *isa = fe_sgemm_isa();
    fprintf(stderr, "test_sgemm: this CPU runs the %s kernel\n", isa);
    assert_true(!strcmp(isa, "avx512") || !strcmp(isa, "avx2") || !strcmp(isa, "scalar"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_isa),
        cmocka_unit_test(test_sgemm_sizes),
        cmocka_unit_test(test_sgemm_large),
        cmocka_unit_test(test_sgemm_aliased_b),
        cmocka_unit_test(test_sgemm_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
