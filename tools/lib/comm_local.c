/* comm_local.c - the one-process fe_comm (comm.h): nothing to add, nobody to wait
 * for.  comm_single.c always hands it out; comm_mpi.c when no launcher started
 * the process. */
#include <stdio.h>
#include "comm.h"

static void sum_f64(const fe_comm *c, double *buf, size_t n) { (void)c, (void)buf, (void)n; }
static void sum_f32(const fe_comm *c, float *buf, size_t n) { (void)c, (void)buf, (void)n; }
static void barrier(const fe_comm *c) { (void)c; }
static double seconds(const fe_comm *c) { (void)c; return 0; }

void fe_comm_local(fe_comm *c, const char *why)
{
    *c = (fe_comm){.rank = 0, .size = 1, .sum_f64 = sum_f64, .sum_f32 = sum_f32,
                   .barrier = barrier, .seconds = seconds};
    snprintf(c->name, sizeof c->name, "one process (%s)", why);
}
