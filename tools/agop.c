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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "io.h"
#include "model_args.h"
#include "npy.h"

#define PROG "agop"

static void usage(FILE *f)
{
    char models[256];
    fprintf(f,
"usage: agop --ckpt C.npz --images X.npy --layer NAME [-o OUT.npy]\n"
"            [--layer NAME2 -o OUT2.npy ...] [--count N] [--batch B]\n"
"            [--model %s] [--threads T] [--quiet] [--mean M] [--std S]\n"
"       agop --help | --version\n"
"\n"
"The patch AGOP of a conv or linear layer: the mean over the first N images of\n"
"X.npy (default all) of the sum over the 10 classes and every output position of\n"
"grad_P f_c grad_P f_c^T, where P is the layer's input patch (eval mode). Writes\n"
"float32 [d,d], d = c_in*k*k in (c_in, kh, kw) order (in_features for linear).\n"
"Several layers, each --layer with its own -o (the i-th -o for the i-th --layer),\n"
"share the backward passes: about the time of the deepest one alone.\n"
"\n"
"  --batch B     images per backward pass (default 128)\n"
"  --mean M --std S   input normalisation (" FE_STR(FE_MEAN) ", " FE_STR(FE_STD) ")\n"
"\n"
"  agop --ckpt runs/resnet18/epoch-003.npz --images data/mnist/test-images.npy \\\n"
"       --layer conv1 --count 1000 > agop.npy && corr nfm.npy agop.npy\n"
"  agop --ckpt runs/resnet18/epoch-003.npz --images data/mnist/train-images.npy \\\n"
"       --count 500 --layer conv1 -o a1.npy --layer layer2.0.conv1 -o a2.npy\n",
            fe_arch_names(models, sizeof models, "|"));
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
        fe_die(PROG, fe_name_out(out), "out of memory");
    for (size_t i = 0; i < (size_t)d * d; i++)
        ((float *)res.data)[i] = (float)A[i];
    free(A); free(T); free(Wd);
    fe_err err;
    if (npy_save(out, &res, &err))
        fe_die(PROG, fe_name_out(out), "%s", err.msg);
    fe_tensor_free(&res);
    return d;
}

enum { MAXL = 64 };             /* more --layer than either model has */

typedef struct {
    fe_model_args m;            /* --ckpt --images --model --mean --std --threads --batch */
    const char *layer[MAXL], *out[MAXL];
    int nl, no;
    int64_t count;              /* -1: every image */
    int quiet;
} agop_opts;

static void parse_args(agop_opts *o, int argc, char **argv)
{
    enum { O_LAYER = 256, O_COUNT, O_QUIET };
    static const struct option opts[] = {
        FE_OPTION_CKPT, FE_OPTION_IMAGES, FE_OPTION_MODEL, FE_OPTION_MEAN, FE_OPTION_STD,
        FE_OPTION_THREADS, FE_OPTION_BATCH, {"layer", 1, 0, O_LAYER}, {"count", 1, 0, O_COUNT},
        {"quiet", 0, 0, O_QUIET}, {"output", 1, 0, 'o'}, FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "o:h", opts, usage};
    *o = (agop_opts){.count = -1};
    fe_model_args_init(&o->m, argv, 128);
    int c;
    while ((c = fe_cli_next(&cl, argc, argv)) != -1) {
        if (fe_model_args_opt(&o->m, &cl, c, optarg))
            continue;
        switch (c) {
        case 'o':
        case O_LAYER:
            if ((c == 'o' ? o->no : o->nl) == MAXL)
                fe_usage_error(PROG, "more than %d %s", MAXL, c == 'o' ? "-o" : "--layer");
            if (c == 'o')
                o->out[o->no++] = optarg;
            else
                o->layer[o->nl++] = optarg;
            break;
        case O_COUNT:
            if (fe_parse_i64(optarg, &o->count) || o->count < 1)
                fe_cli_bad_value(&cl, c, optarg);
            break;
        case O_QUIET: o->quiet = 1; break;
        }
    }
    fe_cli_no_operands(&cl, argc, argv);
    if (!o->m.ckpt || !o->m.images || !o->nl)
        fe_usage_error(PROG, "--ckpt, --images and --layer are required");
    if (o->nl > 1 && o->no != o->nl)
        fe_usage_error(PROG, "%d --layer but %d -o: several layers need one -o each, in the same "
                       "order", o->nl, o->no);
    if (o->nl == 1 && o->no > 1)
        fe_usage_error(PROG, "one --layer but %d -o", o->no);
    for (int i = 0; i < o->nl; i++)
        for (int j = 0; j < i; j++) {
            if (!strcmp(o->layer[i], o->layer[j]))
                fe_usage_error(PROG, "--layer %s given twice", o->layer[i]);
            if (o->nl > 1 && !strcmp(o->out[i], o->out[j]))
                fe_usage_error(PROG, "-o %s given for two layers", o->out[i]);
        }
}

int main(int argc, char **argv)
{
    agop_opts o;
    parse_args(&o, argc, argv);
    const int nl = o.nl;
    int64_t count = o.count, batch = o.m.batch;
    fe_tensor img;
    fe_model *m = fe_model_args_open(&o.m, PROG, (int)(count > 0 && count < batch ? count : batch),
                                     &img);
    if (count < 0)
        count = img.shape[0];
    if (count > img.shape[0])
        fe_die(PROG, o.m.images, "--count %lld but the file holds %lld images", (long long)count,
               (long long)img.shape[0]);
    if (count == 0)
        fe_die(PROG, o.m.images, "no images");
    if (batch > count)
        batch = count;
    int *li = fe_xmalloc(sizeof(int) * nl);
    agop_acc *acc = fe_xcalloc((size_t)nl, sizeof *acc);
    for (int i = 0; i < nl; i++) {
        li[i] = fe_model_layer_or_die(m, PROG, o.layer[i]);
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
        fe_model_set_input(m, img.data, idx, nb, (float)o.m.mean, (float)o.m.std);
        free(idx);
        fe_model_forward(m, nb, 0);
        for (int cls = 0; cls < FE_CLASSES; cls++) {
            memset(m->dlogits, 0, sizeof(float) * FE_CLASSES * nb);
            for (int j = 0; j < nb; j++)
                m->dlogits[(size_t)cls * nb + j] = 1.0f;
            fe_model_backward(m, 0, &h);
        }
        double now = fe_now();
        if (!o.quiet && now - last > 5.0) {
            fprintf(stderr, PROG ": %s %s%s: %lld/%lld images, %.0f img/s\n", o.m.name,
                    o.layer[0], nl > 1 ? " and more" : "", (long long)(s + nb), (long long)count,
                    (s + nb) / (now - t0));
            last = now;
        }
    }
    for (int i = 0; i < nl; i++) {
        const int d = finish(&m->layers[li[i]], &acc[i], count, o.out[i]);
        if (!o.quiet)
            fprintf(stderr, PROG ": %s %s over %lld images: %d x %d in %.1fs\n", o.m.name,
                    o.layer[i], (long long)count, d, d, fe_now() - t0);
        free(acc[i].g);
        free(acc[i].acc);
    }
    free(acc);
    free(li);
    fe_tensor_free(&img);
    fe_model_free(m);
    return 0;
}
