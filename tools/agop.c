/* agop - the patch-based average gradient outer product of one or more layers.
 *
 * For images x (eval mode), classes c and output positions p of the layer, with
 * P_p(x) the input patch the layer sees at p (zero padded as the layer pads):
 *   AGOP = (1/n) sum_x sum_c sum_p  grad_P f_c(x) grad_P f_c(x)^T        (d x d)
 * Since z_p = W P_p (+ b), grad_P f_c = W^T dz_p, so
 *   AGOP = W^T ( sum_x sum_c sum_p dz_p dz_p^T ) W / n
 * The inner sum is accumulated with one ssyrk per class and batch over the
 * gradients at the layer output, from batched eval-mode backward passes that stop
 * at the layer and skip parameter gradients.  Several layers share the passes:
 * each pass hands every one of them its gradients (the same bits as a pass for
 * it alone) and stops at the deepest. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "cli.h"
#include "model_args.h"
#include "npy.h"

static const char *prog = "agop";

static void usage(FILE *f)
{
    fprintf(f,
"usage: agop --ckpt C.npz --images X.npy --layer NAME [-o OUT.npy]\n"
"            [--layer NAME2 -o OUT2.npy ...] [--count N] [--batch B]\n"
"            [--model lenet5|resnet18] [--threads T] [--quiet]\n"
"\n"
"The patch AGOP of a conv or linear layer: the mean over the first N images of\n"
"X.npy (default all) of the sum over the 10 classes and every output position of\n"
"grad_P f_c grad_P f_c^T, where P is the layer's input patch (eval mode). Writes\n"
"float32 [d,d], d = c_in*k*k in (c_in, kh, kw) order (in_features for linear).\n"
"Several layers, each --layer with its own -o (the i-th -o for the i-th --layer),\n"
"share the backward passes: about the time of the deepest one alone.\n"
"\n"
"  --batch B     images per backward pass (default 128)\n"
"  --mean M --std S   input normalisation (0.1307, 0.3081)\n"
"\n"
"  agop --ckpt runs/resnet18/epoch-003.npz --images data/mnist/test-images.npy \\\n"
"       --layer conv1 --count 1000 > agop.npy && corr nfm.npy agop.npy\n"
"  agop --ckpt runs/resnet18/epoch-003.npz --images data/mnist/train-images.npy \\\n"
"       --count 500 --layer conv1 -o a1.npy --layer layer2.0.conv1 -o a2.npy\n");
}

typedef struct {
    float *g;       /* rows x rows, this batch's sum of dz dz^T (upper triangle) */
    double *acc;    /* rows x rows, the running sum */
    int rows;
} agop_acc;

static void hook(void *vctx, int slot, const fe_layer *l, const float *dz, int rows, int64_t cols)
{
    agop_acc *c = (agop_acc *)vctx + slot;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, rows, (int)cols, 1.0f, dz, (int)cols,
                0.0f, c->g, rows);
    for (int i = 0; i < rows; i++)
        for (int j = i; j < rows; j++)
            c->acc[(size_t)i * rows + j] += c->g[(size_t)i * rows + j];
}

/* AGOP = W^T G W / n in double (G: the accumulated upper triangle of c), as
 * float32 [d,d]; written to out (NULL or "-": standard output).  Returns d. */
