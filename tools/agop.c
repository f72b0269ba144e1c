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
 * it alone) and stops at the deepest.
 *
 * --sizes: how far corr(NFM, AGOP) over n images is from its value over many.
 * The sum of dz dz^T is kept per batch (a block of B images); a resample of n
 * images is n/B blocks drawn with replacement from the count/B of the pool.
 * corr needs only five sums over the d x d entries, and each is a product of
 * rows x rows matrices (K = W W^T, u = W 1; G the resample's sum, NFM = W^T W):
 *   sum NFM = u.u       sum NFM^2 = tr(K K)     sum A ~ u^T G u
 *   sum A*NFM ~ <G, K K>   sum A^2 ~ tr(G K G K)      (A ~ W^T G W: the 1/n cancels)
 * so a resample costs two rows^3 products, not a d x d AGOP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "io.h"
#include "model_args.h"
#include "npy.h"
#include "rng.h"

#define PROG "agop"
/* The default --count: ResNet-18's AGOP over 500 images takes minutes, over all
 * of MNIST's 60,000 hours (the pipeline uses 500 for it, 2000 for LeNet-5). */
#define AGOP_COUNT 500

static void usage(FILE *f)
{
    char models[256];
    fprintf(f,
"usage: agop --ckpt C.npz --images X.npy --layer NAME [-o OUT.npy]\n"
"            [--layer NAME2 -o OUT2.npy ...] [--count N] [--batch B]\n"
"            [--model %s] [--threads T] [--quiet] [--mean M] [--std S]\n"
"       agop --ckpt C.npz --images X.npy --layer NAME [--layer NAME2 ...]\n"
"            --sizes N1,N2,... [--resamples R] [--seed S] [--count N] [--batch B]\n"
"            [-o TABLE.tsv]\n"
"       agop --help | --version\n"
"\n"
"The patch AGOP of a conv or linear layer: the mean over the first N images of\n"
"X.npy of the sum over the 10 classes and every output position of\n"
"grad_P f_c grad_P f_c^T, where P is the layer's input patch (eval mode). Writes\n"
"float32 [d,d], d = c_in*k*k in (c_in, kh, kw) order (in_features for linear).\n"
"Several layers, each --layer with its own -o (the i-th -o for the i-th --layer),\n"
"share the backward passes: about the time of the deepest one alone.\n"
"\n"
"  --count N     average over the first N images (default %d, or all when the\n"
"                file holds fewer; ResNet-18 does a few images a second a thread,\n"
"                so all 60,000 of MNIST's training set take hours)\n"
"  --batch B     images per backward pass (default 128)\n"
"  --threads T   OpenBLAS and OpenMP threads (default: all cores)\n"
"  -o OUT.npy    write here, atomically (default: standard output)\n"
"  --quiet       no progress (a line at most every 5 s, with the time left) or\n"
"                summary on stderr\n"
"\n"
"With --sizes, no AGOP is written: a table (TSV) of how corr(NFM, AGOP), the\n"
"Pearson correlation of the entries of W^T W and of the AGOP (as corr(1)\n"
"prints it), varies with the number of images n the AGOP averages over. The\n"
"first N images (--count) are the pool, in blocks of B (--batch) images; for\n"
"each n (a multiple of B, at most N), R resamples (default 1000) each draw n/B\n"
"blocks with replacement (seed S, default 0; every layer sees the same draws).\n"
"Columns: layer n pool corr_pool (the whole pool's, exact) resamples\n"
"corr_mean corr_sd ci95_lo ci95_hi (the 2.5%% and 97.5%% quantiles).\n"
"  --mean M --std S   input normalisation (" FE_STR(FE_MEAN) ", " FE_STR(FE_STD) ")\n"
"\n"
"  agop --ckpt runs/quick-mnist/resnet18/epoch-003.npz --images data/mnist/test-images.npy \\\n"
"       --layer conv1 --count 1000 -o agop.npy && corr nfm.npy agop.npy\n"
"  agop --ckpt runs/quick-mnist/resnet18/epoch-003.npz --images data/mnist/train-images.npy \\\n"
"       --count 500 --layer conv1 -o a1.npy --layer layer2.0.conv1 -o a2.npy\n"
"  agop --ckpt runs/quick-mnist/resnet18/epoch-003.npz --images data/mnist/train-images.npy \\\n"
"       --count 4000 --batch 25 --layer conv1 --sizes 100,500,2000 > sizes.tsv\n",
            fe_arch_names(models, sizeof models, "|"), AGOP_COUNT);
}

typedef struct {
    float *g;       /* rows x rows, this batch's sum of dz dz^T (upper triangle) */
    double *acc;    /* rows x rows, the running sum; with --sizes, one per block */
    int rows;
    const int64_t *block;   /* --sizes: the block (batch) being summed, else NULL */
} agop_acc;

static void hook(void *vctx, int slot, const fe_layer *l, const float *dz, int rows, int64_t cols)
{
    (void)l;
    agop_acc *c = (agop_acc *)vctx + slot;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, rows, (int)cols, 1.0f, dz, (int)cols,
                0.0f, c->g, rows);
    double *acc = c->acc + (c->block ? (size_t)*c->block * rows * rows : 0);
    for (int i = 0; i < rows; i++)
        for (int j = i; j < rows; j++)
            acc[(size_t)i * rows + j] += c->g[(size_t)i * rows + j];
}

