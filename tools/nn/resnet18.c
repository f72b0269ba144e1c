/* resnet18.c - the CIFAR-style ResNet-18 of the paper on 1x28x28 inputs:
 *   conv1 3x3 1->64 (no bias), bn1, ReLU                      28x28
 *   layer1..layer4: two BasicBlocks each, widths 64 128 256 512,
 *   the first block of layers 2-4 with stride 2               28 14 7 4
 *   global average pool -> linear 512->10
 * BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the
 * shortcut a 1x1 conv + BN when the stride or width changes.
 * Each convolution runs by the algorithm the builder chose for it in the
 * model's mode (ops.h): in float32 the 3x3 stride-1 ones by Winograd F(4x4,3x3)
 * (4x fewer multiplies), the others direct; in bf16 with bf16 products, the
 * 3x3 stride-1 ones by Winograd F(2x2,3x3) (winograd2_bf16.c says why not
 * F(4x4,3x3)), the others direct (conv2d_bf16_blocked.c).
 * Winograd's and bf16's backwards apply the ReLU mask of their input in their
 * last pass (fe_conv_backward returns 1 then).  In training and evaluation the
 * activations are in the blocked layout (layers.h: 16 images of a pixel side
 * by side) from conv1's output to the average pool; the analysis tools'
 * exact models keep them plain. */
#include <stdio.h>
#include <string.h>
#include "builder.h"
#include "resnet18.h"

static void build(fe_builder *b)
{
    fe_model *m = b->m;
    resnet18_net *R = m->net;
    const int N = m->maxn;
    R->blocked = b->blocked;
    fe_b_conv(b, &R->conv1, "conv1", 1, 64, 3, 1, 1, 28, 28, FE_CONV_PLAIN_IN);  /* the images */
    fe_b_bn(b, &R->bn1, "bn1", 64);
    R->a0 = fe_b_act(b, (size_t)64 * N * 28 * 28);
    fe_b_layer(b, &R->conv1, NULL, R->a0, 64, 28, 28);
    int cin = 64, hw = 28;
    static const int widths[4] = {64, 128, 256, 512};
    for (int L = 0; L < 4; L++)
        for (int J = 0; J < 2; J++) {
            resnet18_block *k = &R->blk[L * 2 + J];
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
            fe_b_layer(b, &k->c1, NULL, k->a1, cout, ohw, ohw);
            fe_b_layer(b, &k->c2, NULL, k->out, cout, ohw, ohw);
            if (k->has_sc)   /* no nonlinearity of its own: its output is kept pre-BN */
                fe_b_layer(b, &k->sc, NULL, k->sc.y, cout, ohw, ohw);
            cin = cout;
            hw = ohw;
        }
    R->pooled = fe_b_act(b, (size_t)512 * N);
    fe_b_fc(b, &R->linear, "linear", 512, 10);
    fe_b_layer(b, NULL, &R->linear, R->linear.y, 10, 1, 1);
}

static int64_t plane(const fe_conv *c, int n) { return (int64_t)n * c->g.oh * c->g.ow; }

static void forward(fe_model *m, int n, int tr)
{
    resnet18_net *R = m->net;
    const bn_post relu = {.relu = 1};
    fe_conv_forward(m, &R->conv1, n, m->input);
    fe_bn_forward(m, &R->bn1, plane(&R->conv1, n), R->conv1.y, R->a0, tr, &relu);
    const float *x = R->a0;
    for (int i = 0; i < 8; i++) {
        resnet18_block *k = &R->blk[i];
        const int64_t p = plane(&k->c1, n);
        fe_conv_forward(m, &k->c1, n, x);
        fe_bn_forward(m, &k->b1, p, k->c1.y, k->a1, tr, &relu);
        fe_conv_forward(m, &k->c2, n, k->a1);
        if (k->has_sc) {
            fe_conv_forward(m, &k->sc, n, x);
            fe_bn_forward(m, &k->sbn, p, k->sc.y, m->g[0], tr, NULL);
        }
        /* out = relu(bn2(conv2) + shortcut), in bn2's one pass */
        const bn_post sum_relu = {.res = k->has_sc ? m->g[0] : x, .relu = 1};
        fe_bn_forward(m, &k->b2, p, k->c2.y, k->out, tr, &sum_relu);
        x = k->out;
    }
    avgpool_forward(512, n, 16, R->blocked, x, R->pooled);
    linear_forward(512, 10, n, R->pooled, R->linear.w, R->linear.b, R->linear.y);
    memcpy(m->logits, R->linear.y, sizeof(float) * 10 * n);
}

