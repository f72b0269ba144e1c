/* batchnorm.c - BatchNorm2d over [C][M], PyTorch semantics: training mode
 * normalises with the biased batch variance and updates running_var with the
 * unbiased one; eval mode uses the running statistics.  Per-channel sums are
 * accumulated in double, in 8 interleaved partial sums (element i into partial
 * i mod 8, the partials added in order at the end): a fixed order, so results
 * do not depend on the thread count or the CPU, and 8 independent chains that
 * the vector units run side by side where one chain would wait on every add. */
#include <math.h>
#include "clones.h"
#include "layers.h"

#define NP 8

static double add_partials(const double *p)
{
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

FE_CLONES
double bn_sum(int64_t m, const float *x)
{
    double p[NP] = {0};
    int64_t i = 0;
    for (; i + NP <= m; i += NP)
        for (int k = 0; k < NP; k++)
            p[k] += x[i + k];
    for (int k = 0; i < m; i++, k++)
        p[k] += x[i];
    return add_partials(p);
}

FE_CLONES
double bn_sqdev(int64_t m, const float *x, double mean)
{
    double p[NP] = {0};
    int64_t i = 0;
    for (; i + NP <= m; i += NP)
        for (int k = 0; k < NP; k++) {
            const double d = x[i + k] - mean;
            p[k] += d * d;
        }
    for (int k = 0; i < m; i++, k++) {
        const double d = x[i] - mean;
        p[k] += d * d;
    }
    return add_partials(p);
}

FE_CLONES
void bn_dsums(int64_t m, const float *x, const float *dy, double mean, double invstd, double *sdy,
              double *sdyx)
{
    double p[NP] = {0}, q[NP] = {0};
    int64_t i = 0;
    for (; i + NP <= m; i += NP)
        for (int k = 0; k < NP; k++) {
            const double xh = (x[i + k] - mean) * invstd;
            p[k] += dy[i + k];
            q[k] += dy[i + k] * xh;
        }
    for (int k = 0; i < m; i++, k++) {
        const double xh = (x[i] - mean) * invstd;
        p[k] += dy[i];
        q[k] += dy[i] * xh;
    }
    *sdy = add_partials(p);
    *sdyx = add_partials(q);
}

/* (Four loops, not one with tests in it, so that each vectorises plainly.) */
FE_CLONES
void bn_affine(int64_t m, const float *x, float fm, float a, float b, const bn_post *post, int c,
               float *y)
{
    const float *res = post && post->res ? post->res + (size_t)c * m : NULL;
    const int relu = post && post->relu;
    if (res && relu)
        for (int64_t i = 0; i < m; i++) {
            const float v = ((x[i] - fm) * a + b) + res[i];
            y[i] = v > 0.0f ? v : 0.0f;
        }
    else if (res)
        for (int64_t i = 0; i < m; i++)
            y[i] = ((x[i] - fm) * a + b) + res[i];
    else if (relu)
        for (int64_t i = 0; i < m; i++) {
            const float v = (x[i] - fm) * a + b;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    else
        for (int64_t i = 0; i < m; i++)
            y[i] = (x[i] - fm) * a + b;
}

FE_CLONES
void bn_dx(int64_t m, const float *x, const float *dy, float fm, float a, float mdy, float k,
           float *dx)
{
    for (int64_t i = 0; i < m; i++)
        dx[i] = a * (dy[i] - mdy - (x[i] - fm) * k);
}

void bn_forward_train(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                      const float *beta, float *y, float *save_mean, float *save_invstd,
                      float *run_mean, float *run_var, int64_t *nbt, const bn_post *post)
{
    const float mom = g->momentum;
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < g->c; c++) {
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        double mean = bn_sum(m, xc) / (double)m;
        double var = bn_sqdev(m, xc, mean) / (double)m;
        double invstd = 1.0 / sqrt(var + g->eps);
        /* (x - mean) * a + beta, not x * a + b': conv outputs often have a mean far
         * larger than their spread, and folding the mean into b' loses the digits */
        const float a = (float)(gamma[c] * invstd), fm = (float)mean, b = beta[c];
        bn_affine(m, xc, fm, a, b, post, c, yc);
        save_mean[c] = (float)mean;
        save_invstd[c] = (float)invstd;
        double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
        run_mean[c] = (1.0f - mom) * run_mean[c] + mom * (float)mean;
        run_var[c] = (1.0f - mom) * run_var[c] + mom * (float)unbiased;
    }
    if (nbt)
        (*nbt)++;
}

void bn_forward_eval(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                     const float *beta, const float *run_mean, const float *run_var, float *y,
                     const bn_post *post)
{
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < g->c; c++) {
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        double invstd = 1.0 / sqrt((double)run_var[c] + g->eps);
        const float a = (float)(gamma[c] * invstd), fm = run_mean[c], b = beta[c];
        bn_affine(m, xc, fm, a, b, post, c, yc);
    }
}

void bn_backward_train(const bn_geom *g, int64_t m, const float *x, const float *dy,
                       const float *gamma, const float *save_mean, const float *save_invstd,
                       float *dx, float *dgamma, float *dbeta)
{
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < g->c; c++) {
        const float *xc = x + (size_t)c * m, *dyc = dy + (size_t)c * m;
        float *dxc = dx + (size_t)c * m;
        const double mean = save_mean[c], invstd = save_invstd[c];
        double sdy, sdyx;
        bn_dsums(m, xc, dyc, mean, invstd, &sdy, &sdyx);
        if (dgamma)
            dgamma[c] = (float)sdyx;
        if (dbeta)
            dbeta[c] = (float)sdy;
        /* dx = gamma*invstd * (dy - sdy/m - xhat * sdyx/m) */
        const float a = (float)(gamma[c] * invstd);
        const float mdy = (float)(sdy / (double)m);
        const float k = (float)(sdyx / (double)m * invstd);   /* per (x - mean) */
        bn_dx(m, xc, dyc, (float)mean, a, mdy, k, dxc);
    }
}

void bn_backward_eval(const bn_geom *g, int64_t m, const float *x, const float *dy,
                      const float *gamma, const float *run_mean, const float *run_var, float *dx,
                      float *dgamma, float *dbeta)
{
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < g->c; c++) {
        const double invstd = 1.0 / sqrt((double)run_var[c] + g->eps);
        const float a = (float)(gamma[c] * invstd);
        const float *dyc = dy + (size_t)c * m, *xc = x + (size_t)c * m;
        float *dxc = dx + (size_t)c * m;
        for (int64_t i = 0; i < m; i++)
            dxc[i] = dyc[i] * a;
        if (dgamma || dbeta) {
            double sdy, sdyx;      /* sum dy, sum dy * (x - run_mean) */
            bn_dsums(m, xc, dyc, run_mean[c], 1.0, &sdy, &sdyx);
            if (dgamma)
                dgamma[c] = (float)(sdyx * invstd);
            if (dbeta)
                dbeta[c] = (float)sdy;
        }
    }
}