static int finish(const fe_layer *l, agop_acc *c, int64_t count, const char *out)
{
    const int rows = c->rows;
    const int d = l->conv ? l->conv->g.cin * l->conv->g.k * l->conv->g.k : l->fc->in;
    const float *W = l->conv ? l->conv->w : l->fc->w;
    double *G = c->acc, *Wd = fe_xmalloc(sizeof(double) * rows * d);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < i; j++)
            G[(size_t)i * rows + j] = G[(size_t)j * rows + i];
    for (size_t i = 0; i < (size_t)rows * d; i++)
        Wd[i] = W[i];
    double *T = fe_xmalloc(sizeof(double) * rows * d), *A = fe_xmalloc(sizeof(double) * d * d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, rows, 1.0, G, rows, Wd, d,
                0.0, T, d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, rows, 1.0 / (double)count, Wd, d,
                T, d, 0.0, A, d);
    fe_tensor res;
    int64_t shape[2] = {d, d};
    if (fe_tensor_alloc(&res, FE_F32, 2, shape))
        fe_die(prog, "agop", "out of memory");
    for (size_t i = 0; i < (size_t)d * d; i++)
        ((float *)res.data)[i] = (float)A[i];
    free(A); free(T); free(Wd);
    fe_err err;
    if (npy_save(out, &res, &err))
        fe_die(prog, out && strcmp(out, "-") ? out : "<stdout>", "%s", err.msg);
    fe_tensor_free(&res);
    return d;
}

