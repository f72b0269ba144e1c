/* comm_single.c - fe_comm for a build without MPI: one process, nothing to add. */
#include <stdio.h>
#include "comm.h"

static void sum_f64(const fe_comm *c, double *buf, size_t n) { (void)c, (void)buf, (void)n; }
static void sum_f32(const fe_comm *c, float *buf, size_t n) { (void)c, (void)buf, (void)n; }
static void barrier(const fe_comm *c) { (void)c; }
static double seconds(const fe_comm *c) { (void)c; return 0; }

void fe_comm_open(int *argc, char ***argv, fe_comm *c)
{
    (void)argc, (void)argv;
    *c = (fe_comm){.rank = 0, .size = 1, .sum_f64 = sum_f64, .sum_f32 = sum_f32,
                   .barrier = barrier, .seconds = seconds};
    snprintf(c->name, sizeof c->name, "one process (built without MPI)");
}

void fe_comm_close(fe_comm *c) { (void)c; }
int fe_comm_is_mpi(void) { return 0; }
