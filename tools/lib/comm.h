/* comm.h - the processes of one data-parallel training run (train under mpirun).
 *
 * train is linked with one of two implementations of fe_comm_open:
 *   comm_mpi.c     when the build found Open MPI (mpicc): one process per MPI rank;
 *   comm_single.c  otherwise: always one process, size 1.
 * Both hand out the one-process fe_comm of comm_local.c (in the library) when
 * there is nobody else.  The layers reach the other ranks only through the
 * function pointers below, so the library itself never links against MPI.
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

/* Start (MPI_Init).  prog names the program in messages: on a failure of MPI,
 * here or in a later sum or barrier, "PROG: MPI: ..." is printed and every rank
 * ends with exit status 1 (the only exits of tools/lib besides util.c's: fe.h). */
void fe_comm_open(const char *prog, int *argc, char ***argv, fe_comm *c);
/* End (MPI_Finalize); after it, no other call. */
void fe_comm_close(fe_comm *c);
/* 1 when this build runs under MPI (comm_mpi.c), else 0. */
int fe_comm_is_mpi(void);
/* The one-process fe_comm: size 1, sums that leave their buffers as they are;
 * its name says "one process (WHY)". */
void fe_comm_local(fe_comm *c, const char *why);

#endif
