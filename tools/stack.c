/* stack - concatenate .npy arrays along their first axis.
 * They share dtype and trailing shape: a 3-D [C,H,W] per epoch becomes one
 * [E*C,H,W] stack for heatmap to tile. */
#include <stdint.h>
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
"usage: stack [-o OUT.npy] A.npy [B.npy ...]\n"
"\n"
"Concatenates arrays along their first axis (all must share dtype and the other\n"
"dimensions); writes .npy to -o or stdout (never to a terminal). Options and\n"
"inputs may come in any order.\n"
"\n"
"  -o, --output OUT  write here (atomically); '-' or none: standard output\n"
"  -h, --help        show this help and exit; --version: the version\n"
"\n"
"  stack -o maps.npy conv1-e000.npy conv1-e001.npy\n"
"  heatmap --cols 6 --per-tile -o maps.png maps.npy\n");
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    static const struct option opts[] = {{"output", 1, 0, 'o'}, FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "o:h", opts, usage};
    int c;
    while ((c = fe_cli_next(&cl, argc, argv)) != -1)
        if (c == 'o') {
            if (out)
                fe_usage_error(PROG, "option -o given twice");
            out = optarg;
        }
    const int first = optind;
    if (first >= argc)
        fe_usage_error(PROG, "no input arrays");
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
        if (!same) {
            char a[80], b[80];
            fe_die(PROG, p, "%s %s, but %s is %s %s: the dtype and every dimension but the "
                   "first must agree", fe_dtype_name(t[i].dtype), fe_shape_str(&t[i], a, sizeof a),
                   argv[first], fe_dtype_name(t[0].dtype), fe_shape_str(&t[0], b, sizeof b));
        }
        if (t[i].shape[0] > INT64_MAX - total) {
            char a[80];
            fe_die(PROG, p, "%s: the stack's first dimension would pass 2^63",
                   fe_shape_str(&t[i], a, sizeof a));
        }
        total += t[i].shape[0];
    }
    fe_tensor r;
    int64_t shape[FE_MAXDIM];
    memcpy(shape, t[0].shape, sizeof shape);
    shape[0] = total;
    int64_t numel;
    if (fe_shape_numel(t[0].ndim, shape, fe_dtype_size(t[0].dtype), &numel)) {
        char a[80];
        fe_tensor all = t[0];
        memcpy(all.shape, shape, sizeof shape);
        fe_die(PROG, argv[first], "the stack would be %s %s: more bytes than memory can address",
               fe_dtype_name(t[0].dtype), fe_shape_str(&all, a, sizeof a));
    }
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
