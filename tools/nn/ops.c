/* ops.c - the rows of the convolution table and the BatchNorm wrapper (ops.h). */
#include "ops.h"
#include "gemm_bf16.h"

/* ---- direct convolution (conv2d.c): im2col + GEMM, float32 ---- */

static void direct_forward(const fe_conv_ws *ws, fe_conv *c, int n, const float *x)
{
    conv2d_forward(&c->g, n, x, c->w, c->b, c->y, ws->col, ws->col_cap);
}

static int direct_backward(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                           const float *dy, float *dw, float *dx, int accumulate_dx,
                           const float *mask)
{
    (void)mask;
    conv2d_backward(&c->g, n, x, c->w, dy, dw, dw ? c->db : NULL, dx, accumulate_dx, ws->col,
                    ws->col_cap);
    return 0;
}

static double direct_macs(const conv_geom *g)
{
    return (double)g->cout * g->cin * g->k * g->k * g->oh * g->ow;
}

const fe_conv_algo fe_conv_direct = {
    .name = "direct", .precision = FE_PREC_FP32, .exact = 1,
    .col_floats = conv_col_floats,
    .forward = direct_forward, .backward = direct_backward, .macs = direct_macs,
    .tolerance = 1e-5,
};

/* ---- direct convolution with our own GEMM (conv2d_sgemm.c): no bias, 16+ channels in ---- */

static int own_fits(const conv_geom *g, int bias) { return !bias && g->cin >= 16; }

static void own_forward(const fe_conv_ws *ws, fe_conv *c, int n, const float *x)
{
    conv2d_forward_sgemm(&c->g, n, x, c->w, c->y, ws->col, ws->col_cap);
}

static int own_backward(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                        const float *dy, float *dw, float *dx, int accumulate_dx,
                        const float *mask)
{
    conv2d_backward_sgemm(&c->g, n, x, c->w, dy, dw, dx, accumulate_dx, ws->col, ws->col_cap,
                          dx ? mask : NULL);
    return dx && mask;
}

const fe_conv_algo fe_conv_direct_sgemm = {
    .name = "direct-sgemm", .precision = FE_PREC_FP32, .exact = 1,
    .fits = own_fits, .col_floats = conv_col_floats,
    .forward = own_forward, .backward = own_backward, .macs = direct_macs,
    .tolerance = 1e-5,
};

/* ---- Winograd F(4x4,3x3) (winograd.c): 3x3 stride 1 pad 1, no bias ---- */

static int wino_fits(const conv_geom *g, int bias) { return !bias && wino_applies(g); }

/* The filters are transformed by the forward (once while the weights are fixed)
 * and kept for the backward; the weight gradient's transform needs du.  In
 * training at small batches (wino_streams_applies) they are transformed block
 * by block beside the products instead, in the forward and again in the
 * backward, and state is not used. */
static void wino_fwd(const fe_conv_ws *ws, fe_conv *c, int n, const float *x)
{
    if (!ws->weights_fixed && wino_streams_applies(&c->g, n, ws->col_cap)) {
        wino_forward_streamed(&c->g, n, x, c->w, c->y, ws->col, ws->scratch);
        return;
    }
    if (!c->state_kept) {
        wino_filters(&c->g, c->w, c->state);
        c->state_kept = ws->weights_fixed;
    }
    wino_forward(&c->g, n, x, c->state, c->y, ws->col, ws->col_cap);
}

static int wino_bwd(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                    const float *dy, float *dw, float *dx, int accumulate_dx, const float *mask)
{
    if (wino_streams_applies(&c->g, n, ws->col_cap))
        wino_backward_streamed(&c->g, n, x, c->w, dy, dw, dx, accumulate_dx, mask, ws->scratch,
                               ws->col);
    else
        wino_backward(&c->g, n, x, c->state, dy, dw, dx, accumulate_dx, mask, ws->scratch,
                      ws->col, ws->col_cap);
    return mask != NULL;
}

static double wino_macs(const conv_geom *g)
{
    return 36.0 * ((g->oh + 3) / 4) * ((g->ow + 3) / 4) * (double)g->cin * g->cout;
}

const fe_conv_algo fe_conv_winograd = {
    .name = "winograd", .precision = FE_PREC_FP32, .exact = 0,
    .fits = wino_fits, .col_floats = wino_col_floats, .state_floats = wino_u_floats,
    .scratch_floats = wino_scratch_floats,
    .forward = wino_fwd, .backward = wino_bwd, .macs = wino_macs,
    .tolerance = 1e-5,
};

