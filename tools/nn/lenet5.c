/* lenet5.c - LeNet-5 as in the paper:
 *   conv1 1->6 5x5 pad 2, ReLU, maxpool 2  -> 6x14x14
 *   conv2 6->16 5x5,      ReLU, maxpool 2  -> 16x5x5
 *   flatten (channel-major, 400) -> fc1 120 ReLU -> fc2 84 ReLU -> fc3 10
 * ReLUs run in place on the layer outputs: the kept output is both the
 * post-activation map (snapshot) and the ReLU mask (backward).
 *
 * The convolutional part runs one chunk of images (4) per thread at a time, every
 * step of a chunk (direct conv1 + bias + ReLU + pool, conv2 im2col + GEMM, bias +
 * ReLU + pool into the flattened fc1 input) while its data is still in L2; its
 * backward likewise, with per-chunk weight-gradient partials summed in chunk
 * order, so the result does not depend on the thread count.  conv2's im2col
 * columns are kept from forward for backward at the front of m->col. */
#include <string.h>
#include "threads.h"
#include "builder.h"
#include "lenet5.h"

#define L5_CHUNK 4          /* images per chunk: conv2 columns 240 KB, measured best (2, 8, 16 slower) */
#define L5_THREADS 16       /* threads whose chunk scratch the build reserves */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Floats at the front of m->col that keep conv2's columns for the whole batch. */
static size_t kept_floats(const fe_model *m)
{
    const lenet5_net *L = m->net;
    return round16(conv_col_floats(&L->conv2.g, m->maxn));
}

static void build(fe_builder *b)
{
    fe_model *m = b->m;
    lenet5_net *L = m->net;
    const int N = m->maxn;
    fe_b_conv(b, &L->conv1, "conv1", 1, 6, 5, 1, 2, 28, 28, FE_CONV_BIAS);
    L->p1 = fe_b_act(b, (size_t)6 * N * 14 * 14);
    fe_b_conv(b, &L->conv2, "conv2", 6, 16, 5, 1, 0, 14, 14, FE_CONV_BIAS);
    L->flat = fe_b_act(b, (size_t)400 * N);     /* conv2's pooled output goes straight here */
    fe_b_fc(b, &L->fc1, "fc1", 400, 120);
    fe_b_fc(b, &L->fc2, "fc2", 120, 84);
    fe_b_fc(b, &L->fc3, "fc3", 84, 10);
    fe_b_layer(b, &L->conv1, NULL, L->conv1.y, 6, 28, 28);
    fe_b_layer(b, &L->conv2, NULL, L->conv2.y, 16, 10, 10);
    fe_b_layer(b, NULL, &L->fc1, L->fc1.y, 120, 1, 1);
    fe_b_layer(b, NULL, &L->fc2, L->fc2.y, 84, 1, 1);
    fe_b_layer(b, NULL, &L->fc3, L->fc3.y, 10, 1, 1);
    /* m->col: the kept conv2 columns, then scratch (conv2's input-gradient
     * columns of a chunk per thread; the whole scratch for the hook path) */
    size_t scratch = conv_col_floats(&L->conv2.g, L5_CHUNK) * L5_THREADS;
    if (scratch < b->col_min)
        scratch = b->col_min;
    b->col_min = kept_floats(m) + scratch;
}

/* Chunking shared by forward and backward (the kept columns are laid out per
 * chunk), and the threads the scratch after the kept columns can serve. */
typedef struct {
    int chunk, nchunks, threads;
    float *kept, *scratch;
    size_t slice;           /* scratch floats per thread */
} l5_plan;

