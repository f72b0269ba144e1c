/* wino_ab.c - two builds of tools/nn/winograd.c in one process (ab.sh wino
 * compiles them with their wino_* entry points renamed a_wino_* and b_wino_*),
 * timed by turns on one convolution geometry as the model calls it (blocked
 * layout, 32 Mi floats of chunk scratch): conv_ab.h.
 *
 * usage: wino_ab CHANNELS SIZE BATCH [RUNS]  (a CHANNELS -> CHANNELS 3x3 conv
 * on SIZE x SIZE maps) */
#include "conv_ab.h"

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

static void forward(const void *ctx, int v, float *y)
{
    const ab_case *c = ctx;
    (v ? b_wino_forward : a_wino_forward)(&c->g, c->n, c->x, c->u, y, c->col, c->cap);
}

static void backward(const void *ctx, int v, float *dw, float *dx)
{
    const ab_case *c = ctx;
    (v ? b_wino_backward : a_wino_backward)(&c->g, c->n, c->x, c->u, c->dy, dw, dx, 0, NULL,
                                            c->du, c->col, c->cap);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: wino_ab CHANNELS SIZE BATCH [RUNS]\n");
        return 2;
    }
    const int ch = atoi(argv[1]), hw = atoi(argv[2]), n = atoi(argv[3]),
              runs = argc > 4 ? atoi(argv[4]) : 5;
    if (ch < 16 || hw < 1 || hw > 32 || n < 1 || runs < 1) {
        fprintf(stderr, "wino_ab: CHANNELS >= 16, SIZE 1..32, BATCH and RUNS >= 1\n");
        return 2;
    }
    ab_case c = {.g = {ch, ch, 3, 1, 1, hw, hw, hw, hw, 1, 1}, .n = n, .cap = (size_t)32 << 20};
    const size_t nx = (size_t)ch * n * hw * hw, nw = (size_t)ch * ch * 9;
    float *w = ab_floats(nw);
    c.x = ab_floats(nx);
    c.dy = ab_floats(nx);
    c.col = ab_floats(c.cap);
    c.u = ab_floats(a_wino_u_floats(&c.g));
    c.du = ab_floats(a_wino_scratch_floats(&c.g));
    ab_fill(c.x, nx, c.dy, nx, w, nw);
    a_wino_filters(&c.g, w, c.u);
    char label[96];
    snprintf(label, sizeof label, "channels=%d size=%d batch=%d", ch, hw, n);
    ab_run(&(ab_conv){forward, backward, &c, nx, nx, nw}, runs, label);
    free(w); free(c.x); free(c.dy); free(c.col); free(c.u); free(c.du);
    return 0;
}