/* ---- bf16 products, float32 sums (conv2d_bf16.c): no bias ---- */

static int bf16_fits(const conv_geom *g, int bias) { (void)g; return !bias; }

static void bf16_forward(const fe_conv_ws *ws, fe_conv *c, int n, const float *x)
{
    conv2d_forward_bf16(&c->g, n, x, c->w, c->y, ws->col, ws->col_cap, ws->scratch);
}

static int bf16_backward(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                         const float *dy, float *dw, float *dx, int accumulate_dx,
                         const float *mask)
{
    (void)mask;
    conv2d_backward_bf16(&c->g, n, x, c->w, dy, dw, dx, accumulate_dx, ws->col, ws->col_cap,
                         ws->scratch);
    return 0;
}

const fe_conv_algo fe_conv_bf16 = {
    .name = "bf16", .precision = FE_PREC_BF16, .exact = 1,
    .fits = bf16_fits, .available = fe_bf16_supported, .col_floats = conv_col_floats,
    .scratch_floats = conv_bf16_scratch_floats,
    .forward = bf16_forward, .backward = bf16_backward, .macs = direct_macs,
    .tolerance = 1e-2,          /* operands rounded to 8 bits: ~2e-3 each, cin*k*k terms */
};

/* ---- bf16 on the blocked layout: y and dy blocked, no bias ----
 * Direct convolution (conv2d_bf16_blocked.c) and, for 3x3 stride-1 convs,
 * Winograd F(2x2,3x3) (winograd2_bf16.c).  Each row has a twin with the
 * portable kernels (.portable = 1): not in the table (a model never runs it);
 * the tests check the layouts and loops with it on every CPU. */

static int bf16blk_fits(const conv_geom *g, int bias) { return !bias && g->by; }
static size_t bf16blk_col(const conv_geom *g, int chunk) { (void)g; (void)chunk; return 0; }

static void bf16blk_forward(const fe_conv_ws *ws, fe_conv *c, int n, const float *x)
{
    conv2d_forward_bf16_blocked(&c->g, n, x, c->w, c->y, ws->scratch, c->algo->portable);
}

static int bf16blk_backward(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                            const float *dy, float *dw, float *dx, int accumulate_dx,
                            const float *mask)
{
    return conv2d_backward_bf16_blocked(&c->g, n, x, c->w, dy, dw, dx, accumulate_dx, mask,
                                        ws->scratch, c->algo->portable);
}

static int wino2_fits(const conv_geom *g, int bias) { return !bias && wino2_bf16_applies(g); }

static void wino2_fwd(const fe_conv_ws *ws, fe_conv *c, int n, const float *x)
{
    wino2_bf16_forward(&c->g, n, x, c->w, c->y, ws->scratch, c->algo->portable);
}

static int wino2_bwd(const fe_conv_ws *ws, const fe_conv *c, int n, const float *x,
                     const float *dy, float *dw, float *dx, int accumulate_dx, const float *mask)
{
    return wino2_bf16_backward(&c->g, n, x, c->w, dy, dw, dx, accumulate_dx, mask, ws->scratch,
                               c->algo->portable);
}

static double wino2_macs(const conv_geom *g)
{
    return 16.0 * ((g->oh + 1) / 2) * ((g->ow + 1) / 2) * (double)g->cin * g->cout;
}

#define BF16_BLOCKED_ROW(NAME, PORTABLE)                                                        \
    {.name = NAME, .precision = FE_PREC_BF16, .exact = 1, .fits = bf16blk_fits,                 \
     .available = PORTABLE ? NULL : fe_bf16_supported, .col_floats = bf16blk_col,               \
     .scratch_floats = conv_bf16_blocked_scratch_floats, .forward = bf16blk_forward,            \
     .backward = bf16blk_backward, .macs = direct_macs, .tolerance = 1e-2, .portable = PORTABLE}
#define BF16_WINO2_ROW(NAME, PORTABLE)                                                          \
    {.name = NAME, .precision = FE_PREC_BF16, .exact = 0, .fits = wino2_fits,                   \
     .available = PORTABLE ? NULL : fe_bf16_supported, .col_floats = bf16blk_col,               \
     .scratch_floats = wino2_bf16_scratch_floats, .forward = wino2_fwd, .backward = wino2_bwd,  \
     .macs = wino2_macs, .tolerance = 1e-2, .portable = PORTABLE}

