/* direct_ab.c - two builds of tools/nn/conv2d_sgemm.c in one process (ab.sh
 * direct compiles them with their conv2d_*_sgemm entry points renamed a_... and
 * b_..., both on the working tree's sgemm.c and conv2d.c), timed by turns on
 * one stride-2 convolution as the model calls it (blocked layout, 32 Mi floats
 * of chunk scratch): the forward, the backward with dW alone and with dX alone,
 * best of RUNS each.  Why by turns in one process: sgemm_ab.c.  Checks that
 * both builds give the same bits.
 *
 * usage: direct_ab CIN COUT K SIZE BATCH [RUNS]  (a K x K stride-2 conv, padding
 * K / 2, on SIZE x SIZE maps) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "layers.h"

#define DECLARE(p)                                                                                \
    void p##conv2d_forward_sgemm(const conv_geom *g, int n, const float *x, const float *w,      \
                                 float *y, float *col, size_t col_cap);                           \
    void p##conv2d_backward_sgemm(const conv_geom *g, int n, const float *x, const float *w,     \
                                  const float *dy, float *dw, float *dx, int accumulate_dx,      \
                                  float *col, size_t col_cap, const float *mask);
DECLARE(a_)
DECLARE(b_)

static float *floats(size_t n)
{
    float *p = aligned_alloc(64, sizeof(float) * (n + 16));
    if (!p) {
        fprintf(stderr, "direct_ab: out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: direct_ab CIN COUT K SIZE BATCH [RUNS]\n");
        return 2;
    }
    const int cin = atoi(argv[1]), cout = atoi(argv[2]), k = atoi(argv[3]), hw = atoi(argv[4]),
              n = atoi(argv[5]), runs = argc > 6 ? atoi(argv[6]) : 5;
    if (cin < 1 || cout < 1 || k < 1 || k > 7 || hw < k || hw > 64 || n < 1 || runs < 1) {
        fprintf(stderr, "direct_ab: CIN, COUT >= 1, K 1..7, SIZE K..64, BATCH and RUNS >= 1\n");
        return 2;
    }
    conv_geom g;
    conv_geom_init(&g, cin, cout, k, 2, k / 2, hw, hw);
    g.bx = g.by = 1;
    const size_t nx = (size_t)cin * n * hw * hw, ny = (size_t)cout * n * g.oh * g.ow,
                 nw = (size_t)cout * cin * k * k, cap = (size_t)32 << 20;
    float *x = floats(nx), *dy = floats(ny), *w = floats(nw), *col = floats(cap), *y[2], *dx[2],
          *dw[2];
    for (int v = 0; v < 2; v++) {
        y[v] = floats(ny);
        dx[v] = floats(nx);
        dw[v] = floats(nw);
    }
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(i % 977) * 1e-3f - 0.4f;
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)(i % 431) * 1e-3f - 0.2f;
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)(i % 37) * 1e-2f - 0.18f;
    double best[2][3] = {{1e30, 1e30, 1e30}, {1e30, 1e30, 1e30}};
    for (int r = 0; r < runs; r++)
        for (int v = 0; v < 2; v++) {
            const double t0 = omp_get_wtime();
            (v ? b_conv2d_forward_sgemm : a_conv2d_forward_sgemm)(&g, n, x, w, y[v], col, cap);
            const double t1 = omp_get_wtime();
            (v ? b_conv2d_backward_sgemm : a_conv2d_backward_sgemm)(&g, n, x, w, dy, dw[v], NULL,
                                                                    0, col, cap, NULL);
            const double t2 = omp_get_wtime();
            (v ? b_conv2d_backward_sgemm : a_conv2d_backward_sgemm)(&g, n, x, w, dy, NULL, dx[v],
                                                                    0, col, cap, NULL);
            const double t3 = omp_get_wtime(), t[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int i = 0; i < 3; i++)
                best[v][i] = t[i] < best[v][i] ? t[i] : best[v][i];
        }
    const int same = !memcmp(y[0], y[1], sizeof(float) * ny) &&
                     !memcmp(dx[0], dx[1], sizeof(float) * nx) &&
                     !memcmp(dw[0], dw[1], sizeof(float) * nw);
    printf("cin=%d cout=%d k=%d size=%d batch=%d threads=%d fwd_ms_a=%.1f fwd_ms_b=%.1f "
           "dw_only_ms_a=%.1f dw_only_ms_b=%.1f dx_only_ms_a=%.1f dx_only_ms_b=%.1f bits=%s\n",
           cin, cout, k, hw, n, omp_get_max_threads(), 1e3 * best[0][0], 1e3 * best[1][0],
           1e3 * best[0][1], 1e3 * best[1][1], 1e3 * best[0][2], 1e3 * best[1][2],
           same ? "same" : "DIFFERENT");
    return 0;
}
