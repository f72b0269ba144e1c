/* snapshot - a layer's activations for one image, or one tensor of a checkpoint.
 *
 * The activation is the layer's output after its nonlinearity, what the paper drew
 * (LeNet conv1: relu(conv1(x)), [6,28,28]), computed in eval mode. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esc.h"
#include "io.h"
#include "model_args.h"
#include "npy.h"

#define PROG "snapshot"

static void usage(FILE *f)
{
    char models[256];
    fprintf(f,
"usage: snapshot --ckpt C.npz --images X.npy --index I --layer NAME [-o OUT.npy]\n"
"       snapshot --ckpt C.npz --tensor NAME [-o OUT.npy]\n"
"       snapshot --ckpt C.npz --list\n"
"       snapshot --help | --version\n"
"\n"
"The first form runs image I of X.npy (uint8 [N,28,28]) through the checkpoint's\n"
"model in eval mode and writes the activations of layer NAME for it, float32\n"
"[C,H,W] (linear layers: [C]): the output after the layer's nonlinearity\n"
"(LeNet-5 conv1: relu(conv1(x)); ResNet-18 layerK.J.conv1: relu(bn1(conv1)),\n"
"layerK.J.conv2: the block output; shortcut convs: their raw output).\n"
"--layer input writes the normalised input image itself, [1,28,28].\n"
"The second writes one tensor of the checkpoint; --list names them all.\n"
"\n"
"  --model %s   check the checkpoint is of this model (default: detect);\n"
"                            with --tensor or --list too (then the whole file is read)\n"
"  --mean M --std S          input normalisation (" FE_STR(FE_MEAN) ", " FE_STR(FE_STD) ")\n"
"  --threads T               OpenBLAS and OpenMP threads (default: all cores)\n"
"  --index I                 the image, 0 for the first of X.npy\n"
"  -o OUT.npy                write here, atomically (default: standard output)\n"
"\n"
"  snapshot --ckpt runs/quick-mnist/lenet5/epoch-004.npz --images data/mnist/test-images.npy \\\n"
"           --index 61 --layer conv1 | heatmap -o conv1.png\n",
            fe_arch_names(models, sizeof models, "|"));
}

typedef struct {
    fe_model_args m;            /* --ckpt --images --model --mean --std --threads */
    const char *layer, *tensor, *out;
    int64_t index;
    int list;
} snapshot_opts;

static void parse_args(snapshot_opts *o, int argc, char **argv)
{
    enum { O_INDEX = 256, O_LAYER, O_TENSOR, O_LIST };
    static const struct option opts[] = {
        FE_OPTION_CKPT, FE_OPTION_IMAGES, FE_OPTION_MODEL, FE_OPTION_MEAN, FE_OPTION_STD,
        FE_OPTION_THREADS, {"index", 1, 0, O_INDEX}, {"layer", 1, 0, O_LAYER},
        {"tensor", 1, 0, O_TENSOR}, {"list", 0, 0, O_LIST}, {"output", 1, 0, 'o'},
        FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "o:h", opts, usage};
    *o = (snapshot_opts){.index = -1};
    fe_model_args_init(&o->m, argv, 1);
    int c;
    while ((c = fe_cli_next(&cl, argc, argv)) != -1) {
        if (fe_model_args_opt(&o->m, &cl, c, optarg))
            continue;
        switch (c) {
        case 'o': o->out = optarg; break;
        case O_INDEX:
            if (fe_parse_i64(optarg, &o->index) || o->index < 0)
                fe_cli_bad_value(&cl, c, optarg);
            break;
        case O_LAYER: o->layer = optarg; break;
        case O_TENSOR: o->tensor = optarg; break;
        case O_LIST: o->list = 1; break;
        }
    }
    fe_cli_no_operands(&cl, argc, argv);
    if (!o->m.ckpt)
        fe_usage_error(PROG, "--ckpt is required");
    if (o->list + (o->tensor != NULL) + (o->layer != NULL) != 1)
        fe_usage_error(PROG, "give exactly one of --layer, --tensor, --list");
    if (o->layer && (!o->m.images || o->index < 0))
        fe_usage_error(PROG, "--layer needs --images and --index");
    fe_model_args_check(&o->m, PROG);      /* an unknown --model, whatever the form */
}