const fe_conv_algo fe_conv_bf16_blocked = BF16_BLOCKED_ROW("bf16-blocked", 0),
                   fe_conv_bf16_blocked_portable = BF16_BLOCKED_ROW("bf16-blocked-portable", 1),
                   fe_conv_bf16_wino2 = BF16_WINO2_ROW("bf16-winograd2", 0),
                   fe_conv_bf16_wino2_portable = BF16_WINO2_ROW("bf16-winograd2-portable", 1);

const fe_conv_algo *const fe_conv_algos[] = {&fe_conv_bf16_wino2, &fe_conv_bf16_blocked,
                                             &fe_conv_bf16, &fe_conv_winograd,
                                             &fe_conv_direct_sgemm, &fe_conv_direct, NULL};

static int fits(const fe_conv_algo *a, const conv_geom *g, int bias)
{
    return !a->fits || a->fits(g, bias);
}

const fe_conv_algo *fe_conv_algo_select(const conv_geom *g, int bias, const fe_model_opts *o)
{
    for (int i = 0; fe_conv_algos[i]; i++) {
        const fe_conv_algo *a = fe_conv_algos[i];
        if (a->precision == o->precision && (a->exact || !o->exact_conv) && fits(a, g, bias) &&
            (!a->available || a->available()))
            return a;
    }
    return &fe_conv_direct;     /* fits every conv; e.g. one with a bias in bf16 */
}

size_t fe_conv_col_floats(const conv_geom *g, int bias)
{
    size_t need = 0;
    for (int i = 0; fe_conv_algos[i]; i++)
        if (fits(fe_conv_algos[i], g, bias) && fe_conv_algos[i]->col_floats(g, 1) > need)
            need = fe_conv_algos[i]->col_floats(g, 1);
    return need;
}

static fe_conv_ws workspace(const fe_model *m)
{
    return (fe_conv_ws){.col = m->col, .col_cap = m->col_cap, .scratch = m->conv_scratch,
                        .weights_fixed = m->weights_fixed};
}

void fe_conv_forward(const fe_model *m, fe_conv *c, int n, const float *x)
{
    const fe_conv_ws ws = workspace(m);
    c->algo->forward(&ws, c, n, x);
}

int fe_conv_backward(const fe_model *m, const fe_conv *c, int n, const float *x, const float *dy,
                     int param_grads, float *dx, int accumulate_dx, const float *mask)
{
    const fe_conv_ws ws = workspace(m);
    return c->algo->backward(&ws, c, n, x, dy, param_grads ? c->dw : NULL, dx, accumulate_dx,
                             mask);
}

/* ---- BatchNorm ---- */

void fe_bn_forward(const fe_model *m, fe_bn *bn, int64_t M, const float *x, float *y, int training,
                   const bn_post *post)
{
    if (training && m->opts.comm)
        bn_forward_train_dist(&bn->g, M, x, bn->gamma, bn->beta, y, bn->smean, bn->sinv,
                              bn->rmean, bn->rvar, &bn->nbt, post, m->opts.comm, m->comm_buf);
    else if (training)
        bn_forward_train(&bn->g, M, x, bn->gamma, bn->beta, y, bn->smean, bn->sinv, bn->rmean,
                         bn->rvar, &bn->nbt, post);
    else
        bn_forward_eval(&bn->g, M, x, bn->gamma, bn->beta, bn->rmean, bn->rvar, y, post);
}

void fe_bn_backward(const fe_model *m, const fe_bn *bn, int64_t M, const float *x, const float *dy,
                    float *dx, int training, int param_grads)
{
    float *dgamma = param_grads ? bn->dgamma : NULL, *dbeta = param_grads ? bn->dbeta : NULL;
    if (training && m->opts.comm)
        bn_backward_train_dist(&bn->g, M, x, dy, bn->gamma, bn->smean, bn->sinv, dx, dgamma,
                               dbeta, m->opts.comm, m->comm_buf);
    else if (training)
        bn_backward_train(&bn->g, M, x, dy, bn->gamma, bn->smean, bn->sinv, dx, dgamma, dbeta);
    else
        bn_backward_eval(&bn->g, M, x, dy, bn->gamma, bn->rmean, bn->rvar, dx, dgamma, dbeta);
}
