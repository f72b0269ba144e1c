/* builder.c - a model's arenas, planned by running its description twice
 * (builder.h): the first pass counts floats, parameters, layers and scratch,
 * the second hands out pointers into the arenas allocated in between. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builder.h"

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }    /* 64-byte alignment */

static float *take(float *base, size_t *used, size_t n)
{
    float *p = base ? base + *used : NULL;
    *used += round16(n);
    return p;
}

float *fe_b_act(fe_builder *b, size_t n)
{
    if (n > b->maxact)
        b->maxact = n;
    return take(b->m->acts, &b->nacts, n);
}

/* Copy name into dst of size len; one that does not fit is cut and noted (fe_build
 * then refuses the model, naming it). */
static void set_name(fe_builder *b, char *dst, size_t size, const char *name)
{
    const size_t len = strlen(name);
    if (len >= size && !b->long_name[0])
        snprintf(b->long_name, sizeof b->long_name, "%.40s...: longer than %zu characters", name,
                 size - 1);
    memcpy(dst, name, len < size ? len : size - 1);
    dst[len < size ? len : size - 1] = 0;
}

/* A state_dict entry: counted in the first pass, filled in the second (the
 * first pass's count sized m->p).  The first pass's entry is a throwaway. */
static fe_param *reg(fe_builder *b, const char *name, int ndim, const int64_t *shape)
{
    fe_param *p = b->assign ? &b->m->p[b->np] : &b->counted;
    b->np++;
    memset(p, 0, sizeof *p);
    set_name(b, p->name, sizeof p->name, name);
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
               int pad, int h, int w, int flags)
{
    char key[96];
    const int bias = flags & FE_CONV_BIAS;
    set_name(b, c->name, sizeof c->name, name);
    conv_geom_init(&c->g, cin, cout, k, stride, pad, h, w);
    c->g.bx = b->blocked && !(flags & FE_CONV_PLAIN_IN);
    c->g.by = b->blocked;
    int64_t shape[4] = {cout, cin, k, k};
    snprintf(key, sizeof key, "%s.weight", name);
    c->w = trainable(b, key, 4, shape, &c->dw, cin * k * k, 1);
    c->b = c->db = NULL;
    if (bias) {
        snprintf(key, sizeof key, "%s.bias", name);
        c->b = trainable(b, key, 1, shape, &c->db, cin * k * k, 0);
    }
    c->y = fe_b_act(b, (size_t)cout * b->m->maxn * c->g.oh * c->g.ow);
    const fe_conv_algo *a = fe_conv_algo_select(&c->g, bias, &b->m->opts);
    c->algo = a;
    c->state = a->state_floats ? take(b->m->acts, &b->nacts, a->state_floats(&c->g)) : NULL;
    c->state_kept = 0;
    if (a->scratch_floats && a->scratch_floats(&c->g) > b->scratch_min)
        b->scratch_min = a->scratch_floats(&c->g);
    const size_t col = fe_conv_col_floats(&c->g, bias);
    if (col > b->col_min)
        b->col_min = col;
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
    if (c > b->maxbn)
        b->maxbn = c;
}

void fe_b_fc(fe_builder *b, fe_fc *f, const char *name, int in, int out)
{
    char key[96];
    set_name(b, f->name, sizeof f->name, name);
    f->in = in;
    f->out = out;
    int64_t shape[2] = {out, in};
    snprintf(key, sizeof key, "%s.weight", name);
    f->w = trainable(b, key, 2, shape, &f->dw, in, 0);
    snprintf(key, sizeof key, "%s.bias", name);
    f->b = trainable(b, key, 1, shape, &f->db, in, 0);
    f->y = fe_b_act(b, (size_t)out * b->m->maxn);
}