/* --list: every tensor's name, dtype and shape; --tensor: one of them, as stored. */
static int stored(const snapshot_opts *o)
{
    fe_err err;
    npz_t z = {0};
    /* --tensor decodes and CRC-checks that member alone (every member's directory
     * entry and local header are still checked); with --model, every member, to
     * check the checkpoint is of that model */
    const int whole = o->list || o->m.model;
    if (whole ? npz_load(o->m.ckpt, &z, &err) : npz_load_one(o->m.ckpt, o->tensor, &z, &err))
        fe_die(PROG, o->m.ckpt, "%s", err.msg);
    fe_model_args_check_npz(&o->m, PROG, &z);
    fe_escbuf eb;      /* names from the file (and --tensor) shown escaped: esc.h */
    if (o->list) {
        for (int i = 0; i < z.n; i++) {
            const fe_tensor *t = &z.e[i].t;
            printf("%s\t%s\t[", fe_esc(&eb, z.e[i].name), fe_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim; d++)
                printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
            printf("]\n");
        }
        fe_stdout_flush_or_die(PROG);
    } else {
        const fe_tensor *t = npz_get(&z, o->tensor);
        if (!t) {
            fprintf(stderr, PROG ": %s: no tensor '%s'", o->m.ckpt, fe_esc(&eb, o->tensor));
            npz_free(&z);
            /* the names, from a second reading (not possible from standard input) */
            if (!strcmp(o->m.ckpt, "-") || npz_load(o->m.ckpt, &z, &err)) {
                fputc('\n', stderr);
                return 1;
            }
            fprintf(stderr, "; it holds:");
            for (int i = 0; i < z.n; i++)
                fprintf(stderr, "%s %s", i ? "," : "", fe_esc(&eb, z.e[i].name));
            fputc('\n', stderr);
            npz_free(&z);
            return 1;
        }
        if (npy_save(o->out, t, &err))
            fe_die(PROG, fe_name_out(o->out), "%s", err.msg);
    }
    npz_free(&z);
    return 0;
}

int main(int argc, char **argv)
{
    snapshot_opts o;
    parse_args(&o, argc, argv);
    if (!o.layer)
        return stored(&o);
    fe_err err;
    fe_tensor img;
    fe_model *m = fe_model_args_open(&o.m, PROG, 1, &img);
    int li = strcmp(o.layer, "input") ? fe_model_layer_or_die(m, PROG, o.layer) : -2;
    if (o.index >= img.shape[0])
        fe_die(PROG, o.m.images, "index %lld out of range: the file holds %lld images",
               (long long)o.index, (long long)img.shape[0]);
    fe_model_set_input(m, img.data, &o.index, 1, (float)o.m.mean, (float)o.m.std);
    fe_model_forward(m, 1, 0);
    fe_tensor t;
    if (li == -2) {                        /* the normalised input image, [1,28,28] */
        int64_t shape[3] = {1, FE_IMG, FE_IMG};
        if (fe_tensor_alloc(&t, FE_F32, 3, shape))
            fe_die(PROG, fe_name_out(o.out), "out of memory");
        memcpy(t.data, m->input, fe_nbytes(&t));
    } else {
        const fe_layer *l = &m->layers[li];
        int64_t shape[3] = {l->post_c, l->post_h, l->post_w};
        if (fe_tensor_alloc(&t, FE_F32, l->fc ? 1 : 3, shape))
            fe_die(PROG, fe_name_out(o.out), "out of memory");
        /* with N = 1, [C][N][H][W] is [C][H][W] */
        memcpy(t.data, l->post, fe_nbytes(&t));
    }
    /* a result, not a degenerate one: zero weights or a --std that makes the input
     * vanish give all zeros, float32 overflow gives inf or NaN */
    size_t nonzero = 0, bad = 0;
    for (int64_t i = 0; i < fe_numel(&t); i++) {
        const float v = ((const float *)t.data)[i];
        nonzero += v != 0;
        bad += !isfinite(v);
    }
    if (bad)
        fe_die(PROG, o.layer, "%zu activations for image %lld are not finite in float32 (the "
               "weights or --mean/--std are too large): no result written", bad, (long long)o.index);
    if (!nonzero)
        fe_die(PROG, o.layer, "the activations for image %lld are all zero (the checkpoint's "
               "weights are zero, or --mean/--std make the input vanish): no result written",
               (long long)o.index);
    if (npy_save(o.out, &t, &err))
        fe_die(PROG, fe_name_out(o.out), "%s", err.msg);
    fe_tensor_free(&t);
    fe_tensor_free(&img);
    fe_model_free(m);
    return 0;
}
