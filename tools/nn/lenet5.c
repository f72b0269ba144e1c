/* lenet5.c - LeNet-5 as in the paper:
 *   conv1 1->6 5x5 pad 2, ReLU, maxpool 2  -> 6x14x14
 *   conv2 6->16 5x5,      ReLU, maxpool 2  -> 16x5x5
 *   flatten (channel-major, 400) -> fc1 120 ReLU -> fc2 84 ReLU -> fc3 10
 * ReLUs run in place on the layer outputs: the kept output is both the
 * post-activation map (snapshot) and the ReLU mask (backward). */
#include <string.h>
#include "nn_internal.h"

void lenet5_build(fe_builder *b)
{
    fe_model *m = b->m;
    const int N = m->maxn;
    fe_b_conv(b, &m->conv1, "conv1", 1, 6, 5, 1, 2, 28, 28, 1);
    m->p1 = fe_b_act(b, (size_t)6 * N * 14 * 14);
    fe_b_conv(b, &m->conv2, "conv2", 6, 16, 5, 1, 0, 14, 14, 1);
    m->p2 = fe_b_act(b, (size_t)16 * N * 5 * 5);
    m->flat = fe_b_act(b, (size_t)400 * N);
    fe_b_fc(b, &m->fc1, "fc1", 400, 120);
    fe_b_fc(b, &m->fc2, "fc2", 120, 84);
    fe_b_fc(b, &m->fc3, "fc3", 84, 10);
    fe_b_layer(b, "conv1", &m->conv1, NULL, m->conv1.y, 6, 28, 28);
    fe_b_layer(b, "conv2", &m->conv2, NULL, m->conv2.y, 16, 10, 10);
    fe_b_layer(b, "fc1", NULL, &m->fc1, m->fc1.y, 120, 1, 1);
    fe_b_layer(b, "fc2", NULL, &m->fc2, m->fc2.y, 84, 1, 1);
    fe_b_layer(b, "fc3", NULL, &m->fc3, m->fc3.y, 10, 1, 1);
}

void lenet5_forward(fe_model *m, int n)
{
    conv2d_forward(&m->conv1.g, n, m->input, m->conv1.w, m->conv1.b, m->conv1.y, m->col, m->col_cap);
    relu_forward((size_t)6 * n * 28 * 28, m->conv1.y);
    maxpool2_forward(6, n, 28, 28, m->conv1.y, m->p1);
    conv2d_forward(&m->conv2.g, n, m->p1, m->conv2.w, m->conv2.b, m->conv2.y, m->col, m->col_cap);
    relu_forward((size_t)16 * n * 10 * 10, m->conv2.y);
    maxpool2_forward(16, n, 10, 10, m->conv2.y, m->p2);
    /* [16][N][25] -> [400][N], feature index c*25 + hw as torch.flatten gives */
    for (int c = 0; c < 16; c++)
        for (int j = 0; j < n; j++)
            for (int s = 0; s < 25; s++)
                m->flat[(size_t)(c * 25 + s) * n + j] = m->p2[((size_t)c * n + j) * 25 + s];
    linear_forward(400, 120, n, m->flat, m->fc1.w, m->fc1.b, m->fc1.y);
    relu_forward((size_t)120 * n, m->fc1.y);
    linear_forward(120, 84, n, m->fc1.y, m->fc2.w, m->fc2.b, m->fc2.y);
    relu_forward((size_t)84 * n, m->fc2.y);
    linear_forward(84, 10, n, m->fc2.y, m->fc3.w, m->fc3.b, m->fc3.y);
    memcpy(m->logits, m->fc3.y, sizeof(float) * 10 * n);
}

void lenet5_backward(fe_model *m, int pg, const fe_hook *hook)
{
    const int n = m->n;
    float *gA = m->g[0], *gB = m->g[1];
    if (fe_hook_at(m, hook, "fc3", m->dlogits, 10, n))
        return;
    linear_backward(84, 10, n, m->fc2.y, m->fc3.w, m->dlogits, pg ? m->fc3.dw : NULL,
                    pg ? m->fc3.db : NULL, gA);
    relu_backward((size_t)84 * n, m->fc2.y, gA, gA);
    if (fe_hook_at(m, hook, "fc2", gA, 84, n))
        return;
    linear_backward(120, 84, n, m->fc1.y, m->fc2.w, gA, pg ? m->fc2.dw : NULL,
                    pg ? m->fc2.db : NULL, gB);
    relu_backward((size_t)120 * n, m->fc1.y, gB, gB);
    if (fe_hook_at(m, hook, "fc1", gB, 120, n))
        return;
    linear_backward(400, 120, n, m->flat, m->fc1.w, gB, pg ? m->fc1.dw : NULL,
                    pg ? m->fc1.db : NULL, gA);
    for (int c = 0; c < 16; c++)                   /* [400][N] -> [16][N][25] */
        for (int j = 0; j < n; j++)
            for (int s = 0; s < 25; s++)
                gB[((size_t)c * n + j) * 25 + s] = gA[(size_t)(c * 25 + s) * n + j];
    maxpool2_backward(16, n, 10, 10, m->conv2.y, gB, gA);
    relu_backward((size_t)16 * n * 100, m->conv2.y, gA, gA);
    if (fe_hook_at(m, hook, "conv2", gA, 16, (int64_t)n * 100))
        return;
    conv2d_backward(&m->conv2.g, n, m->p1, m->conv2.w, gA, pg ? m->conv2.dw : NULL,
                    pg ? m->conv2.db : NULL, gB, 0, m->col, m->col_cap);
    maxpool2_backward(6, n, 28, 28, m->conv1.y, gB, gA);
    relu_backward((size_t)6 * n * 784, m->conv1.y, gA, gA);
    if (fe_hook_at(m, hook, "conv1", gA, 6, (int64_t)n * 784))
        return;
    if (pg)
        conv2d_backward(&m->conv1.g, n, m->input, m->conv1.w, gA, m->conv1.dw, m->conv1.db, NULL, 0,
                        m->col, m->col_cap);
}
