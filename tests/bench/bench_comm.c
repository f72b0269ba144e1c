/* bench_comm.c - the cost of train's cross-rank sums (tools/lib/comm_mpi.c) on
 * this machine, without any training around them:
 *   mpirun -np R build/release/tests/bench_comm [--floats N] [--reps K]
 * times, on rank 0, the gradient sum (N floats, default ResNet-18's 11,172,816)
 * and one step's batch-norm sums (ResNet-18: 20 layers x (forward 2 + backward 1)
 * sums of up to 1,025 doubles), best of K repetitions after a warm-up.  Output:
 * one line of key=value pairs; bench.sh prints it beside the training numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "comm.h"

int main(int argc, char **argv)
{
    long n = 11172816, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--floats")) n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atol(argv[i + 1]);
        else { fprintf(stderr, "bench_comm: unknown option %s\n", argv[i]); return 2; }
    }
    if (n < 1 || reps < 1) {
        fprintf(stderr, "bench_comm: bad arguments\n");
        return 2;
    }
    fe_comm c;
    fe_comm_open("bench_comm", &argc, &argv, &c);
    float *g = malloc(sizeof(float) * n);
    double bn[2 * 512 + 2];
    if (!g)
        return 1;
    for (long i = 0; i < n; i++)
        g[i] = (float)(i % 1000) * 1e-3f;
    for (int i = 0; i < 2 * 512 + 2; i++)
        bn[i] = i;
    /* ResNet-18's BN layers: channels 64 (x5), 128 (x5), 256 (x5), 512 (x5) */
    static const int ch[20] = {64, 64, 64, 64, 64, 128, 128, 128, 128, 128,
                               256, 256, 256, 256, 256, 512, 512, 512, 512, 512};
    double best_g = 1e30, best_bn = 1e30;
    for (long r = 0; r <= reps; r++) {      /* r = 0: warm-up */
        c.barrier(&c);
        double t = fe_now();
        c.sum_f32(&c, g, (size_t)n);
        double tg = fe_now() - t;
        c.barrier(&c);
        t = fe_now();
        for (int l = 0; l < 20; l++) {
            c.sum_f64(&c, bn, (size_t)ch[l] + 1);
            c.sum_f64(&c, bn, (size_t)ch[l]);
            c.sum_f64(&c, bn, (size_t)2 * ch[l] + 1);
        }
        double tb = fe_now() - t;
        if (r && tg < best_g)
            best_g = tg;
        if (r && tb < best_bn)
            best_bn = tb;
    }
    if (c.rank == 0)
        printf("impl=featevo comm=\"%s\" ranks=%d gradient_floats=%ld gradient_sum_ms=%.1f "
               "gradient_GB_s=%.2f bn_sums_per_step=60 bn_sums_ms=%.2f\n", c.name, c.size, n,
               1e3 * best_g, c.size > 1 ? 2.0 * (c.size - 1) / c.size * n * 4 / best_g / 1e9 : 0,
               1e3 * best_bn);
    free(g);
    fe_comm_close(&c);
    return 0;
}
