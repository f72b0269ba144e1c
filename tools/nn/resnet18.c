/* resnet18.c - the CIFAR-style ResNet-18 of the paper on 1x28x28 inputs:
 *   conv1 3x3 1->64 (no bias), bn1, ReLU                      28x28
 *   layer1..layer4: two BasicBlocks each, widths 64 128 256 512,
 *   the first block of layers 2-4 with stride 2               28 14 7 4
 *   global average pool -> linear 512->10
 * BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the
 * shortcut a 1x1 conv + BN when the stride or width changes. */
#include <stdio.h>
#include <string.h>
#include "nn_internal.h"

void resnet18_build(fe_builder *b)
{
    fe_model *m = b->m;
    const int N = m->maxn;
    fe_b_conv(b, &m->conv1, "conv1", 1, 64, 3, 1, 1, 28, 28, 0);
    fe_b_bn(b, &m->bn1, "bn1", 64);
    m->a0 = fe_b_act(b, (size_t)64 * N * 28 * 28);
    fe_b_layer(b, "conv1", &m->conv1, NULL, m->a0, 64, 28, 28);
    int cin = 64, hw = 28;
    static const int widths[4] = {64, 128, 256, 512};
    for (int L = 0; L < 4; L++)
        for (int J = 0; J < 2; J++) {
            fe_block *k = &m->blk[L * 2 + J];
            int cout = widths[L], stride = (L > 0 && J == 0) ? 2 : 1;
            int ohw = (hw - 1) / stride + 1;
            char name[48];
            snprintf(name, sizeof name, "layer%d.%d.conv1", L + 1, J);
            fe_b_conv(b, &k->c1, name, cin, cout, 3, stride, 1, hw, hw, 0);
            snprintf(name, sizeof name, "layer%d.%d.bn1", L + 1, J);
            fe_b_bn(b, &k->b1, name, cout);
            k->a1 = fe_b_act(b, (size_t)cout * N * ohw * ohw);
            snprintf(name, sizeof name, "layer%d.%d.conv2", L + 1, J);
            fe_b_conv(b, &k->c2, name, cout, cout, 3, 1, 1, ohw, ohw, 0);
            snprintf(name, sizeof name, "layer%d.%d.bn2", L + 1, J);
            fe_b_bn(b, &k->b2, name, cout);
            k->has_sc = stride != 1 || cin != cout;
            if (k->has_sc) {
                snprintf(name, sizeof name, "layer%d.%d.shortcut.0", L + 1, J);
                fe_b_conv(b, &k->sc, name, cin, cout, 1, stride, 0, hw, hw, 0);
                snprintf(name, sizeof name, "layer%d.%d.shortcut.1", L + 1, J);
                fe_b_bn(b, &k->sbn, name, cout);
            }
            k->out = fe_b_act(b, (size_t)cout * N * ohw * ohw);
            fe_b_layer(b, NULL, &k->c1, NULL, k->a1, cout, ohw, ohw);
            fe_b_layer(b, NULL, &k->c2, NULL, k->out, cout, ohw, ohw);
            if (k->has_sc)   /* no nonlinearity of its own: its output is kept pre-BN */
                fe_b_layer(b, NULL, &k->sc, NULL, k->sc.y, cout, ohw, ohw);
            cin = cout;
            hw = ohw;
        }
    m->pooled = fe_b_act(b, (size_t)512 * N);
    fe_b_fc(b, &m->linear, "linear", 512, 10);
    fe_b_layer(b, NULL, NULL, &m->linear, m->linear.y, 10, 1, 1);
}

static void bn_fwd(fe_model *mo, fe_bn *bn, int64_t m, const float *x, float *y, int training)
{
    if (training && mo->comm)
        bn_forward_train_dist(&bn->g, m, x, bn->gamma, bn->beta, y, bn->smean, bn->sinv,
                              bn->rmean, bn->rvar, &bn->nbt, mo->comm, mo->comm_buf);
    else if (training)
        bn_forward_train(&bn->g, m, x, bn->gamma, bn->beta, y, bn->smean, bn->sinv, bn->rmean,
                         bn->rvar, &bn->nbt);
    else
        bn_forward_eval(&bn->g, m, x, bn->gamma, bn->beta, bn->rmean, bn->rvar, y);
}

