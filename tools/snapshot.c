/* snapshot - what a checkpoint holds: one layer's activations for one image, or
 * one stored tensor.
 *
 * The activation is the layer's output after its nonlinearity, what the paper drew
 * (LeNet conv1: relu(conv1(x)), [6,28,28]), computed in eval mode. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "model_args.h"
#include "npy.h"

static const char *prog = "snapshot";

static void usage(FILE *f)
{
    fprintf(f,
"usage: snapshot --ckpt C.npz --images X.npy --index I --layer NAME [-o OUT.npy]\n"
"       snapshot --ckpt C.npz --tensor NAME [-o OUT.npy]\n"
"       snapshot --ckpt C.npz --list\n"
"\n"
"The first form runs image I of X.npy (uint8 [N,28,28]) through the checkpoint's\n"
"model in eval mode and writes the activations of layer NAME for it, float32\n"
"[C,H,W] (linear layers: [C]): the output after the layer's nonlinearity\n"
"(LeNet-5 conv1: relu(conv1(x)); ResNet-18 layerK.J.conv1: relu(bn1(conv1)),\n"
"layerK.J.conv2: the block output; shortcut convs: their raw output).\n"
"--layer input writes the normalised input image itself, [1,28,28].\n"
"The second writes one tensor of the checkpoint; --list names them all.\n"
"\n"
"  --model lenet5|resnet18   check the checkpoint is of this model (default: detect)\n"
"  --mean M --std S          input normalisation (0.1307, 0.3081)\n"
"\n"
"  snapshot --ckpt runs/lenet5/epoch-010.npz --images data/mnist/test-images.npy \\\n"
"           --index 61 --layer conv1 | heatmap -o conv1.png\n");
}

int main(int argc, char **argv)
{
    const char *ckpt = NULL, *images = NULL, *layer = NULL, *tensor = NULL, *out = NULL;
    const char *model_s = NULL;
    int64_t index = -1;
    int list = 0, c;
    double mean = 0.1307, std = 0.3081;
    enum { O_CKPT = 256, O_IMAGES, O_INDEX, O_LAYER, O_TENSOR, O_LIST, O_MODEL, O_MEAN, O_STD };
    static const struct option opts[] = {
        {"ckpt", 1, 0, O_CKPT}, {"images", 1, 0, O_IMAGES}, {"index", 1, 0, O_INDEX},
        {"layer", 1, 0, O_LAYER}, {"tensor", 1, 0, O_TENSOR}, {"list", 0, 0, O_LIST},
        {"model", 1, 0, O_MODEL}, {"mean", 1, 0, O_MEAN}, {"std", 1, 0, O_STD},
        {"output", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int oi;
    while ((oi = -1, c = getopt_long(argc, argv, "o:h", opts, &oi)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'o': out = optarg; break;
        case O_CKPT: ckpt = optarg; break;
        case O_IMAGES: images = optarg; break;
        case O_INDEX: bad = fe_parse_i64(optarg, &index) || index < 0; break;
        case O_LAYER: layer = optarg; break;
        case O_TENSOR: tensor = optarg; break;
        case O_LIST: list = 1; break;
        case O_MODEL: model_s = optarg; break;
        case O_MEAN: bad = fe_parse_double(optarg, &mean); break;
        case O_STD: bad = fe_parse_double(optarg, &std) || std <= 0; break;
        default:
            fprintf(stderr, "snapshot: unknown or incomplete option '%s' (see snapshot --help)\n",
                    argv[optind - 1]);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "snapshot: invalid value '%s' for --%s\n", optarg,
                    oi >= 0 ? opts[oi].name : "?");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "snapshot: unexpected argument '%s' (see snapshot --help)\n", argv[optind]);
        return 2;
    }
    if (!ckpt) {
        fprintf(stderr, "snapshot: --ckpt is required (see snapshot --help)\n");
        return 2;
    }
    int modes = list + (tensor != NULL) + (layer != NULL);
    if (modes != 1) {
        fprintf(stderr, "snapshot: give exactly one of --layer, --tensor, --list\n");
        return 2;
    }
    fe_err err;
    const char *oname = out && strcmp(out, "-") ? out : "<stdout>";
    if (list || tensor) {
        npz_t z = {0};
        if (npz_load(ckpt, &z, &err))
            fe_die(prog, ckpt, "%s", err.msg);
        if (list) {
            for (int i = 0; i < z.n; i++) {
                const fe_tensor *t = &z.e[i].t;
                printf("%s\t%s\t[", z.e[i].name, fe_dtype_name(t->dtype));
                for (int d = 0; d < t->ndim; d++)
                    printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
                printf("]\n");
            }
            fe_stdout_flush_or_die(prog);
        } else {
            const fe_tensor *t = npz_get(&z, tensor);
            if (!t) {
                fprintf(stderr, "snapshot: %s: no tensor '%s'; it holds:", ckpt, tensor);
                for (int i = 0; i < z.n; i++)
                    fprintf(stderr, "%s %s", i ? "," : "", z.e[i].name);
                fputc('\n', stderr);
                npz_free(&z);
                return 1;
            }
            if (npy_save(out, t, &err))
                fe_die(prog, oname, "%s", err.msg);
        }
        npz_free(&z);
        return 0;
    }
    if (!images || index < 0) {
        fprintf(stderr, "snapshot: --layer needs --images and --index\n");
        return 2;
    }
    fe_arch arch = FE_LENET5;
    if (model_s && fe_arch_parse(model_s, &arch)) {
        fprintf(stderr, "snapshot: unknown model '%s' (lenet5 or resnet18)\n", model_s);
        return 2;
    }
    fe_model *m = fe_model_open(ckpt, model_s != NULL, arch, 1, &err);
    if (!m)
        fe_die(prog, ckpt, "%s", err.msg);
    m->exact_conv = 1;          /* reported numbers: direct convolution, not Winograd */
    int li = strcmp(layer, "input") ? fe_model_layer_or_die(m, prog, layer) : -2;
    fe_tensor img;
    fe_load_images(prog, images, &img);
    if (index >= img.shape[0])
        fe_die(prog, images, "index %lld out of range: the file holds %lld images",
               (long long)index, (long long)img.shape[0]);
    fe_model_set_input(m, img.data, &index, 1, (float)mean, (float)std);
    fe_model_forward(m, 1, 0);
    fe_tensor t;
    if (li == -2) {                        /* the normalised input image, [1,28,28] */
        int64_t shape[3] = {1, FE_IMG, FE_IMG};
        if (fe_tensor_alloc(&t, FE_F32, 3, shape))
            fe_die(prog, oname, "out of memory");
        memcpy(t.data, m->input, fe_nbytes(&t));
    } else {
        const fe_layer *l = &m->layers[li];
        int64_t shape[3] = {l->post_c, l->post_h, l->post_w};
        if (fe_tensor_alloc(&t, FE_F32, l->fc ? 1 : 3, shape))
            fe_die(prog, oname, "out of memory");
        /* with N = 1, [C][N][H][W] is [C][H][W] */
        memcpy(t.data, l->post, fe_nbytes(&t));
    }
    if (npy_save(out, &t, &err))
        fe_die(prog, oname, "%s", err.msg);
    fe_tensor_free(&t);
    fe_tensor_free(&img);
    fe_model_free(m);
    return 0;
}
