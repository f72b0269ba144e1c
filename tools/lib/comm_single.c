/* comm_single.c - fe_comm for a build without MPI: one process, nothing to add. */
#include "comm.h"

void fe_comm_open(const char *prog, int *argc, char ***argv, fe_comm *c)
{
    (void)prog, (void)argc, (void)argv;
    fe_comm_local(c, "built without MPI");
}

void fe_comm_close(fe_comm *c) { (void)c; }
int fe_comm_is_mpi(void) { return 0; }
