/* util.c - error reporting and checked allocation (fe.h). */
#include "fe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int fe_fail(fe_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

_Noreturn void fe_die(const char *prog, const char *what, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    if (prog && *prog)
        fprintf(stderr, "%s: ", prog);
    if (what && *what)
        fprintf(stderr, "%s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static _Noreturn void oom(size_t n)
{
    fprintf(stderr, "featevo: out of memory (could not allocate %zu bytes)\n", n);
    exit(1);
}

void *fe_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *fe_xcalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        oom(SIZE_MAX);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}
