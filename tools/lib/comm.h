/* comm.h - the processes of one data-parallel training run (train under mpirun).
 *
 * train is linked with one of two implementations of fe_comm_open:
 *   comm_mpi.c     when the build found Open MPI (mpicc): one process per MPI rank;
 *   comm_single.c  otherwise: always one process, size 1.
 * The layers reach the other ranks only through the function pointers below,
 * so the library itself never links against MPI.
 *
 * Both sums are deterministic: every rank gets the same bits, the ranks' parts
 * added in rank order (0 + 1 + 2 ...) whatever the transport does, so the same
 * number of ranks gives the same result every time. */
#ifndef FE_COMM_H
#define FE_COMM_H

#include <stddef.h>

typedef struct fe_comm {
    int rank, size;
    /* buf[i] = the sum over the ranks of their buf[i], on every rank */
    void (*sum_f64)(const struct fe_comm *c, double *buf, size_t n);
    void (*sum_f32)(const struct fe_comm *c, float *buf, size_t n);
    void (*barrier)(const struct fe_comm *c);
    /* wall seconds spent in sum_f64 and sum_f32 so far (waiting for the other
     * ranks included): the cost of communication */
    double (*seconds)(const struct fe_comm *c);
    void *impl;                 /* the implementation's own state */
    char name[96];              /* e.g. "Open MPI, 2 ranks" or "one process" */
} fe_comm;

/* Start (MPI_Init); on failure prints "PROG: ..." and exits 1. */
void fe_comm_open(int *argc, char ***argv, fe_comm *c);
/* End (MPI_Finalize); after it, no other call. */
void fe_comm_close(fe_comm *c);
/* 1 when this build runs under MPI (comm_mpi.c), else 0. */
int fe_comm_is_mpi(void);

#endif
