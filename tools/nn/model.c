/* model.c - building, initialising, saving and loading the models.
 *
 * A model is built in two passes of the same description (lenet5_build /
 * resnet18_build): the first only counts floats, the second hands out pointers
 * into the three arenas allocated in between. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "nn_internal.h"

const char *fe_arch_name(fe_arch a) { return a == FE_LENET5 ? "lenet5" : "resnet18"; }

int fe_arch_parse(const char *s, fe_arch *a)
{
    if (!strcmp(s, "lenet5")) { *a = FE_LENET5; return 0; }
    if (!strcmp(s, "resnet18")) { *a = FE_RESNET18; return 0; }
    return -1;
}

/* ---- builder ---- */

static float *take(float *base, size_t *used, size_t n)
{
    float *p = base ? base + *used : NULL;
    *used += (n + 15) & ~(size_t)15;     /* keep 64-byte alignment */
    return p;
}

float *fe_b_act(fe_builder *b, size_t n)
{
    if (n > b->maxact)
        b->maxact = n;
    return take(b->m->acts, &b->nacts, n);
}

static fe_param *reg(fe_builder *b, const char *name, int ndim, const int64_t *shape)
{
    fe_model *m = b->m;
    if (m->np == m->pcap) {          /* only in the counting pass can this grow */
        m->pcap = m->pcap ? 2 * m->pcap : 64;
        m->p = realloc(m->p, sizeof(fe_param) * m->pcap);
        if (!m->p) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    fe_param *p = &m->p[m->np++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->n = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->n *= (size_t)shape[i];
    }
    return p;
}

static float *trainable(fe_builder *b, const char *name, int ndim, const int64_t *shape,
                        float **grad, int fan_in, int is_conv_weight)
{
    fe_param *p = reg(b, name, ndim, shape);
    size_t off = b->nparams;
    p->data = take(b->m->params, &b->nparams, p->n);
    p->grad = b->m->grads ? b->m->grads + off : NULL;
    p->fan_in = fan_in;
    p->is_conv_weight = is_conv_weight;
    *grad = p->grad;
    return p->data;
}

static float *buffer(fe_builder *b, const char *name, size_t n)
{
    int64_t shape[1] = {(int64_t)n};
    fe_param *p = reg(b, name, 1, shape);
    p->data = take(b->m->bufs, &b->nbufs, n);
    return p->data;
}

void fe_b_conv(fe_builder *b, fe_conv *c, const char *name, int cin, int cout, int k, int stride,
               int pad, int h, int w, int bias)
{
    char key[96];
    snprintf(c->name, sizeof c->name, "%s", name);
    conv_geom_init(&c->g, cin, cout, k, stride, pad, h, w);
    int64_t shape[4] = {cout, cin, k, k};
    snprintf(key, sizeof key, "%s.weight", name);
    c->w = trainable(b, key, 4, shape, &c->dw, cin * k * k, 1);
    c->b = c->db = NULL;
    if (bias) {
        snprintf(key, sizeof key, "%s.bias", name);
        c->b = trainable(b, key, 1, shape, &c->db, cin * k * k, 0);
    }
    c->y = fe_b_act(b, (size_t)cout * b->m->maxn * c->g.oh * c->g.ow);
    size_t need = conv_col_floats(&c->g, 1);
    if (wino_applies(&c->g)) {
        if (wino_col_floats(&c->g, 1) > need)
            need = wino_col_floats(&c->g, 1);
        if (wino_u_floats(&c->g) > b->wu_min)
            b->wu_min = wino_u_floats(&c->g);
    }
    c->u = wino_applies(&c->g) ? take(b->m->acts, &b->nacts, wino_u_floats(&c->g)) : NULL;
    c->u_kept = 0;
    if (need > b->col_min)
        b->col_min = need;
    if (conv_bf16_scratch_floats(&c->g) > b->bf16_min)
        b->bf16_min = conv_bf16_scratch_floats(&c->g);
}

void fe_b_bn(fe_builder *b, fe_bn *bn, const char *name, int c)
{
    char key[96];
    int64_t shape[1] = {c};
    bn->g.c = c;
    bn->g.eps = 1e-5f;
    bn->g.momentum = 0.1f;
    snprintf(key, sizeof key, "%s.weight", name);
    bn->gamma = trainable(b, key, 1, shape, &bn->dgamma, 0, 0);
    snprintf(key, sizeof key, "%s.bias", name);
    bn->beta = trainable(b, key, 1, shape, &bn->dbeta, 0, 0);
    snprintf(key, sizeof key, "%s.running_mean", name);
    bn->rmean = buffer(b, key, c);
    snprintf(key, sizeof key, "%s.running_var", name);
    bn->rvar = buffer(b, key, c);
    snprintf(key, sizeof key, "%s.num_batches_tracked", name);
    fe_param *p = reg(b, key, 0, NULL);
    p->i64 = &bn->nbt;
    bn->smean = take(b->m->acts, &b->nacts, c);
    bn->sinv = take(b->m->acts, &b->nacts, c);
}

void fe_b_fc(fe_builder *b, fe_fc *f, const char *name, int in, int out)
{
    char key[96];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->in = in;
    f->out = out;
    int64_t shape[2] = {out, in};
    snprintf(key, sizeof key, "%s.weight", name);
    f->w = trainable(b, key, 2, shape, &f->dw, in, 0);
    snprintf(key, sizeof key, "%s.bias", name);
    f->b = trainable(b, key, 1, shape, &f->db, in, 0);
    f->y = fe_b_act(b, (size_t)out * b->m->maxn);
}

void fe_b_layer(fe_builder *b, const char *name, fe_conv *conv, fe_fc *fc, float *post, int c,
                int h, int w)
{
    fe_model *m = b->m;
    if (m->nlayers == (int)(sizeof m->layers / sizeof m->layers[0]))
        return;
    fe_layer *l = &m->layers[m->nlayers++];
    l->name = conv ? conv->name : fc->name;
    (void)name;
    l->conv = conv;
    l->fc = fc;
    l->post = post;
    l->post_c = c;
    l->post_h = h;
    l->post_w = w;
}

static void build(fe_builder *b)
{
    fe_model *m = b->m;
    m->np = 0;
    m->nlayers = 0;
    b->nparams = b->nbufs = b->nacts = 0;
    b->maxact = 0;
    b->col_min = 0;
    b->wu_min = 0;
    b->bf16_min = 0;
    m->input = fe_b_act(b, (size_t)m->maxn * FE_IMG * FE_IMG);
    if (m->arch == FE_LENET5)
        lenet5_build(b);
    else
        resnet18_build(b);
    m->logits = fe_b_act(b, (size_t)FE_CLASSES * m->maxn);
    m->dlogits = fe_b_act(b, (size_t)FE_CLASSES * m->maxn);
}

fe_model *fe_model_new(fe_arch arch, int maxn, size_t col_floats, fe_err *err)
{
    if (maxn < 1) {
        fe_fail(err, "batch size must be at least 1");
        return NULL;
    }
    fe_model *m = calloc(1, sizeof *m);
    if (!m) {
        fe_fail(err, "out of memory");
        return NULL;
    }
    m->arch = arch;
    m->maxn = maxn;
    fe_builder b = {.m = m};
    build(&b);                                  /* pass 1: count */
    size_t maxact = b.maxact;
    /* 128 MiB of chunk scratch by default: the GEMMs of large chunks run nearer
     * peak (ResNet-18 at batch 512 on 2 cores: 80 img/s training and 246 eval with
     * 32 MiB, 91 and 303 with 128 MiB); never more than the whole batch needs. */
    size_t col = col_floats ? col_floats : (size_t)32 << 20;
    if (!col_floats && col > b.col_min * (size_t)maxn)
        col = b.col_min * (size_t)maxn;
    if (col < b.col_min)
        col = b.col_min;
    m->nparams = b.nparams;
    m->nbufs = b.nbufs;
    const size_t wu = (b.wu_min + 15) & ~(size_t)15;
    const size_t bfs = (b.bf16_min + 15) & ~(size_t)15;
    m->nacts = b.nacts + 4 * ((maxact + 15) & ~(size_t)15) + col + wu + bfs;
    m->params = aligned_alloc(64, sizeof(float) * m->nparams);
    m->grads = aligned_alloc(64, sizeof(float) * m->nparams);
    m->bufs = aligned_alloc(64, sizeof(float) * (m->nbufs ? m->nbufs : 16));
    m->acts = aligned_alloc(64, sizeof(float) * m->nacts);
    if (!m->params || !m->grads || !m->bufs || !m->acts) {
        fe_fail(err, "out of memory: %zu MiB for a %s of batch %d",
                sizeof(float) * (m->nparams * 2 + m->nbufs + m->nacts) >> 20, fe_arch_name(arch), maxn);
        fe_model_free(m);
        return NULL;
    }
    memset(m->params, 0, sizeof(float) * m->nparams);
    memset(m->grads, 0, sizeof(float) * m->nparams);
    memset(m->bufs, 0, sizeof(float) * m->nbufs);
    build(&b);                                  /* pass 2: assign */
    float *scratch = m->acts + b.nacts;
    for (int i = 0; i < 4; i++)
        m->g[i] = scratch + i * ((maxact + 15) & ~(size_t)15);
    m->col = scratch + 4 * ((maxact + 15) & ~(size_t)15);
    m->col_cap = col;
    m->wdu = wu ? m->col + col : NULL;
    m->bf16_scratch = m->col + col + wu;
    return m;
}

void fe_model_free(fe_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->bufs);
    free(m->acts);
    free(m->p);
    free(m);
}

