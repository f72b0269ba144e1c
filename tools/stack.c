/* stack - concatenate .npy arrays along their first axis.
 * They share dtype and trailing shape: a 3-D [C,H,W] per epoch becomes one
 * [E*C,H,W] stack for heatmap to tile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fe.h"
#include "io.h"
#include "npy.h"

#define PROG "stack"

static void usage(FILE *f)
{
    fprintf(f,
"usage: stack [-o OUT.npy] A.npy B.npy ...\n"
"\n"
"Concatenates arrays along their first axis (all must share dtype and the other\n"
"dimensions); writes .npy to -o or stdout (never to a terminal).\n"
"\n"
"  -h, --help    show this help and exit; --version: the version\n"
"\n"
"  stack -o maps.npy conv1-e0.npy conv1-e1.npy && heatmap --cols 6 maps.npy -o maps.png\n");
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    int first = 1;
    fe_help_or_version(argc, argv, PROG, usage);
    if (argc > 2 && !strcmp(argv[1], "-o")) {
        out = argv[2];
        first = 3;
    }
    if (first >= argc)
        fe_usage_error(PROG, "no input arrays");
    for (int i = first; i < argc; i++)
        if (argv[i][0] == '-')
            fe_usage_error(PROG, "unexpected option '%s' (-o goes first)", argv[i]);
    int n = argc - first;
    fe_tensor *t = fe_xcalloc((size_t)n, sizeof *t);
    fe_err err;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const char *p = argv[first + i];
        if (npy_load(p, &t[i], &err))
            fe_die(PROG, p, "%s", err.msg);
        if (t[i].ndim < 1)
            fe_die(PROG, p, "a scalar cannot be stacked");
        int same = t[i].dtype == t[0].dtype && t[i].ndim == t[0].ndim;
        for (int d = 1; same && d < t[0].ndim; d++)
            same = t[i].shape[d] == t[0].shape[d];
        if (!same)
            fe_die(PROG, p, "dtype or trailing shape differs from %s", argv[first]);
        total += t[i].shape[0];
    }
    fe_tensor r;
    int64_t shape[FE_MAXDIM];
    memcpy(shape, t[0].shape, sizeof shape);
    shape[0] = total;
    if (fe_tensor_alloc(&r, t[0].dtype, t[0].ndim, shape))
        fe_die(PROG, argv[first], "out of memory");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy((char *)r.data + off, t[i].data, fe_nbytes(&t[i]));
        off += fe_nbytes(&t[i]);
        fe_tensor_free(&t[i]);
    }
    if (npy_save(out, &r, &err))
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    fe_tensor_free(&r);
    free(t);
    return 0;
}
