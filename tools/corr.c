/* corr - the Pearson correlation of two matrices' entries: the CNFA statistic.
 * Each matrix minus its mean entry, then the cosine of the two; printed as one number.
 * With more arrays, the first against each of the others, on one line: the first is
 * read once (a 4608 x 4608 NFM from a pipe serves both of the pipeline's numbers). */
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
"usage: corr A.npy B.npy [C.npy ...]\n"
"\n"
"Prints the Pearson correlation of the entries of two arrays of the same shape\n"
"(each minus its mean entry, then cosine similarity): the statistic of the\n"
"Convolutional Neural Feature Ansatz, e.g. corr(NFM, AGOP). With more arrays,\n"
"corr(A, B), corr(A, C), ... on one line, separated by tabs. One of them may\n"
"be - for stdin.\n"
"\n"
"  -h, --help    show this help and exit; --version: the version\n"
"\n"
"  corr nfm.npy agop.npy\n"
"  snapshot --ckpt runs/quick-mnist/lenet5/epoch-004.npz --tensor conv1.weight |\n"
"    featmat | corr - agop.npy nfm000.npy\n");
}

static void load(const char *path, fe_tensor *t)
{
    fe_err err;
    fe_tensor raw;
    const char *name = fe_name_in(path);
    if (npy_load(path, &raw, &err))
        fe_die(PROG, name, "%s", err.msg);
    if (raw.dtype == FE_F32)
        *t = raw;               /* no copy: the arrays may be 85 MB */
    else {
        if (fe_tensor_to_f32(&raw, t))
            fe_die(PROG, name, "cannot convert %s to float32", fe_dtype_name(raw.dtype));
        fe_tensor_free(&raw);
    }
    const float *x = t->data;
    for (int64_t i = 0; i < fe_numel(t); i++)
        if (!isfinite(x[i]))
            fe_die(PROG, name, "entry %lld is not finite", (long long)i);
}

/* The mean entry of x[0..n-1] and the sum of squared deviations from it. */
static void moments(const float *x, int64_t n, double *mean, double *ss)
{
    double m = 0, s = 0;
    for (int64_t i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (int64_t i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    *mean = m;
    *ss = s;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "h", opts, usage};
    while (fe_cli_next(&cl, argc, argv) != -1)
        ;
    argv += optind - 1;         /* the arrays: argv[1..argc-1] */
    argc -= optind - 1;
    if (argc < 3)
        fe_usage_error(PROG, "need at least two arrays");
    int stdin_uses = 0;
    for (int i = 1; i < argc; i++)
        stdin_uses += !strcmp(argv[i], "-");
    if (stdin_uses > 1)
        fe_usage_error(PROG, "only one input can be stdin");
    fe_tensor a;
    load(argv[1], &a);
    const int64_t n = fe_numel(&a);
    if (n < 2)
        fe_die(PROG, fe_name_in(argv[1]), "need at least two entries");
    const float *x = a.data;
    double mx, sxx;
    moments(x, n, &mx, &sxx);
    if (sxx == 0)
        fe_die(PROG, fe_name_in(argv[1]), "all entries are equal: correlation undefined");
    for (int k = 2; k < argc; k++) {
        fe_tensor b;
        load(argv[k], &b);
        int same = a.ndim == b.ndim;
        for (int i = 0; same && i < a.ndim; i++)
            same = a.shape[i] == b.shape[i];
        if (!same) {
            char sa[80], sb[80];
            fe_die(PROG, fe_name_in(argv[k]), "shape %s differs from %s's %s",
                   fe_shape_str(&b, sb, sizeof sb), fe_name_in(argv[1]), fe_shape_str(&a, sa, sizeof sa));
        }
        const float *y = b.data;
        double my, syy, sxy = 0;
        moments(y, n, &my, &syy);
        if (syy == 0)
            fe_die(PROG, fe_name_in(argv[k]), "all entries are equal: correlation undefined");
        for (int64_t i = 0; i < n; i++)
            sxy += (x[i] - mx) * (y[i] - my);
        printf("%s%.6f", k > 2 ? "\t" : "", sxy / sqrt(sxx * syy));
        fe_tensor_free(&b);
    }
    printf("\n");
    fe_stdout_flush_or_die(PROG);
    fe_tensor_free(&a);
    return 0;
}
