/* idx2bin - convert MNIST's IDX files (gzip-compressed or not) to .npy.
 *
 *   idx2bin [-o OUT.npy] [FILE]
 *
 * Reads FILE (or stdin), writes .npy to OUT (or stdout; never to a terminal).
 * The output is written atomically: on any error no output file is left. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fe.h"
#include "idx.h"
#include "io.h"
#include "npy.h"
#include "tensor.h"

#define PROG "idx2bin"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " [-o OUT.npy] [FILE]\n"
        "Convert an IDX file (the format of the MNIST data, gzip-compressed or not)\n"
        "into a NumPy .npy file with the same shape and element type\n"
        "(unsigned byte -> uint8; signed byte, short, int -> int32; float -> float32;\n"
        "double -> float64).\n"
        "\n"
        "  FILE          IDX input; '-' or none reads standard input\n"
        "  -o OUT.npy    write here (atomically: complete or not at all);\n"
        "                '-' or none writes standard output, which must not be a terminal\n"
        "  -h, --help    show this help and exit\n"
        "  --version     show the version and exit\n"
        "\n"
        "Example:\n"
        "  gzip -dc t10k-labels-idx1-ubyte.gz | " PROG " > labels.npy\n"
        "  " PROG " -o data/mnist/test-images.npy t10k-images-idx3-ubyte.gz\n"
        "\n"
        "Exit status: 0 on success, 1 on a bad input or output, 2 on bad usage.\n");
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    int have_in = 0, opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            usage(stdout);
            return 0;
        }
        if (!opts_done && strcmp(a, "--version") == 0)
            return fe_version(PROG);
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = 1;
            continue;
        }
        if (!opts_done && strncmp(a, "-o", 2) == 0) {
            if (out)
                fe_usage_error(PROG, "option -o given twice");
            if (a[2]) {
                out = a + 2;
            } else if (i + 1 < argc) {
                out = argv[++i];
            } else {
                fe_usage_error(PROG, "option '-o' needs an argument");
            }
            if (!*out)
                fe_usage_error(PROG, "empty output name");
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1] != '\0')
            fe_usage_error(PROG, "unknown option '%s'", a);
        if (have_in)
            fe_usage_error(PROG, "more than one input file: '%s'", a);
        in = a;
        have_in = 1;
    }
    if (have_in && !*in)
        fe_usage_error(PROG, "empty input name");

    fe_err err;
    fe_out o;
    /* Open the output first: refuse a terminal before waiting for input. */
    if (fe_out_open(&o, out, 0, &err) != 0)
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    fe_tensor t;
    if (idx_load(in, &t, &err) != 0) {
        fe_out_abort(&o);
        fe_die(PROG, fe_name_in(in), "%s", err.msg);
    }
    if (npy_write(o.f, &t, &err) != 0) {
        fe_out_abort(&o);
        fe_tensor_free(&t);
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    }
    fe_tensor_free(&t);
    if (fe_out_commit(&o, &err) != 0)
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    return 0;
}
