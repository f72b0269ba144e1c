/* optim.c - the two optimisers of the paper, written to follow torch.optim's
 * single-tensor code path operation by operation (float32 state, bias
 * corrections in double as Python computes them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "optim.h"

int fe_optim_init(fe_optim *o, fe_optim_kind kind, size_t n)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->n = n;
    o->momentum = 0.9;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->buf = calloc(n ? n : 1, sizeof(float));
    o->sq = kind == FE_ADAM ? calloc(n ? n : 1, sizeof(float)) : NULL;
    return (!o->buf || (kind == FE_ADAM && !o->sq)) ? -1 : 0;
}

void fe_optim_free(fe_optim *o)
{
    free(o->buf);
    free(o->sq);
    o->buf = o->sq = NULL;
}

void fe_optim_reset(fe_optim *o)
{
    memset(o->buf, 0, sizeof(float) * o->n);
    if (o->sq)
        memset(o->sq, 0, sizeof(float) * o->n);
    o->step = 0;
}

void fe_optim_step(fe_optim *o, float *w, const float *grad)
{
    const float wd = (float)o->weight_decay, lr = (float)o->lr;
    o->step++;
    if (o->kind == FE_SGD) {
        /* d_p = grad + wd*w; buf = d_p on the first step, else momentum*buf + d_p */
        const float mom = (float)o->momentum;
        const int first = o->step == 1;
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < o->n; i++) {
            float d = wd != 0.0f ? grad[i] + wd * w[i] : grad[i];
            float b = mom != 0.0f ? (first ? d : o->buf[i] * mom + d) : d;
            o->buf[i] = b;
            w[i] -= lr * b;
        }
        return;
    }
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    const double bc1 = 1.0 - pow(o->beta1, (double)o->step);
    const double bc2 = 1.0 - pow(o->beta2, (double)o->step);
    const float step_size = (float)(o->lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < o->n; i++) {
        float g = wd != 0.0f ? grad[i] + wd * w[i] : grad[i];
        float m = o->buf[i] * b1 + (1.0f - b1) * g;
        float v = o->sq[i] * b2 + (1.0f - b2) * g * g;
        o->buf[i] = m;
        o->sq[i] = v;
        float denom = sqrtf(v) / bc2_sqrt + eps;
        w[i] -= step_size * (m / denom);
    }
}
