/* batchnorm.c - BatchNorm2d over [C][M], PyTorch semantics: training mode
 * normalises with the biased batch variance and updates running_var with the
 * unbiased one; eval mode uses the running statistics.  Per-channel sums are
 * accumulated in double. */
#include <math.h>
#include "layers.h"

void bn_forward_train(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                      const float *beta, float *y, float *save_mean, float *save_invstd,
                      float *run_mean, float *run_var, int64_t *nbt)
{
    const float mom = g->momentum;
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < g->c; c++) {
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        double s = 0;
        for (int64_t i = 0; i < m; i++)
            s += xc[i];
        double mean = s / (double)m, v = 0;
        for (int64_t i = 0; i < m; i++) {
            double d = xc[i] - mean;
            v += d * d;
        }
        double var = v / (double)m;
        double invstd = 1.0 / sqrt(var + g->eps);
        /* (x - mean) * a + beta, not x * a + b': conv outputs often have a mean far
         * larger than their spread, and folding the mean into b' loses the digits */
        const float a = (float)(gamma[c] * invstd), fm = (float)mean, b = beta[c];
        for (int64_t i = 0; i < m; i++)
            yc[i] = (xc[i] - fm) * a + b;
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
                     const float *beta, const float *run_mean, const float *run_var, float *y)
{
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < g->c; c++) {
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        double invstd = 1.0 / sqrt((double)run_var[c] + g->eps);
        const float a = (float)(gamma[c] * invstd), fm = run_mean[c], b = beta[c];
        for (int64_t i = 0; i < m; i++)
            yc[i] = (xc[i] - fm) * a + b;
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
        double sdy = 0, sdyx = 0;
        for (int64_t i = 0; i < m; i++) {
            double xh = (xc[i] - mean) * invstd;
            sdy += dyc[i];
            sdyx += dyc[i] * xh;
        }
        if (dgamma)
            dgamma[c] = (float)sdyx;
        if (dbeta)
            dbeta[c] = (float)sdy;
        /* dx = gamma*invstd * (dy - sdy/m - xhat * sdyx/m) */
        const float a = (float)(gamma[c] * invstd);
        const float mdy = (float)(sdy / (double)m);
        const float k = (float)(sdyx / (double)m * invstd);   /* per (x - mean) */
        const float fm = (float)mean;
        for (int64_t i = 0; i < m; i++)
            dxc[i] = a * (dyc[i] - mdy - (xc[i] - fm) * k);
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
            double sdy = 0, sdyx = 0;
            for (int64_t i = 0; i < m; i++) {
                sdy += dyc[i];
                sdyx += dyc[i] * ((double)xc[i] - run_mean[c]);
            }
            if (dgamma)
                dgamma[c] = (float)(sdyx * invstd);
            if (dbeta)
                dbeta[c] = (float)sdy;
        }
    }
}