static l5_plan plan(const fe_model *m, int n)
{
    l5_plan p;
    const lenet5_net *L = m->net;
    const size_t keep = kept_floats(m), per = conv_col_floats(&L->conv2.g, 1);
    const size_t scratch = m->col_cap - keep;
    p.chunk = scratch / per < L5_CHUNK ? (int)(scratch / per) : L5_CHUNK;   /* >= 1, see build */
    p.nchunks = (n + p.chunk - 1) / p.chunk;
    p.slice = per * p.chunk;
    size_t t = scratch / p.slice;
    if (t > (size_t)omp_get_max_threads())
        t = (size_t)omp_get_max_threads();
    if (t > (size_t)p.nchunks)
        t = (size_t)p.nchunks;
    p.threads = t < 1 ? 1 : (int)t;
    p.kept = m->col;
    p.scratch = m->col + keep;
    return p;
}

static void forward(fe_model *m, int n, int training)
{
    (void)training;         /* no BatchNorm, no dropout: the same in both modes */
    lenet5_net *L = m->net;
    const l5_plan p = plan(m, n);
    const size_t per = conv_col_floats(&L->conv2.g, 1);
    #pragma omp parallel for schedule(static) num_threads(p.threads)
    for (int c = 0; c < p.nchunks; c++) {
        const int n0 = c * p.chunk, nc = n - n0 < p.chunk ? n - n0 : p.chunk;
        conv5x5c1_relu_pool_forward(&L->conv1.g, n, n0, nc, m->input, L->conv1.w, L->conv1.b,
                                    L->conv1.y, L->p1);
        conv2d_forward_chunk(&L->conv2.g, n, n0, nc, L->p1, L->conv2.w, L->conv2.y,
                             p.kept + per * n0);
        /* [16][N][25] pooled straight into flat [400][N], feature c*25 + s as
         * torch.flatten gives */
        bias_relu_maxpool2_forward(16, n, n0, nc, 10, 10, L->conv2.b, L->conv2.y, L->flat,
                                   (size_t)25 * n, 1, (size_t)n);
    }
    linear_forward(400, 120, n, L->flat, L->fc1.w, L->fc1.b, L->fc1.y);
    relu_forward((size_t)120 * n, L->fc1.y);
    linear_forward(120, 84, n, L->fc1.y, L->fc2.w, L->fc2.b, L->fc2.y);
    relu_forward((size_t)84 * n, L->fc2.y);
    linear_forward(84, 10, n, L->fc2.y, L->fc3.w, L->fc3.b, L->fc3.y);
    memcpy(m->logits, L->fc3.y, sizeof(float) * 10 * n);
}

/* conv2's and conv1's parameter gradients from gA = d flat, chunk by chunk. */
static void conv_backward_fast(fe_model *m, int n, const float *gA, float *gB)
{
    lenet5_net *L = m->net;
    const l5_plan p = plan(m, n);
    const size_t per = conv_col_floats(&L->conv2.g, 1);
    const int K2 = 16 * 150, K1 = 6 * 25;
    /* per-chunk partials [dw2 | db2 | dw1 | db1] in g[2] (chunks * 2576 floats
     * is below one activation); dp1 = d p1 in g[3] */
    const size_t ps = round16((size_t)K2 + 16 + K1 + 6);
    float *part = m->g[2], *dp1 = m->g[3];
    #pragma omp parallel num_threads(p.threads)
    {
        float *dcol = p.scratch + p.slice * omp_get_thread_num();
        #pragma omp for schedule(static)
        for (int c = 0; c < p.nchunks; c++) {
            const int n0 = c * p.chunk, nc = n - n0 < p.chunk ? n - n0 : p.chunk;
            float *pc = part + ps * c;
            memset(pc + K2, 0, sizeof(float) * (16 + K1 + 6));
            maxpool2_relu_backward(16, n, n0, nc, 10, 10, L->conv2.y, gA, (size_t)25 * n, 1,
                                   (size_t)n, gB, pc + K2);
            conv2d_backward_chunk(&L->conv2.g, n, n0, nc, L->conv2.w, gB, p.kept + per * n0, pc,
                                  dcol, dp1);
            conv5x5c1_pool_relu_backward_w(&L->conv1.g, n, n0, nc, m->input, L->conv1.y, dp1,
                                           pc + K2 + 16, pc + K2 + 16 + K1);
        }
        /* sum the partials in chunk order: the same sums whatever the threads */
        float *dst[4] = {L->conv2.dw, L->conv2.db, L->conv1.dw, L->conv1.db};
        const int len[4] = {K2, 16, K1, 6}, off[4] = {0, K2, K2 + 16, K2 + 16 + K1};
        #pragma omp for schedule(static)
        for (int k = 0; k < K2 + 16 + K1 + 6; k++) {
            int t = 0;
            while (k >= off[t] + len[t])
                t++;
            double s = 0;
            for (int c = 0; c < p.nchunks; c++)
                s += part[ps * c + k];
            dst[t][k - off[t]] = (float)s;
        }
    }
}

