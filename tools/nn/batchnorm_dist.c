/* batchnorm_dist.c - BatchNorm2d training mode when the batch is split over
 * the ranks of a data-parallel run (train under mpirun): the statistics are of
 * the whole batch, as in one process.  The same two passes as batchnorm.c
 * (mean, then the mean squared deviation from it), each per-channel sum in
 * double, added over the ranks (comm.h: in rank order) before it is used:
 *   forward:  sum x and the count;  then sum (x - mean)^2
 *   backward: sum dy and sum dy * xhat
 * Eval mode needs no communication (bn_forward_eval). */
#include <math.h>
#include <stdlib.h>
#include "comm.h"
#include "layers.h"

void bn_forward_train_dist(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                           const float *beta, float *y, float *save_mean, float *save_invstd,
                           float *run_mean, float *run_var, int64_t *nbt, const bn_post *post,
                           const fe_comm *comm, double *buf)
{
    const int C = g->c;
    const float mom = g->momentum;
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        buf[c] = bn_sum(m, x + (size_t)c * m);
    }
    buf[C] = (double)m;
    comm->sum_f64(comm, buf, (size_t)C + 1);
    const double M = buf[C];
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        buf[C + 1 + c] = bn_sqdev(m, x + (size_t)c * m, buf[c] / M);
    }
    comm->sum_f64(comm, buf + C + 1, (size_t)C);
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        const double mean = buf[c] / M, var = buf[C + 1 + c] / M;
        const double invstd = 1.0 / sqrt(var + g->eps);
        const float a = (float)(gamma[c] * invstd), fm = (float)mean, b = beta[c];
        bn_affine(m, xc, fm, a, b, post, c, yc);
        save_mean[c] = (float)mean;
        save_invstd[c] = (float)invstd;
        const double unbiased = M > 1 ? var * M / (M - 1) : var;
        run_mean[c] = (1.0f - mom) * run_mean[c] + mom * (float)mean;
        run_var[c] = (1.0f - mom) * run_var[c] + mom * (float)unbiased;
    }
    if (nbt)
        (*nbt)++;
}

void bn_backward_train_dist(const bn_geom *g, int64_t m, const float *x, const float *dy,
                            const float *gamma, const float *save_mean, const float *save_invstd,
                            float *dx, float *dgamma, float *dbeta, const fe_comm *comm,
                            double *buf)
{
    const int C = g->c;
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * m, *dyc = dy + (size_t)c * m;
        double sdy, sdyx;
        bn_dsums(m, xc, dyc, save_mean[c], save_invstd[c], &sdy, &sdyx);
        buf[2 * c] = sdy;
        buf[2 * c + 1] = sdyx;
        /* this rank's part of the weight gradients: train adds them over the
         * ranks with every other gradient */
        if (dgamma)
            dgamma[c] = (float)sdyx;
        if (dbeta)
            dbeta[c] = (float)sdy;
    }
    buf[2 * C] = (double)m;
    comm->sum_f64(comm, buf, (size_t)2 * C + 1);
    const double M = buf[2 * C];
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * m, *dyc = dy + (size_t)c * m;
        float *dxc = dx + (size_t)c * m;
        const double invstd = save_invstd[c], sdy = buf[2 * c], sdyx = buf[2 * c + 1];
        const float a = (float)(gamma[c] * invstd);
        const float mdy = (float)(sdy / M);
        const float k = (float)(sdyx / M * invstd);
        bn_dx(m, xc, dyc, save_mean[c], a, mdy, k, dxc);
    }
}
