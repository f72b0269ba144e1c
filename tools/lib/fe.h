/* fe.h - error reporting shared by every featevo library function.
 *
 * No global state: a function that can fail takes an fe_err* and, on failure,
 * writes a one-line reason into it and returns -1.  The program prints
 * "tool: file: reason" (see fe_die in util.c). */
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

/* Print "prog: what: fmt..." to stderr and exit(1). */
_Noreturn void fe_die(const char *prog, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* malloc/calloc that die with a message on failure (prog names the tool). */
void *fe_xmalloc(size_t n);
void *fe_xcalloc(size_t n, size_t size);

#endif
