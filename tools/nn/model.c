/* model.c - the generic core of the models (model.h): the table of models,
 * building in a mode, initialising, running, saving and loading.  The models'
 * own code is in lenet5.c and resnet18.c, the arenas in builder.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builder.h"
#include "esc.h"
#include "gemm_bf16.h"
#include "model.h"

const fe_arch *const fe_archs[] = {&fe_lenet5, &fe_resnet18, NULL};

const fe_arch *fe_arch_find(const char *name)
{
    for (int i = 0; fe_archs[i]; i++)
        if (!strcmp(fe_archs[i]->name, name))
            return fe_archs[i];
    return NULL;
}

const char *fe_arch_names(char *buf, size_t len, const char *sep)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; fe_archs[i] && used < len; i++)
        used += snprintf(buf + used, len - used, "%s%s", i ? sep : "", fe_archs[i]->name);
    return buf;
}

static const fe_model_opts default_opts = {.precision = FE_PREC_FP32};

int fe_arch_supports(const fe_arch *arch, const fe_model_opts *opts, fe_err *why)
{
    if (!opts || opts->precision == FE_PREC_FP32)
        return 0;
    if (!(arch->caps & FE_CAP_BF16)) {
        char with[256] = "";
        for (int i = 0, u = 0; fe_archs[i] && u < (int)sizeof with; i++)
            if (fe_archs[i]->caps & FE_CAP_BF16)
                u += snprintf(with + u, sizeof with - u, "%s%s", u ? ", " : "", fe_archs[i]->name);
        return fe_fail(why, "%s has no bf16 path, it trains in fp32 (bf16: %s)", arch->name, with);
    }
    if (!fe_bf16_supported())
        return fe_fail(why, "this CPU has no AVX512_BF16 (bfloat16 dot products)");
    return 0;
}

fe_model *fe_model_new(const fe_arch *arch, int maxn, const fe_model_opts *opts, fe_err *err)
{
    if (maxn < 1) {
        fe_fail(err, "batch size must be at least 1");
        return NULL;
    }
    if (fe_arch_supports(arch, opts, err))
        return NULL;
    return fe_build(arch, maxn, opts ? opts : &default_opts, err);
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
    m->arch->forward(m, n, training);
}

void fe_model_fix_weights(fe_model *m, int fixed)
{
    m->weights_fixed = fixed;
    for (int i = 0; i < m->nlayers; i++)        /* every conv is a named layer */
        if (m->layers[i].conv)
            m->layers[i].conv->state_kept = 0;
}

void fe_model_backward(fe_model *m, int param_grads, fe_hook *hook)
{
    if (hook)
        hook->called = 0;
    m->arch->backward(m, param_grads, hook);
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
                           m->arch->name);
        int ok = t->ndim == p->ndim;
        for (int d = 0; ok && d < p->ndim; d++)
            ok = t->shape[d] == p->shape[d];
        if (!ok)
            return fe_fail(err, "tensor '%s' has the wrong shape for a %s", p->name,
                           m->arch->name);
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
            if (!found) {
                fe_escbuf eb;      /* a name from the file */
                return fe_fail(err, "unexpected tensor '%s' for a %s (is this a checkpoint of "
                               "another model?)", fe_esc(&eb, z->e[i].name), m->arch->name);
            }
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

const fe_arch *fe_arch_detect(const npz_t *z)
{
    for (int i = 0; fe_archs[i]; i++) {
        int all = 1;
        for (int k = 0; all && fe_archs[i]->detect_keys[k]; k++)
            all = npz_get(z, fe_archs[i]->detect_keys[k]) != NULL;
        if (all)
            return fe_archs[i];
    }
    return NULL;
}

fe_model *fe_model_open(const char *ckpt, const fe_arch *want, int maxn, const fe_model_opts *opts,
                        fe_err *err)
{
    npz_t z = {0};
    if (npz_load(ckpt, &z, err))
        return NULL;
    const fe_arch *found = fe_arch_detect(&z);
    if (!found) {
        char names[256];
        npz_free(&z);
        fe_fail(err, "not a checkpoint of any model featevo knows (%s): none has all its keys",
                fe_arch_names(names, sizeof names, ", "));
        return NULL;
    }
    if (want && found != want) {
        npz_free(&z);
        fe_fail(err, "this is a %s checkpoint, not a %s one", found->name, want->name);
        return NULL;
    }
    fe_model *m = fe_model_new(found, maxn, opts, err);
    if (m && fe_model_from_npz(m, &z, err)) {
        fe_model_free(m);
        m = NULL;
    }
    npz_free(&z);
    return m;
}
