/* sgemm_ab.c - two builds of tools/nn/sgemm.c in one process (ab.sh sgemm
 * compiles them with their entry points renamed a_fe_sgemm and b_fe_sgemm),
 * timed on the same product shapes by turns: on a shared machine whose speed
 * drifts by 10-30% from minute to minute, runs of two binaries one after the
 * other cannot show a 5% difference; interleaved runs in one process, best of
 * many, can.  Each run is 36 products at once on the OpenMP threads, as the
 * Winograd convolutions run them, or PRODUCTS of them (1 on one thread: a
 * product that fits in cache, the kernel's own speed).  Checks that both
 * builds give the same bits.
 *
 * usage: sgemm_ab M N K TRANS_A TRANS_B [RUNS [PRODUCTS]]  (GFLOP/s of A and B) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "sgemm.h"

void a_fe_sgemm(int, int, int, int, int, const float *, int, const float *, int, int, float *,
                int, float *);
void b_fe_sgemm(int, int, int, int, int, const float *, int, const float *, int, int, float *,
                int, float *);

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: sgemm_ab M N K TRANS_A TRANS_B [RUNS [PRODUCTS]]\n");
        return 2;
    }
    const int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]), ta = atoi(argv[4]),
              tb = atoi(argv[5]), runs = argc > 6 ? atoi(argv[6]) : 40,
              X = argc > 7 ? atoi(argv[7]) : 36;
    if (m < 1 || n < 1 || k < 1 || runs < 1 || X < 1) {
        fprintf(stderr, "sgemm_ab: M, N, K, RUNS and PRODUCTS must be positive\n");
        return 2;
    }
    const size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    float *a = aligned_alloc(64, sizeof(float) * X * na), *b = aligned_alloc(64, sizeof(float) * X * nb);
    float *c[2] = {aligned_alloc(64, sizeof(float) * X * nc), aligned_alloc(64, sizeof(float) * X * nc)};
    float *pack = aligned_alloc(64, sizeof(float) * X * FE_SGEMM_PACK_FLOATS);
    if (!a || !b || !c[0] || !c[1] || !pack) {
        fprintf(stderr, "sgemm_ab: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < X * na; i++)
        a[i] = (float)(i % 7) * 0.1f - 0.3f;
    for (size_t i = 0; i < X * nb; i++)
        b[i] = (float)(i % 5) * 0.1f - 0.2f;
    const int lda = ta ? m : k, ldb = tb ? k : n;
    double best[2] = {1e30, 1e30};
    for (int r = 0; r < runs; r++)
        for (int v = 0; v < 2; v++) {
            const double t = omp_get_wtime();
            #pragma omp parallel for schedule(dynamic)
            for (int x = 0; x < X; x++)
                (v ? b_fe_sgemm : a_fe_sgemm)(ta, tb, m, n, k, a + (size_t)x * na, lda, b + (size_t)x * nb, ldb, 0,
                                              c[v] + (size_t)x * nc, n,
                                              pack + (size_t)x * FE_SGEMM_PACK_FLOATS);
            const double dt = omp_get_wtime() - t;
            best[v] = dt < best[v] ? dt : best[v];
        }
    const double f = 2.0 * m * n * k * X / 1e9;
    printf("m=%d n=%d k=%d trans_a=%d trans_b=%d products=%d threads=%d a_gflops=%.1f "
           "b_gflops=%.1f b_over_a=%.3f bits=%s\n", m, n, k, ta, tb, X, omp_get_max_threads(),
           f / best[0], f / best[1], best[0] / best[1],
           memcmp(c[0], c[1], sizeof(float) * X * nc) ? "DIFFERENT" : "same");
    return 0;
}
