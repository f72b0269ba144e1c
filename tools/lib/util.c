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

int fe_read_grow(fe_read_fn rd, void *ctx, size_t want, uint8_t **out, size_t *got,
                 fe_err *err)
{
    const size_t chunk = (size_t)1 << 20;
    *out = NULL;
    *got = 0;
    size_t cap = want < chunk ? want : chunk;
    uint8_t *b = malloc(cap ? cap : 1);
    if (!b)
        return fe_fail(err, "out of memory");
    size_t n = 0;
    while (n < want) {
        if (n == cap) {
            size_t ncap = cap > want / 2 ? want : cap * 2;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                free(b);
                return fe_fail(err, "out of memory (%zu bytes)", ncap);
            }
            b = nb;
            cap = ncap;
        }
        size_t req = cap - n, r;
        if (rd(ctx, b + n, req, &r, err) != 0) {
            free(b);
            return -1;
        }
        n += r;
        if (r < req)  /* end of input */
            break;
    }
    *out = b;
    *got = n;
    return 0;
}