static void backward(fe_model *m, int pg, fe_hook *hook)
{
    lenet5_net *L = m->net;
    const int n = m->n;
    float *gA = m->g[0], *gB = m->g[1];
    float *col = m->col + kept_floats(m);                 /* scratch of the reference path */
    const size_t col_cap = m->col_cap - kept_floats(m);
    if (fe_hook_at(m, hook, "fc3", m->dlogits, 10, n))
        return;
    linear_backward(84, 10, n, L->fc2.y, L->fc3.w, m->dlogits, pg ? L->fc3.dw : NULL,
                    pg ? L->fc3.db : NULL, gA);
    relu_backward((size_t)84 * n, L->fc2.y, gA, gA);
    if (fe_hook_at(m, hook, "fc2", gA, 84, n))
        return;
    linear_backward(120, 84, n, L->fc1.y, L->fc2.w, gA, pg ? L->fc2.dw : NULL,
                    pg ? L->fc2.db : NULL, gB);
    relu_backward((size_t)120 * n, L->fc1.y, gB, gB);
    if (fe_hook_at(m, hook, "fc1", gB, 120, n))
        return;
    linear_backward(400, 120, n, L->flat, L->fc1.w, gB, pg ? L->fc1.dw : NULL,
                    pg ? L->fc1.db : NULL, gA);
    if (pg && !hook) {
        conv_backward_fast(m, n, gA, gB);
        return;
    }
    /* reference path: a hook wants the conv layers' full output gradients */
    for (int c = 0; c < 16; c++)                   /* [400][N] -> [16][N][25] */
        for (int j = 0; j < n; j++)
            for (int s = 0; s < 25; s++)
                gB[((size_t)c * n + j) * 25 + s] = gA[(size_t)(c * 25 + s) * n + j];
    maxpool2_backward(16, n, 10, 10, L->conv2.y, gB, gA);
    relu_backward((size_t)16 * n * 100, L->conv2.y, gA, gA);
    if (fe_hook_at(m, hook, "conv2", gA, 16, (int64_t)n * 100))
        return;
    conv2d_backward(&L->conv2.g, n, L->p1, L->conv2.w, gA, pg ? L->conv2.dw : NULL,
                    pg ? L->conv2.db : NULL, gB, 0, col, col_cap);
    maxpool2_backward(6, n, 28, 28, L->conv1.y, gB, gA);
    relu_backward((size_t)6 * n * 784, L->conv1.y, gA, gA);
    if (fe_hook_at(m, hook, "conv1", gA, 6, (int64_t)n * 784))
        return;
    if (pg)
        conv2d_backward(&L->conv1.g, n, m->input, L->conv1.w, gA, L->conv1.dw, L->conv1.db, NULL, 0,
                        col, col_cap);
}

const fe_arch fe_lenet5 = {
    .name = "lenet5", .title = "LeNet-5", .detect_keys = {"conv2.weight", "fc1.weight"},
    .net_size = sizeof(lenet5_net), .caps = 0,
    .build = build, .forward = forward, .backward = backward,
};
