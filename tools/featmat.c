/* featmat - the neural feature matrix W^T W of a weight tensor (--gram: W W^T).
 *
 * W is reshaped to [out, rest]: a conv weight [o,i,k,k] becomes [o, i*k*k] with
 * the patch index (ci, kh, kw), a linear weight [o,i] stays.  Sums run in double
 * (OpenBLAS's dsyrk: a 512 x 4608 conv weight's 4608 x 4608 matrix in a fraction
 * of a second). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fe.h"
#include "io.h"
#include "npy.h"

#define PROG "featmat"

static void usage(FILE *f)
{
    fprintf(f,
"usage: featmat [--gram] [-o OUT.npy] [W.npy]\n"
"\n"
"The neural feature matrix of a weight tensor: W reshaped to [out, rest]\n"
"(conv [o,i,k,k] -> [o, i*k*k]; linear [o,i]), then W^T W ([rest, rest]),\n"
"or W W^T ([out, out]) with --gram. Reads stdin when no file is named; writes\n"
"float32 .npy to -o or stdout (never to a terminal).\n"
"\n"
"  -h, --help    show this help and exit; --version: the version\n"
"\n"
"  snapshot --ckpt runs/quick-mnist/resnet18/epoch-003.npz --tensor conv1.weight |\n"
"    featmat -o nfm.npy\n");
}

int main(int argc, char **argv)
{
    const char *out = NULL, *in = NULL;
    int gram = 0, c;
    static const struct option opts[] = {{"gram", 0, 0, 'g'}, {"output", 1, 0, 'o'},
                                         FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "go:h", opts, usage};
    while ((c = fe_cli_next(&cl, argc, argv)) != -1) {
        if (c == 'g')
            gram = 1;
        else if (c == 'o')
            out = optarg;
    }
    if (argc - optind > 1)
        fe_usage_error(PROG, "one input at most");
    if (optind < argc)
        in = argv[optind];
    const char *name = fe_name_in(in);
    fe_err err;
    fe_tensor w, w32;
    if (npy_load(in, &w, &err))
        fe_die(PROG, name, "%s", err.msg);
    if (w.ndim < 2)
        fe_die(PROG, name, "need a weight of at least 2 dimensions, got %d", w.ndim);
    if (fe_tensor_to_f32(&w, &w32))
        fe_die(PROG, name, "cannot convert %s to float32", fe_dtype_name(w.dtype));
    const int64_t rows = w.shape[0], cols = fe_numel(&w) / (rows ? rows : 1);
    if (rows < 1 || cols < 1)
        fe_die(PROG, name, "empty weight");
    const int64_t d = gram ? rows : cols;
    if (cols > 2147483647 || rows > 2147483647)
        fe_die(PROG, name, "a dimension of %lld x %lld is too large", (long long)rows, (long long)cols);
    if (d > 46340)
        fe_die(PROG, name, "the result would be %lld x %lld: too large", (long long)d, (long long)d);
    const float *W = w32.data;
    fe_tensor r;
    int64_t shape[2] = {d, d};
    if (fe_tensor_alloc(&r, FE_F32, 2, shape))
        fe_die(PROG, name, "out of memory");
    float *R = r.data;
    double *Wd = malloc(sizeof(double) * (size_t)rows * cols), *S = malloc(sizeof(double) * d * d);
    if (!Wd || !S)
        fe_die(PROG, name, "out of memory");
    for (int64_t i = 0; i < rows * cols; i++)
        Wd[i] = W[i];
    /* the upper triangle of W W^T (gram) or W^T W, then both triangles */
    cblas_dsyrk(CblasRowMajor, CblasUpper, gram ? CblasNoTrans : CblasTrans, (int)d,
                (int)(gram ? cols : rows), 1.0, Wd, (int)cols, 0.0, S, (int)d);
    for (int64_t a = 0; a < d; a++)
        for (int64_t b = a; b < d; b++)
            R[a * d + b] = R[b * d + a] = (float)S[a * d + b];
    free(S);
    free(Wd);
    if (npy_save(out, &r, &err))
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    fe_tensor_free(&w);
    fe_tensor_free(&w32);
    fe_tensor_free(&r);
    return 0;
}