static void bn_bwd(fe_model *mo, const fe_bn *bn, int64_t m, const float *x, const float *dy,
                   float *dx, int training, int pg)
{
    if (training && mo->comm)
        bn_backward_train_dist(&bn->g, m, x, dy, bn->gamma, bn->smean, bn->sinv, dx,
                               pg ? bn->dgamma : NULL, pg ? bn->dbeta : NULL, mo->comm,
                               mo->comm_buf);
    else if (training)
        bn_backward_train(&bn->g, m, x, dy, bn->gamma, bn->smean, bn->sinv, dx,
                          pg ? bn->dgamma : NULL, pg ? bn->dbeta : NULL);
    else
        bn_backward_eval(&bn->g, m, x, dy, bn->gamma, bn->rmean, bn->rvar, dx,
                         pg ? bn->dgamma : NULL, pg ? bn->dbeta : NULL);
}

/* The 3x3 stride-1 convolutions (all but conv1, the stride-2 ones and the 1x1
 * shortcuts) go through Winograd F(4x4,3x3): 4x fewer multiplies.  In bf16
 * every convolution is direct with bf16 products (conv2d_bf16.c says why). */
int fe_conv_winograd(const fe_model *m, const fe_conv *c)
{
    return m->arch == FE_RESNET18 && !m->bf16 && !m->exact_conv && wino_applies(&c->g);
}

static void conv_fwd(fe_model *m, fe_conv *c, int n, const float *x)
{
    if (m->bf16)
        conv2d_forward_bf16(&c->g, n, x, c->w, c->y, m->col, m->col_cap, m->bf16_scratch);
    else if (fe_conv_winograd(m, c)) {
        if (!c->u_kept) {
            wino_filters(&c->g, c->w, c->u);
            c->u_kept = m->weights_fixed;
        }
        wino_forward(&c->g, n, x, c->u, c->y, m->col, m->col_cap);
    }
    else
        conv2d_forward(&c->g, n, x, c->w, NULL, c->y, m->col, m->col_cap);
}

/* Returns 1 when it also applied the backward of the ReLU whose output is
 * relu_out to dx (the Winograd path fuses it into its last pass over dx). */
static int conv_bwd(fe_model *m, const fe_conv *c, int n, const float *x, const float *dy,
                    int pg, float *dx, int accumulate_dx, const float *relu_out)
{
    if (m->bf16) {
        conv2d_backward_bf16(&c->g, n, x, c->w, dy, pg ? c->dw : NULL, dx, accumulate_dx, m->col,
                             m->col_cap, m->bf16_scratch);
        return 0;
    }
    if (fe_conv_winograd(m, c)) {
        wino_backward(&c->g, n, x, c->u, dy, pg ? c->dw : NULL, dx, accumulate_dx, relu_out,
                      m->wdu, m->col, m->col_cap);
        return 1;
    }
    conv2d_backward(&c->g, n, x, c->w, dy, pg ? c->dw : NULL, NULL, dx, accumulate_dx, m->col,
                    m->col_cap);
    return 0;
}

static int64_t plane(const fe_conv *c, int n) { return (int64_t)n * c->g.oh * c->g.ow; }

