/* fe.h - error reporting shared by every featevo library function.
 *
 * No global state: a function that can fail takes an fe_err* and, on failure,
 * writes a one-line reason into it and returns -1.  The program prints
 * "tool: file: reason" (see fe_die in util.c).
 *
 * The one process-wide mutable state, deliberate: io.c's registry of the
 * temporary files of open outputs (64 slots), with the atexit function and the
 * SIGINT/SIGTERM/SIGHUP/SIGPIPE/SIGXFSZ handlers (installed by the first
 * fe_out_open, only for signals whose action is the default) that remove them
 * (io.h).
 *
 * The library (tools/lib, tools/nn) returns its errors; it does not exit, and it
 * never prints a program's name of its own.  The exceptions, all deliberate:
 *   fe_die               below: for the programs, which call it; nothing in
 *                        tools/lib or tools/nn does (but see below);
 *   fe_xmalloc/fe_xcalloc  below: out of memory for a buffer the caller cannot do
 *                        without, "featevo: out of memory ..." and exit 1;
 *   fe_comm_open and the sums and barrier of comm_mpi.c (comm.h): a failure of MPI
 *                        ends every rank (MPI_Abort) with "PROG: MPI: ...", PROG
 *                        being the name the tool passed to fe_comm_open;
 *   the abort() at the end of tools/nn/gemm_bf16.c's fe_gemm_bf16: an assertion,
 *                        reached only when a caller skipped fe_bf16_supported().
 * The helpers that exit on a tool's behalf
 * (fe_stdout_flush_or_die, fe_load_images, fe_model_layer_or_die, ...) are in
 * tools/cli, the layer between the programs and this library. */
#ifndef FE_H
#define FE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char msg[512];
} fe_err;

/* printf-style: set err->msg (err may be NULL). Always returns -1. */
int fe_fail(fe_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "prog: what: fmt..." to stderr and exit(1).  For the tools. */
_Noreturn void fe_die(const char *prog, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* malloc/calloc that exit with "featevo: out of memory ..." on failure. */
void *fe_xmalloc(size_t n);
void *fe_xcalloc(size_t n, size_t size);

/* Read up to want bytes with rd into a new malloc'd buffer (*out, free it) that grows
 * with what arrives (1 MiB, then doubling, never past want), so a huge want over a
 * short input allocates only about what is there.  rd reads up to n bytes into dst and
 * sets *got; fewer than n means the input ended, and then *got < want here.  The
 * .npy stream reader and zin's inflate share it. */
typedef int (*fe_read_fn)(void *ctx, void *dst, size_t n, size_t *got, fe_err *err);
int fe_read_grow(fe_read_fn rd, void *ctx, size_t want, uint8_t **out, size_t *got,
                 fe_err *err);

#endif