void fe_model_init(fe_model *m, fe_rng *r, double conv_std)
{
    for (int i = 0; i < m->np; i++) {
        fe_param *p = &m->p[i];
        if (p->i64) {
            *p->i64 = 0;
            continue;
        }
        const char *dot = strrchr(p->name, '.');
        int is_bn = !p->grad || (!p->fan_in && !p->is_conv_weight);
        if (!p->grad) {                       /* running stats */
            float v = !strcmp(dot, ".running_var") ? 1.0f : 0.0f;
            for (size_t j = 0; j < p->n; j++)
                p->data[j] = v;
        } else if (is_bn) {                   /* BN weight 1, bias 0 */
            float v = !strcmp(dot, ".weight") ? 1.0f : 0.0f;
            for (size_t j = 0; j < p->n; j++)
                p->data[j] = v;
        } else if (p->is_conv_weight && conv_std > 0) {
            for (size_t j = 0; j < p->n; j++)
                p->data[j] = (float)(conv_std * fe_rng_normal(r));
        } else {                              /* kaiming_uniform(a=sqrt 5) == U(+-1/sqrt(fan_in)) */
            double bound = 1.0 / sqrt((double)p->fan_in);
            for (size_t j = 0; j < p->n; j++)
                p->data[j] = (float)((2.0 * fe_rng_uniform(r) - 1.0) * bound);
        }
    }
}