void resnet18_forward(fe_model *m, int n, int tr)
{
    conv_fwd(m, &m->conv1, n, m->input);
    bn_fwd(m, &m->bn1, plane(&m->conv1, n), m->conv1.y, m->a0, tr);
    relu_forward((size_t)64 * plane(&m->conv1, n), m->a0);
    const float *x = m->a0;
    for (int i = 0; i < 8; i++) {
        fe_block *k = &m->blk[i];
        const int64_t p = plane(&k->c1, n);
        const size_t sz = (size_t)k->c1.g.cout * p;
        conv_fwd(m, &k->c1, n, x);
        bn_fwd(m, &k->b1, p, k->c1.y, k->a1, tr);
        relu_forward(sz, k->a1);
        conv_fwd(m, &k->c2, n, k->a1);
        bn_fwd(m, &k->b2, p, k->c2.y, k->out, tr);
        if (k->has_sc) {
            conv_fwd(m, &k->sc, n, x);
            bn_fwd(m, &k->sbn, p, k->sc.y, m->g[0], tr);
            add_inplace(sz, k->out, m->g[0]);
        } else {
            add_inplace(sz, k->out, x);
        }
        relu_forward(sz, k->out);
        x = k->out;
    }
    avgpool_forward(512, n, 16, x, m->pooled);
    linear_forward(512, 10, n, m->pooled, m->linear.w, m->linear.b, m->linear.y);
    memcpy(m->logits, m->linear.y, sizeof(float) * 10 * n);
}

void resnet18_backward(fe_model *m, int pg, fe_hook *hook)
{
    const int n = m->n, tr = m->training;
    float *gA = m->g[0], *gB = m->g[1], *gC = m->g[2], *gD = m->g[3];
    if (fe_hook_at(m, hook, "linear", m->dlogits, 10, n))
        return;
    linear_backward(512, 10, n, m->pooled, m->linear.w, m->dlogits, pg ? m->linear.dw : NULL,
                    pg ? m->linear.db : NULL, gB);
    avgpool_backward(512, n, 16, gB, gA);
    /* gA holds d(block output), through the block's final ReLU already when
     * `masked`; each block leaves d(block input) in gA. */
    int masked = 0;
    for (int i = 7; i >= 0; i--) {
        fe_block *k = &m->blk[i];
        const float *x = i ? m->blk[i - 1].out : m->a0;   /* the previous ReLU's output */
        const int64_t p = plane(&k->c1, n);
        const size_t sz = (size_t)k->c1.g.cout * p;
        if (!masked)
            relu_backward(sz, k->out, gA, gA);
        float *din = gA;      /* identity shortcut: d(input) is gA plus conv1's part */
        if (k->has_sc) {
            bn_bwd(m, &k->sbn, p, k->sc.y, gA, gC, tr, pg);
            if (fe_hook_at(m, hook, k->sc.name, gC, k->sc.g.cout, p))
                return;
            conv_bwd(m, &k->sc, n, x, gC, pg, gD, 0, NULL);
            din = gD;
        }
        bn_bwd(m, &k->b2, p, k->c2.y, gA, gB, tr, pg);    /* gA's last use but as din */
        if (fe_hook_at(m, hook, k->c2.name, gB, k->c2.g.cout, p))
            return;
        if (!conv_bwd(m, &k->c2, n, k->a1, gB, pg, gC, 0, k->a1))
            relu_backward(sz, k->a1, gC, gC);
        bn_bwd(m, &k->b1, p, k->c1.y, gC, gB, tr, pg);
        if (fe_hook_at(m, hook, k->c1.name, gB, k->c1.g.cout, p))
            return;
        masked = conv_bwd(m, &k->c1, n, x, gB, pg, din, 1, x);
        if (din == gD) {
            gD = gA;
            gA = din;
        }
    }
    const int64_t p = plane(&m->conv1, n);
    if (!masked)
        relu_backward((size_t)64 * p, m->a0, gA, gA);
    bn_bwd(m, &m->bn1, p, m->conv1.y, gA, gB, tr, pg);
    if (fe_hook_at(m, hook, "conv1", gB, 64, p))
        return;
    if (pg)     /* the weight gradient is float32 in either precision */
        conv2d_backward(&m->conv1.g, n, m->input, m->conv1.w, gB, m->conv1.dw, NULL, NULL, 0,
                        m->col, m->col_cap);
}