/* The layer's weights as double [rows, d]; *d set. */
static double *weights(const fe_layer *l, int rows, int *d)
{
    *d = l->conv ? l->conv->g.cin * l->conv->g.k * l->conv->g.k : l->fc->in;
    const float *W = l->conv ? l->conv->w : l->fc->w;
    double *Wd = fe_xmalloc(sizeof(double) * rows * *d);
    for (size_t i = 0; i < (size_t)rows * *d; i++)
        Wd[i] = W[i];
    return Wd;
}

/* The upper triangle of the symmetric n x n matrix S copied into its lower one. */
static void symmetrize(double *S, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            S[(size_t)i * n + j] = S[(size_t)j * n + i];
}

/* AGOP = W^T G W / n in double (G: the accumulated upper triangle of c), as
 * float32 [d,d] in *res; exits naming the layer when it is all zero or not
 * finite (zero weights, a degenerate --mean/--std): no result to write. */
static void finish(const fe_layer *l, agop_acc *c, int64_t count, const char *name, fe_tensor *res)
{
    const int rows = c->rows;
    int d;
    double *G = c->acc, *Wd = weights(l, rows, &d);
    symmetrize(G, rows);
    double *T = fe_xmalloc(sizeof(double) * rows * d), *A = fe_xmalloc(sizeof(double) * d * d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, rows, 1.0, G, rows, Wd, d,
                0.0, T, d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, rows, 1.0 / (double)count, Wd, d,
                T, d, 0.0, A, d);
    int64_t shape[2] = {d, d};
    if (fe_tensor_alloc(res, FE_F32, 2, shape))
        fe_die(PROG, name, "out of memory");
    size_t nonzero = 0, bad = 0;
    for (size_t i = 0; i < (size_t)d * d; i++) {
        const float v = ((float *)res->data)[i] = (float)A[i];
        nonzero += v != 0;
        bad += !isfinite(v);
    }
    free(A); free(T); free(Wd);
    if (bad)
        fe_die(PROG, name, "the AGOP has %zu entries that are not finite in float32 (the "
               "weights or --mean/--std are too large): no result written", bad);
    if (!nonzero)
        fe_die(PROG, name, "the AGOP is all zero (the layer's weights or every gradient reaching "
               "it are zero, or --std makes the input vanish): no result written");
}

/* What corr(NFM, AGOP) needs of one layer's weights (see the top). */
typedef struct {
    int rows;
    double d2;              /* entries of the d x d matrices */
    double *K, *KK, *u;     /* W W^T, (W W^T)^2, W 1 */
    double sN, sNN;         /* sum of NFM's entries and of their squares */
    double *P;              /* rows x rows scratch */
} corr_basis;

static void basis_init(corr_basis *b, const fe_layer *l, int rows)
{
    int d;
    double *W = weights(l, rows, &d);
    const size_t rr = (size_t)rows * rows;
    *b = (corr_basis){.rows = rows, .d2 = (double)d * d, .K = fe_xcalloc(rr, sizeof(double)),
                      .KK = fe_xmalloc(sizeof(double) * rr), .u = fe_xcalloc(rows, sizeof(double)),
                      .P = fe_xmalloc(sizeof(double) * rr)};
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, rows, d, 1.0, W, d, 0.0, b->K, rows);
    symmetrize(b->K, rows);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, rows, rows, 1.0, b->K, rows,
                b->K, rows, 0.0, b->KK, rows);
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < d; j++)
            b->u[i] += W[(size_t)i * d + j];
        b->sN += b->u[i] * b->u[i];
        b->sNN += b->KK[(size_t)i * rows + i];
    }
    free(W);
}

