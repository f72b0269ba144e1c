/* ops.h - a layer in the model's mode: the table of convolution algorithms, and
 * BatchNorm in one process or over the ranks of a data-parallel run.
 *
 * A convolution algorithm is a row of fe_conv_algos[]: direct (conv2d.c, with
 * OpenBLAS), direct with our own GEMM (conv2d_sgemm.c), Winograd F(4x4,3x3)
 * (winograd.c), and in bf16 Winograd F(2x2,3x3) (winograd2_bf16.c) and direct
 * convolution (conv2d_bf16_blocked.c) on the blocked layout, direct on the
 * plain one (conv2d_bf16.c).  The
 * builder picks each conv's row once, for its geometry and the model's mode
 * (fe_conv_algo_select), reserves the row's state and scratch, and a model's
 * forward and backward call fe_conv_forward / fe_conv_backward.  A new
 * algorithm is one file and one row; tests/unit/test_layers.c checks every row
 * against direct convolution and finite differences. */
#ifndef FE_OPS_H
#define FE_OPS_H

#include <stddef.h>
#include "layers.h"
#include "model.h"

/* What a row's forward and backward may use besides the conv itself. */
typedef struct {
    float *col;             /* chunk scratch, col_cap floats (>= col_floats(g, 1)) */
    size_t col_cap;
    float *scratch;         /* scratch_floats(g) floats (NULL when it needs none) */
    int weights_fixed;      /* the weights stay until further notice (keep state) */
} fe_conv_ws;

typedef struct fe_conv_algo {
    const char *name;
    fe_precision precision;             /* the mode it serves */
    int exact;                          /* 1: sums the convolution's own products
                                           (allowed under opts.exact_conv) */
    /* 1 when it runs geometry g (bias: the conv has one); NULL: every geometry */
    int (*fits)(const conv_geom *g, int bias);
    /* 1 when this CPU runs it; NULL: always */
    int (*available)(void);
    /* floats of chunk scratch for `chunk` images at once */
    size_t (*col_floats)(const conv_geom *g, int chunk);
    /* floats of state per conv, kept across calls (c->state); NULL: none */
    size_t (*state_floats)(const conv_geom *g);
    /* floats of scratch shared by every conv, not kept (ws->scratch); NULL: none */
    size_t (*scratch_floats)(const conv_geom *g);
    /* c->y [cout][n][oh][ow] = c->w (*) x (+ c->b) */
    void (*forward)(const fe_conv_ws *ws, fe_conv *c, int n, const float *x);
    /* From dy: dw (and c->db when c has a bias) overwritten when dw != NULL; dx
     * overwritten, accumulated into (accumulate_dx) or skipped (NULL).  Returns 1
     * when it also applied relu_backward(mask, dx) (mask non-NULL; dx = 0 where
     * mask <= 0), 0 when the caller must. */
    int (*backward)(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                    const float *dy, float *dw, float *dx, int accumulate_dx, const float *mask);
    /* multiply-adds its forward executes per image (make bench's count) */
    double (*macs)(const conv_geom *g);
    /* the largest error against the float64 definition, relative to the output's
     * scale, the tests allow it (the rounding of its arithmetic) */
    double tolerance;
    /* 1: the row's twin with portable kernels, for the tests (the bf16 rows) */
    int portable;
} fe_conv_algo;

extern const fe_conv_algo fe_conv_direct, fe_conv_direct_sgemm, fe_conv_winograd, fe_conv_bf16,
    fe_conv_bf16_blocked, fe_conv_bf16_blocked_portable, fe_conv_bf16_wino2,
    fe_conv_bf16_wino2_portable;
extern const fe_conv_algo *const fe_conv_algos[];     /* in order of preference, NULL-ended */

/* The first row of fe_conv_algos that serves the mode of opts and fits g. */
const fe_conv_algo *fe_conv_algo_select(const conv_geom *g, int bias, const fe_model_opts *opts);
/* Chunk scratch of one image for every row that fits g, whatever the mode: so
 * a conv's chunking, and with it the order of its sums, is the same in every mode. */
size_t fe_conv_col_floats(const conv_geom *g, int bias);

/* The conv's row, with the model's scratch.  fe_conv_backward: param_grads 0
 * skips dw; the return value as the row's backward. */
void fe_conv_forward(const fe_model *m, fe_conv *c, int n, const float *x);
int fe_conv_backward(const fe_model *m, const fe_conv *c, int n, const float *x, const float *dy,
                     int param_grads, float *dx, int accumulate_dx, const float *mask);

/* BatchNorm over [C][M] in the model's mode: training or evaluation, and in
 * training the statistics over opts.comm's ranks when it is set.  post (may
 * be NULL): the residual addition and ReLU applied as y is written (layers.h). */
void fe_bn_forward(const fe_model *m, fe_bn *bn, int64_t M, const float *x, float *y, int training,
                   const bn_post *post);
void fe_bn_backward(const fe_model *m, const fe_bn *bn, int64_t M, const float *x, const float *dy,
                    float *dx, int training, int param_grads);

#endif
