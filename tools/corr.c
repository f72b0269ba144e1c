/* corr - the Pearson correlation of two matrices' entries: the CNFA statistic.
 * Each matrix minus its mean entry, then the cosine of the two; printed as one number. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "fe.h"
#include "io.h"
#include "npy.h"

#define PROG "corr"

static void usage(FILE *f)
{
    fprintf(f,
"usage: corr A.npy B.npy\n"
"\n"
"Prints the Pearson correlation of the entries of two arrays of the same shape\n"
"(each minus its mean entry, then cosine similarity): the statistic of the\n"
"Convolutional Neural Feature Ansatz, e.g. corr(NFM, AGOP). One of the two may\n"
"be - for stdin.\n"
"\n"
"  -h, --help    show this help and exit; --version: the version\n"
"\n"
"  corr nfm.npy agop.npy\n");
}

static void load(const char *path, fe_tensor *t)
{
    fe_err err;
    fe_tensor raw;
    const char *name = fe_name_in(path);
    if (npy_load(path, &raw, &err))
        fe_die(PROG, name, "%s", err.msg);
    if (fe_tensor_to_f32(&raw, t))
        fe_die(PROG, name, "cannot convert %s to float32", fe_dtype_name(raw.dtype));
    fe_tensor_free(&raw);
    const float *x = t->data;
    for (int64_t i = 0; i < fe_numel(t); i++)
        if (!isfinite(x[i]))
            fe_die(PROG, name, "entry %lld is not finite", (long long)i);
}

int main(int argc, char **argv)
{
    fe_help_or_version(argc, argv, PROG, usage);
    if (argc != 3 || (argv[1][0] == '-' && argv[1][1]) || (argv[2][0] == '-' && argv[2][1]))
        fe_usage_error(PROG, "need exactly two arrays");
    if (!strcmp(argv[1], "-") && !strcmp(argv[2], "-"))
        fe_usage_error(PROG, "only one input can be stdin");
    fe_tensor a, b;
    load(argv[1], &a);
    load(argv[2], &b);
    int same = a.ndim == b.ndim;
    for (int i = 0; same && i < a.ndim; i++)
        same = a.shape[i] == b.shape[i];
    if (!same)
        fe_die(PROG, argv[2], "shape differs from %s's", argv[1]);
    const int64_t n = fe_numel(&a);
    if (n < 2)
        fe_die(PROG, argv[1], "need at least two entries");
    const float *x = a.data, *y = b.data;
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx == 0 || syy == 0)
        fe_die(PROG, sxx == 0 ? argv[1] : argv[2], "all entries are equal: correlation undefined");
    printf("%.6f\n", sxy / sqrt(sxx * syy));
    fe_stdout_flush_or_die(PROG);
    fe_tensor_free(&a);
    fe_tensor_free(&b);
    return 0;
}