static void basis_free(corr_basis *b)
{
    free(b->K); free(b->KK); free(b->u); free(b->P);
}

/* corr(NFM, W^T G W) for a full symmetric G (rows x rows); NAN when either
 * matrix is constant. */
static double basis_corr(corr_basis *b, const double *G)
{
    const int r = b->rows;
    double sA = 0, sAN = 0, sAA = 0;
    for (int i = 0; i < r; i++) {
        double gu = 0;
        for (int j = 0; j < r; j++) {
            gu += G[(size_t)i * r + j] * b->u[j];
            sAN += G[(size_t)i * r + j] * b->KK[(size_t)i * r + j];
        }
        sA += b->u[i] * gu;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, r, r, 1.0, G, r, b->K, r, 0.0,
                b->P, r);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++)
            sAA += b->P[(size_t)i * r + j] * b->P[(size_t)j * r + i];
    const double vA = sAA - sA * sA / b->d2, vN = b->sNN - b->sN * b->sN / b->d2;
    if (!(vA > 0) || !(vN > 0))
        return NAN;
    return (sAN - sA * b->sN / b->d2) / sqrt(vA * vN);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n-1], linear between order statistics. */
static double quantile(const double *v, int n, double q)
{
    const double h = q * (n - 1);
    const int i = (int)h;
    return i + 1 < n ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* The --sizes table: per layer and size, corr over resampled blocks. */
static void sizes_table(FILE *f, const fe_model *m, const int *li, const char *const *names,
                        agop_acc *acc, int nl, int64_t nblocks, int64_t batch,
                        const int64_t *sizes, int ns, int resamples, uint64_t seed)
{
    fprintf(f, "layer\tn\tpool\tcorr_pool\tresamples\tcorr_mean\tcorr_sd\tci95_lo\tci95_hi\n");
    double *v = fe_xmalloc(sizeof(double) * resamples);
    int64_t *draw = fe_xmalloc(sizeof(int64_t) * (sizes[ns - 1] / batch));
    for (int l = 0; l < nl; l++) {
        const int r = acc[l].rows;
        const size_t rr = (size_t)r * r;
        corr_basis b;
        basis_init(&b, &m->layers[li[l]], r);
        double *G = fe_xmalloc(sizeof(double) * rr);
        memset(G, 0, sizeof(double) * rr);
        for (int64_t k = 0; k < nblocks; k++)
            for (size_t i = 0; i < rr; i++)
                G[i] += acc[l].acc[k * rr + i];
        symmetrize(G, r);
        const double pool = basis_corr(&b, G);
        if (isnan(pool))
            fe_die(PROG, names[l], "W^T W or the AGOP is constant: correlation undefined");
        for (int s = 0; s < ns; s++) {
            const int64_t nb = sizes[s] / batch;
            fe_rng rng;
            fe_rng_seed(&rng, seed, "agop-resample", (uint64_t)sizes[s]);
            double mean = 0, m2 = 0;
            for (int t = 0; t < resamples; t++) {
                for (int64_t k = 0; k < nb; k++)
                    draw[k] = (int64_t)fe_rng_below(&rng, (uint64_t)nblocks);
                memset(G, 0, sizeof(double) * rr);
                for (int64_t k = 0; k < nb; k++) {
                    const double *B = acc[l].acc + draw[k] * rr;
                    for (int i = 0; i < r; i++)
                        for (int j = i; j < r; j++)
                            G[(size_t)i * r + j] += B[(size_t)i * r + j];
                }
                symmetrize(G, r);
                v[t] = basis_corr(&b, G);
                if (isnan(v[t]))
                    fe_die(PROG, names[l], "a resample's AGOP is constant: correlation undefined");
                const double dl = v[t] - mean;
                mean += dl / (t + 1);
                m2 += dl * (v[t] - mean);
            }
            qsort(v, (size_t)resamples, sizeof *v, cmp_double);
            fprintf(f, "%s\t%lld\t%lld\t%.6f\t%d\t%.6f\t%.6f\t%.6f\t%.6f\n", names[l],
                    (long long)sizes[s], (long long)(nblocks * batch), pool, resamples, mean,
                    resamples > 1 ? sqrt(m2 / (resamples - 1)) : 0.0, quantile(v, resamples, 0.025),
                    quantile(v, resamples, 0.975));
        }
        free(G);
        basis_free(&b);
    }
    free(draw);
    free(v);
}

enum { MAXL = 64 };             /* more --layer than either model has */

typedef struct {
    fe_model_args m;            /* --ckpt --images --model --mean --std --threads --batch */
    const char *layer[MAXL], *out[MAXL];
    int nl, no;
    int64_t count;              /* -1: AGOP_COUNT, or every image when there are fewer */
    int quiet;
    int64_t sizes[MAXL];        /* --sizes, ascending; ns = 0: write AGOPs */
    int ns;
    int64_t resamples, seed;
} agop_opts;

/* --sizes N1,N2,...: ascending, distinct, each >= 1. */
static void parse_sizes(agop_opts *o, const fe_cli *cl, int c, const char *arg)
{
    char buf[1024];
    if (strlen(arg) >= sizeof buf)
        fe_cli_bad_value(cl, c, arg);
    strcpy(buf, arg);
    o->ns = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int64_t v;
        if (o->ns == MAXL || fe_parse_i64(t, &v) || v < 1 || (o->ns && v <= o->sizes[o->ns - 1]))
            fe_cli_bad_value(cl, c, arg);
        o->sizes[o->ns++] = v;
    }
    if (!o->ns)
        fe_cli_bad_value(cl, c, arg);
}