int fe_model_find_layer(const fe_model *m, const char *name)
{
    for (int i = 0; i < m->nlayers; i++)
        if (!strcmp(m->layers[i].name, name))
            return i;
    return -1;
}

void fe_model_layer_list(const fe_model *m, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < m->nlayers && used < len; i++)
        used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "", m->layers[i].name);
}

void fe_model_set_input(fe_model *m, const uint8_t *images, const int64_t *idx, int n,
                        float mean, float std)
{
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = ((float)v / 255.0f - mean) / std;
    const size_t px = FE_IMG * FE_IMG;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const uint8_t *src = images + (size_t)(idx ? idx[i] : i) * px;
        float *dst = m->input + (size_t)i * px;
        for (size_t j = 0; j < px; j++)
            dst[j] = lut[src[j]];
    }
}

void fe_model_forward(fe_model *m, int n, int training)
{
    m->n = n;
    m->training = training;
    if (m->arch == FE_LENET5)
        lenet5_forward(m, n);
    else
        resnet18_forward(m, n, training);
}

void fe_model_fix_weights(fe_model *m, int fixed)
{
    m->weights_fixed = fixed;
    for (int i = 0; i < m->nlayers; i++)        /* every conv is a named layer */
        if (m->layers[i].conv)
            m->layers[i].conv->u_kept = 0;
}

void fe_model_backward(fe_model *m, int param_grads, fe_hook *hook)
{
    if (hook)
        hook->called = 0;
    if (m->arch == FE_LENET5)
        lenet5_backward(m, param_grads, hook);
    else
        resnet18_backward(m, param_grads, hook);
}

int fe_hook_at(const fe_model *m, fe_hook *h, const char *name, const float *dz, int rows,
               int64_t cols)
{
    if (!h)
        return 0;
    for (int i = 0; i < h->nlayers; i++)
        if (!strcmp(m->layers[h->layers[i]].name, name)) {
            h->fn(h->ctx, i, &m->layers[h->layers[i]], dz, rows, cols);
            return ++h->called == h->nlayers;
        }
    return 0;
}

