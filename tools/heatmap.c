/* heatmap - a matrix, or a stack [N,H,W] of them as a grid, as a PNG image.
 *
 *   heatmap [OPTIONS] [M.npy] [-o OUT.png]
 *
 * Reads M.npy (or stdin), writes an 8-bit RGB PNG to OUT (or stdout, never a
 * terminal), atomically: on any error no output file is left.  The colour
 * mapping, tiling and PNG writing are in tools/lib/heatmap_render.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fe.h"
#include "heatmap_render.h"
#include "io.h"
#include "npy.h"
#include "tensor.h"

#define PROG "heatmap"

static void usage(FILE *f)
{
    fprintf(f,
"usage: " PROG " [OPTIONS] [M.npy] [-o OUT.png]\n"
"Draw a 2-D matrix [H,W] as an image (row 0 at the top), or a 3-D stack [N,H,W]\n"
"as a grid of N tiles (row-major), or a 4-D conv weight [O,I,KH,KW] as a grid of\n"
"its O x I filters, a row per output channel (with I = 1: as the stack [O,KH,KW]).\n"
"Any numeric dtype. Writes an 8-bit RGB PNG. Options and input in any order.\n"
"\n"
"  M.npy            input; '-' or none reads standard input\n"
"  -o, --output OUT write here (atomically: complete or not at all);\n"
"                   '-' or none writes standard output, which must not be a terminal\n"
"  --cmap MAP       grey (default; vmin black, vmax white), viridis (matplotlib's),\n"
"                   or diverging (matplotlib's RdBu_r: blue, white, red)\n"
"  --vmin V, --vmax V  the values drawn at the two ends of the map, so that several\n"
"                   images share one scale; values outside are clamped. Default: the\n"
"                   finite min and max of the data; with diverging -m and m where\n"
"                   m = max |value|, so zero is the middle colour\n"
"  --scale K        draw each value as a K x K block (K >= 1; 1 = raw pixels).\n"
"                   Default: the smallest K giving a short side of at least %d\n"
"                   pixels (9x9 -> K=29), limited so the long side stays <= %d\n"
"  --cols C         3-D, 4-D: tiles per grid row (default ceil(sqrt(N)); 4-D: I)\n"
"  --gap G          3-D, 4-D: pixels between tiles, in output pixels (default\n"
"                   max(1, K/4)); gap colour: grey #3c5078, viridis white,\n"
"                   diverging #808080\n"
"  --per-tile       3-D, 4-D: each tile's default range is its own min/max\n"
"                   (default: one range shared by all tiles)\n"
"  -h, --help       show this help and exit\n"
"  --version        show the version and exit\n"
"\n"
"Value v becomes t = (v - vmin) / (vmax - vmin), clamped to [0,1], and the colour\n"
"entry round(255 t) of the map. NaN is drawn magenta (#ff00ff), +inf/-inf as the\n"
"top/bottom colour. Constant data (vmin = vmax) is drawn in the middle colour.\n"
"Refused (exit 1): not 2-D, 3-D or 4-D, a zero-sized dimension, no finite value, an\n"
"image over %d pixels per side or %d MiB.\n"
"\n"
"Examples:\n"
"  snapshot --ckpt runs/quick-mnist/lenet5/epoch-004.npz --tensor conv1.weight |\n"
"    featmat | " PROG " -o nfm.png\n"
"  snapshot --ckpt runs/quick-mnist/lenet5/epoch-004.npz --tensor conv2.weight \\\n"
"    -o filters.npy && " PROG " --cmap diverging -o filters.png filters.npy\n"
"  " PROG " --cmap viridis --cols 8 --per-tile -o maps.png maps.npy\n"
"\n"
"Exit status: 0 on success, 1 on a bad input or output, 2 on bad usage.\n",
            HM_AUTO_SHORT, HM_AUTO_LONG, HM_MAX_SIDE, (int)(HM_MAX_BYTES >> 20));
}

enum { OPT_CMAP = 256, OPT_VMIN, OPT_VMAX, OPT_SCALE, OPT_COLS, OPT_GAP, OPT_PER_TILE };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},   {"cmap", required_argument, 0, OPT_CMAP},
        {"vmin", required_argument, 0, OPT_VMIN}, {"vmax", required_argument, 0, OPT_VMAX},
        {"scale", required_argument, 0, OPT_SCALE}, {"cols", required_argument, 0, OPT_COLS},
        {"gap", required_argument, 0, OPT_GAP},   {"per-tile", no_argument, 0, OPT_PER_TILE},
        FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "o:h", longopts, usage};
    hm_opts opt;
    hm_opts_init(&opt);
    const char *out = NULL, *in = NULL;
    int have_out = 0, c;
    int64_t v;
    /* Options and operands may mix. */
    while ((c = fe_cli_next(&cl, argc, argv)) != -1) {
        switch (c) {
        case 'o':
            if (have_out)
                fe_usage_error(PROG, "option -o given twice");
            if (!*optarg)
                fe_usage_error(PROG, "empty output name");
            out = optarg;
            have_out = 1;
            break;
        case OPT_CMAP:
            if (hm_cmap_parse(optarg, &opt.cmap))
                fe_usage_error(PROG, "unknown --cmap '%s': grey, viridis or diverging", optarg);
            break;
        case OPT_VMIN:
        case OPT_VMAX: {
            double d;
            if (fe_parse_double(optarg, &d))
                fe_usage_error(PROG, "--%s needs a finite number, not '%s'",
                               c == OPT_VMIN ? "vmin" : "vmax", optarg);
            if (c == OPT_VMIN) {
                opt.vmin = d;
                opt.has_vmin = 1;
            } else {
                opt.vmax = d;
                opt.has_vmax = 1;
            }
            break;
        }
        case OPT_SCALE:
            if (fe_parse_i64(optarg, &v) || v < 1)
                fe_usage_error(PROG, "--scale needs a positive integer, not '%s'", optarg);
            opt.scale = v;
            break;
        case OPT_COLS:
            if (fe_parse_i64(optarg, &v) || v < 1)
                fe_usage_error(PROG, "--cols needs a positive integer, not '%s'", optarg);
            opt.cols = v;
            break;
        case OPT_GAP:
            if (fe_parse_i64(optarg, &v) || v < 0)
                fe_usage_error(PROG, "--gap needs an integer >= 0, not '%s'", optarg);
            opt.gap = v;
            break;
        case OPT_PER_TILE:
            opt.per_tile = 1;
            break;
        }
    }
    if (argc - optind > 1)
        fe_usage_error(PROG, "more than one input file: '%s'", argv[optind + 1]);
    if (optind < argc) {
        in = argv[optind];
        if (!*in)
            fe_usage_error(PROG, "empty input name");
    }
    if (opt.has_vmin && opt.has_vmax && !(opt.vmin < opt.vmax))
        fe_usage_error(PROG, "--vmin %g must be below --vmax %g", opt.vmin, opt.vmax);

    fe_err err;
    fe_out o;
    /* Open the output first: refuse a terminal before waiting for input. */
    if (fe_out_open(&o, out, 0, &err) != 0)
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    fe_tensor t, t32;
    if (npy_load(in, &t, &err) != 0) {
        fe_out_abort(&o);
        fe_die(PROG, fe_name_in(in), "%s", err.msg);
    }
    if (fe_tensor_to_f32(&t, &t32) != 0) {
        fe_out_abort(&o);
        fe_die(PROG, fe_name_in(in), "cannot convert %s to float32 (out of memory?)",
               fe_dtype_name(t.dtype));
    }
    fe_tensor_free(&t);
    hm_plan plan;
    if (hm_plan_make(&plan, &t32, &opt, &err) != 0) {
        fe_out_abort(&o);
        fe_tensor_free(&t32);
        fe_die(PROG, fe_name_in(in), "%s", err.msg);
    }
    if (hm_write_png(o.f, &plan, &err) != 0) {
        fe_out_abort(&o);
        hm_plan_free(&plan);
        fe_tensor_free(&t32);
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    }
    hm_plan_free(&plan);
    fe_tensor_free(&t32);
    if (fe_out_commit(&o, &err) != 0)
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    return 0;
}
