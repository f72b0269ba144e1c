/* npy2txt - a 1-D, 2-D or 3-D .npy as text, one row per line, for gnuplot.
 * Whitespace-separated: the "matrix" format gnuplot plots with `matrix with image`;
 * a 3-D [N,H,W] is N such matrices, two blank lines apart (gnuplot's `index`). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "fe.h"
#include "io.h"
#include "npy.h"

#define PROG "npy2txt"

static void usage(FILE *f)
{
    fprintf(f,
"usage: npy2txt [M.npy]\n"
"\n"
"Prints a 1-D or 2-D array as text, one row per line (%%.9g), for gnuplot's\n"
"`matrix with image`; a 3-D array [N,H,W] as N matrices, two blank lines apart\n"
"(`matrix index I` picks one). Reads stdin when no file is named.\n"
"\n"
"  -h, --help    show this help and exit; --version: the version\n"
"\n"
"  featmat w.npy | npy2txt > nfm.txt\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "h", opts, usage};
    while (fe_cli_next(&cl, argc, argv) != -1)
        ;
    if (argc - optind > 1)
        fe_usage_error(PROG, "one input at most");
    const char *in = optind < argc ? argv[optind] : NULL;
    const char *name = fe_name_in(in);
    fe_err err;
    fe_tensor raw, t;
    if (npy_load(in, &raw, &err))
        fe_die(PROG, name, "%s", err.msg);
    if (raw.ndim < 1 || raw.ndim > 3)
        fe_die(PROG, name, "need a 1-D, 2-D or 3-D array, got %d dimensions", raw.ndim);
    if (fe_numel(&raw) == 0) {      /* no number to print (not a loop over [2^40, 0]) */
        char shape[80];
        fe_die(PROG, name, "an empty array %s: nothing to print", fe_shape_str(&raw, shape, sizeof shape));
    }
    if (fe_tensor_to_f32(&raw, &t))
        fe_die(PROG, name, "cannot convert %s", fe_dtype_name(raw.dtype));
    const int64_t blocks = raw.ndim == 3 ? raw.shape[0] : 1,
                  rows = raw.ndim >= 2 ? raw.shape[raw.ndim - 2] : 1, cols = raw.shape[raw.ndim - 1];
    const float *x = t.data;
    for (int64_t b = 0; b < blocks; b++) {
        if (b)
            fputs("\n\n", stdout);
        for (int64_t i = 0; i < rows; i++) {
            for (int64_t j = 0; j < cols; j++)
                printf(j ? " %.9g" : "%.9g", x[(b * rows + i) * cols + j]);
            putchar('\n');
        }
    }
    fe_stdout_flush_or_die(PROG);
    fe_tensor_free(&raw);
    fe_tensor_free(&t);
    return 0;
}