/* ---- checkpoints ---- */

int fe_model_save(const fe_model *m, const char *path, fe_err *err)
{
    npz_entry *e = calloc((size_t)m->np, sizeof *e);
    if (!e)
        return fe_fail(err, "out of memory");
    for (int i = 0; i < m->np; i++) {
        const fe_param *p = &m->p[i];
        e[i].name = (char *)p->name;
        e[i].t.ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++)
            e[i].t.shape[d] = p->shape[d];
        if (p->i64) {
            e[i].t.dtype = FE_I64;
            e[i].t.data = p->i64;
        } else {
            e[i].t.dtype = FE_F32;
            e[i].t.data = p->data;
        }
    }
    int rc = npz_save(path, e, m->np, err);
    free(e);
    return rc;
}

int fe_model_from_npz(fe_model *m, const npz_t *z, fe_err *err)
{
    for (int i = 0; i < m->np; i++) {
        fe_param *p = &m->p[i];
        const fe_tensor *t = npz_get(z, p->name);
        if (!t)
            return fe_fail(err, "no tensor '%s' (is this a %s checkpoint?)", p->name,
                           fe_arch_name(m->arch));
        int ok = t->ndim == p->ndim;
        for (int d = 0; ok && d < p->ndim; d++)
            ok = t->shape[d] == p->shape[d];
        if (!ok)
            return fe_fail(err, "tensor '%s' has the wrong shape for a %s", p->name,
                           fe_arch_name(m->arch));
        if (p->i64) {
            if (t->dtype != FE_I64)
                return fe_fail(err, "tensor '%s' must be int64", p->name);
            *p->i64 = *(const int64_t *)t->data;
        } else {
            if (t->dtype != FE_F32)
                return fe_fail(err, "tensor '%s' must be float32, not %s", p->name,
                               fe_dtype_name(t->dtype));
            const float *v = t->data;
            for (size_t k = 0; k < p->n; k++)
                if (!isfinite(v[k]))
                    return fe_fail(err, "tensor '%s' holds %s at element %zu", p->name,
                                   isnan(v[k]) ? "NaN" : "inf", k);
            memcpy(p->data, v, sizeof(float) * p->n);
        }
    }
    if (z->n != m->np)
        for (int i = 0; i < z->n; i++) {
            int found = 0;
            for (int j = 0; j < m->np && !found; j++)
                found = !strcmp(z->e[i].name, m->p[j].name);
            if (!found)
                return fe_fail(err, "unexpected tensor '%s' for a %s (is this a checkpoint of "
                               "the other model?)", z->e[i].name, fe_arch_name(m->arch));
        }
    return 0;
}

int fe_model_load(fe_model *m, const char *path, fe_err *err)
{
    npz_t z = {0};
    if (npz_load(path, &z, err))
        return -1;
    int rc = fe_model_from_npz(m, &z, err);
    npz_free(&z);
    return rc;
}

int fe_arch_detect(const npz_t *z)
{
    if (npz_get(z, "fc1.weight") && npz_get(z, "conv2.weight"))
        return FE_LENET5;
    if (npz_get(z, "layer1.0.conv1.weight") && npz_get(z, "linear.weight"))
        return FE_RESNET18;
    return -1;
}

fe_model *fe_model_open(const char *ckpt, int want_arch, fe_arch arch, int maxn, fe_err *err)
{
    npz_t z = {0};
    if (npz_load(ckpt, &z, err))
        return NULL;
    int found = fe_arch_detect(&z);
    if (found < 0) {
        npz_free(&z);
        fe_fail(err, "not a lenet5 or resnet18 checkpoint (no conv2/fc1 or layer1 tensors)");
        return NULL;
    }
    if (want_arch && (fe_arch)found != arch) {
        npz_free(&z);
        fe_fail(err, "this is a %s checkpoint, not a %s one", fe_arch_name((fe_arch)found),
                fe_arch_name(arch));
        return NULL;
    }
    fe_model *m = fe_model_new((fe_arch)found, maxn, 0, err);
    if (m && fe_model_from_npz(m, &z, err)) {
        fe_model_free(m);
        m = NULL;
    }
    npz_free(&z);
    return m;
}