static void backward(fe_model *m, int pg, fe_hook *hook)
{
    resnet18_net *R = m->net;
    const int n = m->n, tr = m->training;
    float *gA = m->g[0], *gB = m->g[1], *gC = m->g[2], *gD = m->g[3];
    if (fe_hook_at(m, hook, "linear", m->dlogits, 10, n))
        return;
    linear_backward(512, 10, n, R->pooled, R->linear.w, m->dlogits, pg ? R->linear.dw : NULL,
                    pg ? R->linear.db : NULL, gB);
    avgpool_backward(512, n, 16, R->blocked, gB, gA);
    /* gA holds d(block output), through the block's final ReLU already when
     * `masked`; each block leaves d(block input) in gA. */
    int masked = 0;
    for (int i = 7; i >= 0; i--) {
        resnet18_block *k = &R->blk[i];
        const float *x = i ? R->blk[i - 1].out : R->a0;   /* the previous ReLU's output */
        const int64_t p = plane(&k->c1, n);
        const size_t sz = (size_t)k->c1.g.cout * p;
        if (!masked)
            relu_backward(sz, k->out, gA, gA);
        float *din = gA;      /* identity shortcut: d(input) is gA plus conv1's part */
        if (k->has_sc) {
            fe_bn_backward(m, &k->sbn, p, k->sc.y, gA, gC, tr, pg);
            if (fe_hook_at(m, hook, k->sc.name, gC, k->sc.g.cout, p))
                return;
            fe_conv_backward(m, &k->sc, n, x, gC, pg, gD, 0, NULL);
            din = gD;
        }
        fe_bn_backward(m, &k->b2, p, k->c2.y, gA, gB, tr, pg);    /* gA's last use but as din */
        if (fe_hook_at(m, hook, k->c2.name, gB, k->c2.g.cout, p))
            return;
        if (!fe_conv_backward(m, &k->c2, n, k->a1, gB, pg, gC, 0, k->a1))
            relu_backward(sz, k->a1, gC, gC);
        fe_bn_backward(m, &k->b1, p, k->c1.y, gC, gB, tr, pg);
        if (fe_hook_at(m, hook, k->c1.name, gB, k->c1.g.cout, p))
            return;
        masked = fe_conv_backward(m, &k->c1, n, x, gB, pg, din, 1, x);
        if (din == gD) {
            gD = gA;
            gA = din;
        }
    }
    const int64_t p = plane(&R->conv1, n);
    if (!masked)
        relu_backward((size_t)64 * p, R->a0, gA, gA);
    fe_bn_backward(m, &R->bn1, p, R->conv1.y, gA, gB, tr, pg);
    if (fe_hook_at(m, hook, "conv1", gB, 64, p))
        return;
    if (pg)     /* its input needs no gradient */
        fe_conv_backward(m, &R->conv1, n, m->input, gB, 1, NULL, 0, NULL);
}

const fe_arch fe_resnet18 = {
    .name = "resnet18", .title = "ResNet-18",
    .detect_keys = {"layer1.0.conv1.weight", "linear.weight"},
    .net_size = sizeof(resnet18_net), .caps = FE_CAP_BF16 | FE_CAP_BLOCKED,
    .build = build, .forward = forward, .backward = backward,
};
