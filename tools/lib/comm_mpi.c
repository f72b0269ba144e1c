/* comm_mpi.c - fe_comm over MPI (Debian's Open MPI), for train under mpirun.
 *
 * The sums are a reduce-scatter and an all-gather written out, not
 * MPI_Allreduce, whose order of additions the standard leaves to the library
 * (and Open MPI picks by message size and rank count): rank r receives every
 * rank's copy of the r-th of R slices (MPI_Alltoallv), adds them in rank order
 * 0, 1, ..., R-1, and the summed slices are gathered back on every rank
 * (MPI_Allgatherv).  So every rank holds the same bits, the same R gives the
 * same bits every run, and the traffic is 2 (R-1)/R of the buffer per rank, as
 * for a ring all-reduce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include "comm.h"

typedef struct {
    int *cnt, *off;             /* slice r: elements [off[r], off[r] + cnt[r]) */
    int *scnt, *soff, *rcnt, *roff;
    void *tmp;                  /* R slices received, grown as needed */
    size_t tmp_bytes;
    double seconds;             /* in the sums so far */
    const char *prog;           /* for messages (fe_comm_open's) */
} mpi_state;

static _Noreturn void die(const char *prog, const char *what, int rc)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "%s: MPI: %s: %s\n", prog, what, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

#define SUM_IMPL(NAME, T, MPIT)                                                                 \
    static void NAME(const fe_comm *c, T *buf, size_t n)                                        \
    {                                                                                           \
        const int R = c->size, me = c->rank;                                                    \
        if (R == 1 || n == 0)                                                                   \
            return;                                                                             \
        mpi_state *s = c->impl;                                                                 \
        if (n > (size_t)0x7fffffff)                                                             \
            die(s->prog, "buffer too large", MPI_ERR_COUNT);                                    \
        const double t0 = MPI_Wtime();                                                          \
        for (int r = 0; r < R; r++) {                                                           \
            s->off[r] = (int)(n * (size_t)r / (size_t)R);                                       \
            s->cnt[r] = (int)(n * (size_t)(r + 1) / (size_t)R) - s->off[r];                     \
        }                                                                                       \
        const int mine = s->cnt[me];                                                            \
        const size_t need = sizeof(T) * (size_t)mine * (size_t)R + 1;                           \
        if (need > s->tmp_bytes) {                                                              \
            free(s->tmp);                                                                       \
            s->tmp = malloc(need);                                                              \
            s->tmp_bytes = s->tmp ? need : 0;                                                   \
            if (!s->tmp)                                                                        \
                die(s->prog, "out of memory", MPI_ERR_NO_MEM);                                  \
        }                                                                                       \
        T *tmp = s->tmp;                                                                        \
        for (int r = 0; r < R; r++) {   /* send slice r to rank r; get my slice from each */    \
            s->scnt[r] = s->cnt[r];                                                             \
            s->soff[r] = s->off[r];                                                             \
            s->rcnt[r] = mine;                                                                  \
            s->roff[r] = r * mine;                                                              \
        }                                                                                       \
        int rc = MPI_Alltoallv(buf, s->scnt, s->soff, MPIT, tmp, s->rcnt, s->roff, MPIT,        \
                               MPI_COMM_WORLD);                                                 \
        if (rc != MPI_SUCCESS)                                                                  \
            die(s->prog, "MPI_Alltoallv", rc);                                                  \
        T *dst = buf + s->off[me];                                                              \
        for (int i = 0; i < mine; i++) {                                                        \
            T v = tmp[i];                                                                       \
            for (int r = 1; r < R; r++)                                                         \
                v += tmp[(size_t)r * mine + i];                                                 \
            dst[i] = v;                                                                         \
        }                                                                                       \
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPIT, buf, s->cnt, s->off, MPIT, MPI_COMM_WORLD);  \
        if (rc != MPI_SUCCESS)                                                                  \
            die(s->prog, "MPI_Allgatherv", rc);                                                 \
        s->seconds += MPI_Wtime() - t0;                                                         \
    }

SUM_IMPL(sum_f64, double, MPI_DOUBLE)
SUM_IMPL(sum_f32, float, MPI_FLOAT)

static void barrier(const fe_comm *c)
{
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        die(((const mpi_state *)c->impl)->prog, "MPI_Barrier", rc);
}

static double seconds(const fe_comm *c) { return ((const mpi_state *)c->impl)->seconds; }

void fe_comm_open(const char *prog, int *argc, char ***argv, fe_comm *c)
{
    /* Not started by mpirun (Open MPI), srun or another PMI launcher: one process,
     * without MPI_Init (whose singleton start would spawn a daemon for nothing). */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_SIZE")) {
        fe_comm_local(c, "not started by mpirun");
        return;
    }
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "%s: MPI: MPI_Init failed (%d)\n", prog, rc);
        exit(1);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    memset(c, 0, sizeof *c);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    mpi_state *s = calloc(1, sizeof *s);
    int *ints = calloc((size_t)6 * c->size, sizeof(int));
    if (!s || !ints)
        die(prog, "out of memory", MPI_ERR_NO_MEM);
    s->prog = prog;
    s->cnt = ints;
    s->off = ints + c->size;
    s->scnt = ints + 2 * c->size;
    s->soff = ints + 3 * c->size;
    s->rcnt = ints + 4 * c->size;
    s->roff = ints + 5 * c->size;
    c->impl = s;
    c->sum_f64 = sum_f64;
    c->sum_f32 = sum_f32;
    c->barrier = barrier;
    c->seconds = seconds;
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, ",\n")] = 0;
    snprintf(c->name, sizeof c->name, "%.60s, %d rank%s", lib, c->size, c->size == 1 ? "" : "s");
}

void fe_comm_close(fe_comm *c)
{
    mpi_state *s = c->impl;
    if (!s)
        return;                 /* one process: MPI was never started */
    free(s->tmp);
    free(s->cnt);
    free(s);
    c->impl = NULL;
    MPI_Finalize();
}

int fe_comm_is_mpi(void) { return 1; }