static void parse_args(agop_opts *o, int argc, char **argv)
{
    enum { O_LAYER = 256, O_COUNT, O_QUIET, O_SIZES, O_RESAMPLES, O_SEED };
    static const struct option opts[] = {
        FE_OPTION_CKPT, FE_OPTION_IMAGES, FE_OPTION_MODEL, FE_OPTION_MEAN, FE_OPTION_STD,
        FE_OPTION_THREADS, FE_OPTION_BATCH, {"layer", 1, 0, O_LAYER}, {"count", 1, 0, O_COUNT},
        {"quiet", 0, 0, O_QUIET}, {"output", 1, 0, 'o'}, {"sizes", 1, 0, O_SIZES},
        {"resamples", 1, 0, O_RESAMPLES}, {"seed", 1, 0, O_SEED}, FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "o:h", opts, usage};
    *o = (agop_opts){.count = -1, .resamples = 1000};
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
        case O_SIZES: parse_sizes(o, &cl, c, optarg); break;
        case O_RESAMPLES:
            if (fe_parse_i64(optarg, &o->resamples) || o->resamples < 2 || o->resamples > 1000000)
                fe_cli_bad_value(&cl, c, optarg);
            break;
        case O_SEED:
            if (fe_parse_i64(optarg, &o->seed) || o->seed < 0)
                fe_cli_bad_value(&cl, c, optarg);
            break;
        }
    }
    fe_cli_no_operands(&cl, argc, argv);
    if (!o->m.ckpt || !o->m.images || !o->nl)
        fe_usage_error(PROG, "--ckpt, --images and --layer are required");
    if (o->ns && o->no > 1)
        fe_usage_error(PROG, "--sizes writes one table: %d -o", o->no);
    if (o->nl > 1 && o->no != o->nl && !o->ns)
        fe_usage_error(PROG, "%d --layer but %d -o: several layers need one -o each, in the same "
                       "order", o->nl, o->no);
    if (o->nl == 1 && o->no > 1)
        fe_usage_error(PROG, "one --layer but %d -o", o->no);
    for (int i = 0; i < o->nl; i++)
        for (int j = 0; j < i; j++) {
            if (!strcmp(o->layer[i], o->layer[j]))
                fe_usage_error(PROG, "--layer %s given twice", o->layer[i]);
            if (o->nl > 1 && !o->ns && !strcmp(o->out[i], o->out[j]))
                fe_usage_error(PROG, "-o %s given for two layers", o->out[i]);
        }
}

