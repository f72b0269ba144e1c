/* wino_ab.c - two builds of tools/nn/winograd.c in one process (ab.sh wino
 * compiles them with their wino_* entry points renamed a_wino_* and b_wino_*),
 * timed by turns on one convolution geometry: the forward, the backward with
 * dW alone and with dX alone, as the model calls them (blocked layout, 32 Mi
 * floats of chunk scratch), best of RUNS each.  Why by turns in one process:
 * sgemm_ab.c.  Checks that both builds give the same bits.
 *
 * usage: wino_ab CHANNELS SIZE BATCH [RUNS]  (a CHANNELS -> CHANNELS 3x3 conv
 * on SIZE x SIZE maps) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "layers.h"

#define DECLARE(p)                                                                                \
    size_t p##wino_u_floats(const conv_geom *g);                                                 \
    size_t p##wino_scratch_floats(const conv_geom *g);                                           \
    void p##wino_filters(const conv_geom *g, const float *w, float *u);                          \
    void p##wino_forward(const conv_geom *g, int n, const float *x, const float *u, float *y,    \
                         float *col, size_t col_cap);                                             \
    void p##wino_backward(const conv_geom *g, int n, const float *x, const float *u,             \
                          const float *dy, float *dw, float *dx, int accumulate_dx,              \
                          const float *mask, float *du, float *col, size_t col_cap);
DECLARE(a_)
DECLARE(b_)

static float *floats(size_t n)
{
    float *p = aligned_alloc(64, sizeof(float) * (n + 16));
    if (!p) {
        fprintf(stderr, "wino_ab: out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: wino_ab CHANNELS SIZE BATCH [RUNS]\n");
        return 2;
    }
    const int c = atoi(argv[1]), hw = atoi(argv[2]), n = atoi(argv[3]),
              runs = argc > 4 ? atoi(argv[4]) : 5;
    if (c < 16 || hw < 1 || hw > 32 || n < 1 || runs < 1) {
        fprintf(stderr, "wino_ab: CHANNELS >= 16, SIZE 1..32, BATCH and RUNS >= 1\n");
        return 2;
    }
    const conv_geom g = {c, c, 3, 1, 1, hw, hw, hw, hw, 1, 1};
    const size_t nx = (size_t)c * n * hw * hw, nw = (size_t)c * c * 9, cap = (size_t)32 << 20;
    float *x = floats(nx), *dy = floats(nx), *w = floats(nw), *col = floats(cap), *y[2], *dx[2],
          *dw[2];
    float *u = floats(a_wino_u_floats(&g)), *du = floats(a_wino_scratch_floats(&g));
    for (int v = 0; v < 2; v++) {
        y[v] = floats(nx);
        dx[v] = floats(nx);
        dw[v] = floats(nw);
    }
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)(i % 977) * 1e-3f - 0.4f;
        dy[i] = (float)(i % 431) * 1e-3f - 0.2f;
    }
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)(i % 37) * 1e-2f - 0.18f;
    a_wino_filters(&g, w, u);
    double best[2][3] = {{1e30, 1e30, 1e30}, {1e30, 1e30, 1e30}};
    for (int r = 0; r < runs; r++)
        for (int v = 0; v < 2; v++) {
            const double t0 = omp_get_wtime();
            (v ? b_wino_forward : a_wino_forward)(&g, n, x, u, y[v], col, cap);
            const double t1 = omp_get_wtime();
            (v ? b_wino_backward : a_wino_backward)(&g, n, x, u, dy, dw[v], NULL, 0, NULL, du,
                                                    col, cap);
            const double t2 = omp_get_wtime();
            (v ? b_wino_backward : a_wino_backward)(&g, n, x, u, dy, NULL, dx[v], 0, NULL, du,
                                                    col, cap);
            const double t3 = omp_get_wtime(), t[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int k = 0; k < 3; k++)
                best[v][k] = t[k] < best[v][k] ? t[k] : best[v][k];
        }
    const int same = !memcmp(y[0], y[1], sizeof(float) * nx) &&
                     !memcmp(dx[0], dx[1], sizeof(float) * nx) &&
                     !memcmp(dw[0], dw[1], sizeof(float) * nw);
    printf("channels=%d size=%d batch=%d threads=%d fwd_ms_a=%.1f fwd_ms_b=%.1f "
           "dw_only_ms_a=%.1f dw_only_ms_b=%.1f dx_only_ms_a=%.1f dx_only_ms_b=%.1f bits=%s\n",
           c, hw, n, omp_get_max_threads(), 1e3 * best[0][0], 1e3 * best[1][0],
           1e3 * best[0][1], 1e3 * best[1][1], 1e3 * best[0][2], 1e3 * best[1][2],
           same ? "same" : "DIFFERENT");
    return 0;
}