int main(int argc, char **argv)
{
    const char *ckpt = NULL, *images = NULL, *model_s = NULL;
    enum { MAXL = 64 };         /* more than either model has */
    const char *layer[MAXL], *out[MAXL] = {0};
    int nl = 0, no = 0;
    int64_t count = -1, batch = 128, threads = 0;
    double mean = 0.1307, std = 0.3081;
    int quiet = 0, c;
    enum { O_CKPT = 256, O_IMAGES, O_LAYER, O_COUNT, O_BATCH, O_MODEL, O_THREADS, O_QUIET,
           O_MEAN, O_STD };
    static const struct option opts[] = {
        {"ckpt", 1, 0, O_CKPT}, {"images", 1, 0, O_IMAGES}, {"layer", 1, 0, O_LAYER},
        {"count", 1, 0, O_COUNT}, {"batch", 1, 0, O_BATCH}, {"model", 1, 0, O_MODEL},
        {"threads", 1, 0, O_THREADS}, {"quiet", 0, 0, O_QUIET}, {"mean", 1, 0, O_MEAN},
        {"std", 1, 0, O_STD}, {"output", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    fe_blas_autoselect(argv);
    opterr = 0;
    int oi;
    while ((oi = -1, c = getopt_long(argc, argv, "o:h", opts, &oi)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'o':
        case O_LAYER:
            if ((c == 'o' ? no : nl) == MAXL) {
                fprintf(stderr, "agop: more than %d %s\n", MAXL, c == 'o' ? "-o" : "--layer");
                return 2;
            }
            if (c == 'o')
                out[no++] = optarg;
            else
                layer[nl++] = optarg;
            break;
        case O_CKPT: ckpt = optarg; break;
        case O_IMAGES: images = optarg; break;
        case O_COUNT: bad = fe_parse_i64(optarg, &count) || count < 1; break;
        case O_BATCH: bad = fe_parse_i64(optarg, &batch) || batch < 1 || batch > 65536; break;
        case O_MODEL: model_s = optarg; break;
        case O_THREADS: bad = fe_parse_i64(optarg, &threads) || threads < 0 || threads > 1024; break;
        case O_QUIET: quiet = 1; break;
        case O_MEAN: bad = fe_parse_double(optarg, &mean); break;
        case O_STD: bad = fe_parse_double(optarg, &std) || std <= 0; break;
        default:
            fprintf(stderr, "agop: unknown or incomplete option '%s' (see agop --help)\n",
                    argv[optind - 1]);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "agop: invalid value '%s' for --%s\n", optarg,
                    oi >= 0 ? opts[oi].name : "?");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agop: unexpected argument '%s' (see agop --help)\n", argv[optind]);
        return 2;
    }
    if (!ckpt || !images || !nl) {
        fprintf(stderr, "agop: --ckpt, --images and --layer are required (see agop --help)\n");
        return 2;
    }
    if (nl > 1 && no != nl) {
        fprintf(stderr, "agop: %d --layer but %d -o: several layers need one -o each, in the same "
                "order (see agop --help)\n", nl, no);
        return 2;
    }
    if (nl == 1 && no > 1) {
        fprintf(stderr, "agop: one --layer but %d -o (see agop --help)\n", no);
        return 2;
    }
    for (int i = 0; i < nl; i++)
        for (int j = 0; j < i; j++) {
            if (!strcmp(layer[i], layer[j])) {
                fprintf(stderr, "agop: --layer %s given twice\n", layer[i]);
                return 2;
            }
            if (nl > 1 && !strcmp(out[i], out[j])) {
                fprintf(stderr, "agop: -o %s given for two layers\n", out[i]);
                return 2;
            }
        }
    fe_arch arch = FE_LENET5;
    if (model_s && fe_arch_parse(model_s, &arch)) {
        fprintf(stderr, "agop: unknown model '%s' (lenet5 or resnet18)\n", model_s);
        return 2;
    }
    fe_err err;
    fe_tensor img;
    fe_load_images(prog, images, &img);
    if (count < 0)
        count = img.shape[0];
    if (count > img.shape[0])
        fe_die(prog, images, "--count %lld but the file holds %lld images", (long long)count,
               (long long)img.shape[0]);
    if (count == 0)
        fe_die(prog, images, "no images");
    if (batch > count)
        batch = count;
    fe_blas_threads((int)threads);
    fe_model *m = fe_model_open(ckpt, model_s != NULL, arch, (int)batch, &err);
    if (!m)
        fe_die(prog, ckpt, "%s", err.msg);
    m->exact_conv = 1;          /* reported numbers: direct convolution, not Winograd */
    int *li = fe_xmalloc(sizeof(int) * nl);
    agop_acc *acc = fe_xcalloc((size_t)nl, sizeof *acc);
    for (int i = 0; i < nl; i++) {
        li[i] = fe_model_layer_or_die(m, prog, layer[i]);
        const fe_layer *l = &m->layers[li[i]];
        const int rows = l->conv ? l->conv->g.cout : l->fc->out;
        acc[i] = (agop_acc){.g = fe_xmalloc(sizeof(float) * rows * rows),
                            .acc = fe_xcalloc((size_t)rows * rows, sizeof(double)), .rows = rows};
    }
    fe_hook h = {.layers = li, .nlayers = nl, .fn = hook, .ctx = acc};
    double t0 = fe_now(), last = t0;
    for (int64_t s = 0; s < count; s += batch) {
        int nb = (int)(count - s < batch ? count - s : batch);
        int64_t *idx = fe_xmalloc(sizeof(int64_t) * nb);
        for (int j = 0; j < nb; j++)
            idx[j] = s + j;
        fe_model_set_input(m, img.data, idx, nb, (float)mean, (float)std);
        free(idx);
        fe_model_forward(m, nb, 0);
        for (int cls = 0; cls < FE_CLASSES; cls++) {
            memset(m->dlogits, 0, sizeof(float) * FE_CLASSES * nb);
            for (int j = 0; j < nb; j++)
                m->dlogits[(size_t)cls * nb + j] = 1.0f;
            fe_model_backward(m, 0, &h);
        }
        double now = fe_now();
        if (!quiet && now - last > 5.0) {
            fprintf(stderr, "agop: %s %s%s: %lld/%lld images, %.0f img/s\n",
                    fe_arch_name(m->arch), layer[0], nl > 1 ? " and more" : "",
                    (long long)(s + nb), (long long)count, (s + nb) / (now - t0));
            last = now;
        }
    }
    for (int i = 0; i < nl; i++) {
        const int d = finish(&m->layers[li[i]], &acc[i], count, out[i]);
        if (!quiet)
            fprintf(stderr, "agop: %s %s over %lld images: %d x %d in %.1fs\n",
                    fe_arch_name(m->arch), layer[i], (long long)count, d, d, fe_now() - t0);
        free(acc[i].g);
        free(acc[i].acc);
    }
    free(acc);
    free(li);
    fe_tensor_free(&img);
    fe_model_free(m);
    return 0;
}
