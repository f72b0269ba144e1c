/* direct_ab.c - two builds of tools/nn/conv2d_sgemm.c in one process (ab.sh
 * direct compiles them with their conv2d_*_sgemm entry points renamed a_... and
 * b_..., both on the working tree's sgemm.c and conv2d.c), timed by turns on
 * one stride-2 convolution as the model calls it (blocked layout, 32 Mi
 * floats of chunk scratch): conv_ab.h.
 *
 * usage: direct_ab CIN COUT K SIZE BATCH [RUNS]  (a K x K stride-2 conv, padding
 * K / 2, on SIZE x SIZE maps) */
#include "conv_ab.h"

#define DECLARE(p)                                                                                \
    void p##conv2d_forward_sgemm(const conv_geom *g, int n, const float *x, const float *w,      \
                                 float *y, float *col, size_t col_cap);                           \
    void p##conv2d_backward_sgemm(const conv_geom *g, int n, const float *x, const float *w,     \
                                  const float *dy, float *dw, float *dx, int accumulate_dx,      \
                                  float *col, size_t col_cap, const float *mask);
DECLARE(a_)
DECLARE(b_)

static void forward(const void *ctx, int v, float *y)
{
    const ab_case *c = ctx;
    (v ? b_conv2d_forward_sgemm : a_conv2d_forward_sgemm)(&c->g, c->n, c->x, c->w, y, c->col,
                                                          c->cap);
}

static void backward(const void *ctx, int v, float *dw, float *dx)
{
    const ab_case *c = ctx;
    (v ? b_conv2d_backward_sgemm : a_conv2d_backward_sgemm)(&c->g, c->n, c->x, c->w, c->dy, dw,
                                                            dx, 0, c->col, c->cap, NULL);
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
    ab_case c = {.n = n, .cap = (size_t)32 << 20};
    conv_geom_init(&c.g, cin, cout, k, 2, k / 2, hw, hw);
    c.g.bx = c.g.by = 1;
    const size_t nx = (size_t)cin * n * hw * hw, ny = (size_t)cout * n * c.g.oh * c.g.ow,
                 nw = (size_t)cout * cin * k * k;
    c.x = ab_floats(nx);
    c.dy = ab_floats(ny);
    c.w = ab_floats(nw);
    c.col = ab_floats(c.cap);
    ab_fill(c.x, nx, c.dy, ny, c.w, nw);
    char label[96];
    snprintf(label, sizeof label, "cin=%d cout=%d k=%d size=%d batch=%d", cin, cout, k, hw, n);
    ab_run(&(ab_conv){forward, backward, &c, nx, ny, nw}, runs, label);
    free(c.x); free(c.dy); free(c.w); free(c.col);
    return 0;
}
