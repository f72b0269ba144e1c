/* conv_ab.h - what wino_ab.c and direct_ab.c share: two builds of one
 * convolution engine (A: a git revision's, B: the working tree's; ab.sh
 * compiles them with their entry points renamed), timed by turns in one
 * process on one geometry, best of RUNS each: the forward, the backward with
 * dW alone and with dX alone.  Why by turns: sgemm_ab.c.  Prints one line,
 * the caller's label first, and whether both builds gave the same bits. */
#ifndef FE_CONV_AB_H
#define FE_CONV_AB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "layers.h"

static float *ab_floats(size_t n)
{
    float *p = aligned_alloc(64, sizeof(float) * (n + 16));
    if (!p) {
        fprintf(stderr, "conv_ab: out of memory\n");
        exit(1);
    }
    return p;
}

/* One geometry's operands, as the model holds them: w for a direct engine, u
 * (transformed filters) and du (scratch) for Winograd's. */
typedef struct {
    conv_geom g;
    int n;
    size_t cap;                          /* floats of col */
    float *x, *dy, *w, *u, *du, *col;
} ab_case;

/* One engine's passes, build v (0: A, 1: B); dw or dx NULL: not wanted. */
typedef struct {
    void (*forward)(const void *ctx, int v, float *y);
    void (*backward)(const void *ctx, int v, float *dw, float *dx);
    const void *ctx;
    size_t nx, ny, nw;                  /* floats of x (and dx), y, w (and dw) */
} ab_conv;

/* Deterministic inputs of the harness's geometry. */
static void ab_fill(float *x, size_t nx, float *dy, size_t ny, float *w, size_t nw)
{
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(i % 977) * 1e-3f - 0.4f;
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)(i % 431) * 1e-3f - 0.2f;
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)(i % 37) * 1e-2f - 0.18f;
}

static void ab_run(const ab_conv *c, int runs, const char *label)
{
    float *y[2], *dx[2], *dw[2];
    for (int v = 0; v < 2; v++) {
        y[v] = ab_floats(c->ny);
        dx[v] = ab_floats(c->nx);
        dw[v] = ab_floats(c->nw);
    }
    double best[2][3] = {{1e30, 1e30, 1e30}, {1e30, 1e30, 1e30}};
    for (int r = 0; r < runs; r++)
        for (int v = 0; v < 2; v++) {
            const double t0 = omp_get_wtime();
            c->forward(c->ctx, v, y[v]);
            const double t1 = omp_get_wtime();
            c->backward(c->ctx, v, dw[v], NULL);
            const double t2 = omp_get_wtime();
            c->backward(c->ctx, v, NULL, dx[v]);
            const double t3 = omp_get_wtime(), t[3] = {t1 - t0, t2 - t1, t3 - t2};
            for (int i = 0; i < 3; i++)
                best[v][i] = t[i] < best[v][i] ? t[i] : best[v][i];
        }
    const int same = !memcmp(y[0], y[1], sizeof(float) * c->ny) &&
                     !memcmp(dx[0], dx[1], sizeof(float) * c->nx) &&
                     !memcmp(dw[0], dw[1], sizeof(float) * c->nw);
    printf("%s threads=%d fwd_ms_a=%.1f fwd_ms_b=%.1f dw_only_ms_a=%.1f dw_only_ms_b=%.1f "
           "dx_only_ms_a=%.1f dx_only_ms_b=%.1f bits=%s\n",
           label, omp_get_max_threads(), 1e3 * best[0][0], 1e3 * best[1][0], 1e3 * best[0][1],
           1e3 * best[1][1], 1e3 * best[0][2], 1e3 * best[1][2], same ? "same" : "DIFFERENT");
    for (int v = 0; v < 2; v++) {
        free(y[v]);
        free(dx[v]);
        free(dw[v]);
    }
}

#endif