void fe_b_layer(fe_builder *b, fe_conv *conv, fe_fc *fc, float *post, int c, int h, int w)
{
    const int i = b->nlayers++;
    if (!b->assign)
        return;
    b->m->layers[i] = (fe_layer){.name = conv ? conv->name : fc->name, .conv = conv, .fc = fc,
                                 .post = post, .post_c = c, .post_h = h, .post_w = w};
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

static int blocked(const fe_model *m)
{
    const fe_model_opts *o = &m->opts;
    return (m->arch->caps & FE_CAP_BLOCKED) && !o->exact_conv && !o->plain_layout;
}

/* One pass over the description: the input, the model, the logits. */
static void pass(fe_builder *b, fe_model *m, int assign)
{
    *b = (fe_builder){.m = m, .assign = assign, .blocked = blocked(m)};
    m->input = fe_b_act(b, (size_t)m->maxn * FE_IMG * FE_IMG);
    m->arch->build(b);
    m->logits = fe_b_act(b, (size_t)FE_CLASSES * m->maxn);
    m->dlogits = fe_b_act(b, (size_t)FE_CLASSES * m->maxn);
}

fe_model *fe_build(const fe_arch *arch, int maxn, const fe_model_opts *opts, fe_err *err)
{
    fe_model *m = calloc(1, sizeof *m);
    if (!m || !(m->net = calloc(1, arch->net_size))) {
        free(m);
        fe_fail(err, "out of memory");
        return NULL;
    }
    m->arch = arch;
    m->opts = *opts;
    m->maxn = maxn;
    fe_builder b;
    pass(&b, m, 0);                                /* pass 1: count */
    if (b.long_name[0]) {
        fe_fail(err, "a name in the %s: %s", arch->name, b.long_name);
        fe_model_free(m);
        return NULL;
    }
    const size_t gs = round16(b.maxact), scratch = round16(b.scratch_min);
    /* 128 MiB of chunk scratch by default: the GEMMs of large chunks run nearer
     * peak (ResNet-18 at batch 512 on 2 cores: 80 img/s training and 246 eval with
     * 32 MiB, 91 and 303 with 128 MiB); never more than the whole batch needs. */
    size_t col = opts->col_floats ? opts->col_floats : (size_t)32 << 20;
    if (!opts->col_floats && col > b.col_min * (size_t)maxn)
        col = b.col_min * (size_t)maxn;
    /* at least one image, or in the blocked layout a block (conv_chunk) */
    const size_t least = b.col_min * (b.blocked ? (maxn < FE_NB ? (size_t)maxn : FE_NB) : 1);
    if (col < least)
        col = least;
    m->nparams = b.nparams;
    m->nbufs = b.nbufs;
    m->nacts = b.nacts + 4 * gs + col + scratch;
    m->np = b.np;
    m->nlayers = b.nlayers;
    m->params = aligned_alloc(64, sizeof(float) * m->nparams);
    m->grads = aligned_alloc(64, sizeof(float) * m->nparams);
    m->bufs = aligned_alloc(64, sizeof(float) * (m->nbufs ? m->nbufs : 16));
    m->acts = aligned_alloc(64, sizeof(float) * m->nacts);
    m->p = calloc((size_t)m->np + 1, sizeof *m->p);
    m->layers = calloc((size_t)m->nlayers + 1, sizeof *m->layers);
    m->comm_buf = calloc(2 * (size_t)b.maxbn + 2, sizeof *m->comm_buf);
    if (!m->params || !m->grads || !m->bufs || !m->acts || !m->p || !m->layers || !m->comm_buf) {
        fe_fail(err, "out of memory: %zu MiB for a %s of batch %d",
                sizeof(float) * (m->nparams * 2 + m->nbufs + m->nacts) >> 20, arch->name, maxn);
        fe_model_free(m);
        return NULL;
    }
    memset(m->params, 0, sizeof(float) * m->nparams);
    memset(m->grads, 0, sizeof(float) * m->nparams);
    memset(m->bufs, 0, sizeof(float) * m->nbufs);
    pass(&b, m, 1);                                /* pass 2: assign */
    m->blocked = b.blocked;
    float *s = m->acts + b.nacts;
    for (int i = 0; i < 4; i++)
        m->g[i] = s + i * gs;
    m->col = s + 4 * gs;
    m->col_cap = col;
    m->conv_scratch = scratch ? m->col + col : NULL;
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
    free(m->layers);
    free(m->comm_buf);
    free(m->net);
    free(m);
}