int main(int argc, char **argv)
{
    agop_opts o;
    parse_args(&o, argc, argv);
    /* the outputs distinct and writable before the checkpoint is read and the
     * work done, not after it */
    {
        const char *stdout_only[1] = {NULL};
        fe_err err;
        int bad = 0;
        const char *const *outs = o.no ? (const char *const *)o.out : stdout_only;
        if (fe_out_check(outs, o.no ? o.no : 1, &bad, &err))
            fe_die(PROG, fe_name_out(outs[bad]), "%s", err.msg);
    }
    const int nl = o.nl;
    int64_t count = o.count, batch = o.m.batch;
    fe_tensor img;
    const int64_t maxn = count > 0 ? count : AGOP_COUNT;
    fe_model *m = fe_model_args_open(&o.m, PROG, (int)(maxn < batch ? maxn : batch), &img);
    if (count < 0)
        count = img.shape[0] < AGOP_COUNT ? img.shape[0] : AGOP_COUNT;
    if (count > img.shape[0])
        fe_die(PROG, o.m.images, "--count %lld but the file holds %lld images", (long long)count,
               (long long)img.shape[0]);
    if (count == 0)
        fe_die(PROG, o.m.images, "no images");
    if (batch > count)
        batch = count;
    const int64_t nblocks = o.ns ? count / batch : 1;
    if (o.ns) {
        if (count % batch)
            fe_usage_error(PROG, "--sizes: --count %lld is not a multiple of --batch %lld",
                           (long long)count, (long long)batch);
        for (int i = 0; i < o.ns; i++)
            if (o.sizes[i] % batch || o.sizes[i] > count)
                fe_usage_error(PROG, "--sizes: %lld is not a multiple of --batch %lld up to "
                               "--count %lld", (long long)o.sizes[i], (long long)batch,
                               (long long)count);
    }
    int64_t block = 0;
    int *li = fe_xmalloc(sizeof(int) * nl);
    agop_acc *acc = fe_xcalloc((size_t)nl, sizeof *acc);
    for (int i = 0; i < nl; i++) {
        li[i] = fe_model_layer_or_die(m, PROG, o.layer[i]);
        const fe_layer *l = &m->layers[li[i]];
        const int rows = l->conv ? l->conv->g.cout : l->fc->out;
        acc[i] = (agop_acc){.g = fe_xmalloc(sizeof(float) * rows * rows),
                            .acc = fe_xcalloc((size_t)nblocks * rows * rows, sizeof(double)),
                            .rows = rows, .block = o.ns ? &block : NULL};
    }
    fe_hook h = {.layers = li, .nlayers = nl, .fn = hook, .ctx = acc};
    double t0 = fe_now(), last = t0;
    for (int64_t s = 0; s < count; s += batch) {
        int nb = (int)(count - s < batch ? count - s : batch);
        block = s / batch;
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
            const double ips = (s + nb) / (now - t0), eta = (count - s - nb) / ips;
            fprintf(stderr, PROG ": %s %s%s: %lld/%lld images, %.1f img/s, ETA %.0f %s\n",
                    o.m.name, o.layer[0], nl > 1 ? " and more" : "", (long long)(s + nb),
                    (long long)count, ips, eta < 120 ? eta : eta / 60, eta < 120 ? "s" : "min");
            last = now;
        }
    }
    if (o.ns) {
        fe_out out;
        fe_err err;
        const char *path = o.no ? o.out[0] : NULL;
        if (fe_out_open(&out, path, 1, &err))
            fe_die(PROG, fe_name_out(path), "%s", err.msg);
        sizes_table(out.f, m, li, o.layer, acc, nl, nblocks, batch, o.sizes, o.ns,
                    (int)o.resamples, (uint64_t)o.seed);
        if (fe_out_commit(&out, &err))
            fe_die(PROG, fe_name_out(path), "%s", err.msg);
        if (!o.quiet)
            fprintf(stderr, PROG ": %s: %d layer%s, %d size%s, %lld resamples each in %.1fs\n",
                    o.m.name, nl, FE_PLURAL(nl), o.ns, FE_PLURAL(o.ns), (long long)o.resamples,
                    fe_now() - t0);
    }
    /* every layer's AGOP checked before any is written */
    fe_tensor *res = fe_xcalloc((size_t)nl, sizeof *res);
    for (int i = 0; i < nl && !o.ns; i++)
        finish(&m->layers[li[i]], &acc[i], count, o.layer[i], &res[i]);
    for (int i = 0; i < nl && !o.ns; i++) {
        fe_err err;
        if (npy_save(o.out[i], &res[i], &err))
            fe_die(PROG, fe_name_out(o.out[i]), "%s", err.msg);
        if (!o.quiet)
            fprintf(stderr, PROG ": %s %s over %lld image%s: %lld x %lld in %.1fs\n", o.m.name,
                    o.layer[i], (long long)count, FE_PLURAL(count), (long long)res[i].shape[0],
                    (long long)res[i].shape[1], fe_now() - t0);
        fe_tensor_free(&res[i]);
    }
    free(res);
    for (int i = 0; i < nl; i++) {
        free(acc[i].g);
        free(acc[i].acc);
    }
    free(acc);
    free(li);
    fe_tensor_free(&img);
    fe_model_free(m);
    return 0;
}
