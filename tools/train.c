/* train - train LeNet-5 or ResNet-18 on MNIST .npy files, one checkpoint per epoch.
 *
 * DIR/epoch-000.npz is the initial model, DIR/epoch-00E.npz the model after
 * epoch E (PyTorch state_dict keys), DIR/metrics.tsv a row per epoch,
 * DIR/state.npz the optimiser state and epoch reached (for --resume).
 * Every file is written to a temporary name and renamed into place. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "comm.h"
#include "gemm_bf16.h"
#include "io.h"
#include "model_args.h"
#include "npy.h"
#include "optim.h"
#include "runlock.h"

static const char *prog = "train";

static void usage(FILE *f)
{
    fprintf(f,
"usage: train --model lenet5|resnet18 --images X.npy --labels Y.npy --out DIR\n"
"             --epochs N --batch B --optimizer sgd|adam --lr LR --seed S\n"
"             [--test-images T.npy --test-labels TL.npy] [--val-split F]\n"
"             [--momentum M] [--weight-decay WD] [--init default|normal:STD]\n"
"             [--threads T] [--resume] [--quiet] [--no-shuffle] [--mean M] [--std S]\n"
"             [--limit N] [--test-limit N] [--fresh-optimizer] [--precision fp32|bf16]\n"
"\n"
"Train one of the paper's models on uint8 images [N,28,28] and integer labels [N]\n"
"(as idx2bin writes them). Pixels are scaled to [0,1] and normalised with\n"
"--mean (0.1307) and --std (0.3081).\n"
"\n"
"  --val-split F    hold out this fraction of the images for validation, chosen\n"
"                   with the seed (0 = none); the rest is reshuffled every epoch\n"
"  --init default   PyTorch's default Conv2d/Linear initialisation\n"
"  --init normal:S  every conv weight ~ N(0, S), the rest default\n"
"  --momentum M     SGD momentum (0.9); --weight-decay WD coupled L2 (0)\n"
"  --threads T      OpenBLAS threads (default: all cores); same seed and threads\n"
"                   give bit-identical checkpoints\n"
"  --resume         continue the run in DIR from its last complete epoch\n"
"                   (one train at a time in DIR: a second one is refused, naming\n"
"                   the first one's pid)\n"
"                   (starts afresh when DIR holds no run)\n"
"  --no-shuffle     keep the file order every epoch (for tests)\n"
"  --limit N        use only the first N images of --images (quick runs);\n"
"  --test-limit N   likewise for --test-images\n"
"  --fresh-optimizer  start every epoch with a new optimiser state (SGD momentum\n"
"                   and Adam moments zero, step count 0), as a PyTorch loop that\n"
"                   builds its optimiser once per epoch (the report's Table 1 run)\n"
"  --precision P    fp32 (default) or bf16: ResNet-18's convolutions direct, their\n"
"                   forward and input-gradient products with bfloat16 operands and\n"
"                   float32 sums (AVX512_BF16; refused on CPUs without it), weights,\n"
"                   weight gradients and everything else float32. A study of\n"
"                   precision, slower than fp32 on CPUs measured so far (README)\n"
"  --quiet          no progress on stderr\n"
"\n"
"Data-parallel on MPI (this train: %s):\n"
"  mpirun -np R train ... --threads T   splits every batch into R parts, one per\n"
"  rank; batch-norm statistics and gradients are added over the ranks, so the\n"
"  run is the one-process run up to float32 summation order (the same R gives\n"
"  the same bytes). Rank 0 writes the files; --resume works with any R (DIR\n"
"  on a file system every rank sees). Every batch, the last one too, needs at\n"
"  least R images.\n"
"\n"
"Writes DIR/epoch-000.npz (initial), DIR/epoch-NNN.npz, DIR/metrics.tsv\n"
"(epoch train_loss train_acc val_loss val_acc test_loss test_acc seconds images_per_s\n"
" train_acc_batchmean: the mean of the per-batch accuracies, as a progress bar shows)\n"
"and DIR/state.npz. Example, LeNet-5 at the paper's settings:\n"
"  train --model lenet5 --images data/mnist/train-images.npy \\\n"
"        --labels data/mnist/train-labels.npy --test-images data/mnist/test-images.npy \\\n"
"        --test-labels data/mnist/test-labels.npy --val-split 0.2 --out runs/lenet5 \\\n"
"        --epochs 10 --batch 512 --optimizer adam --lr 1e-4 --init default --seed 0\n",
            fe_comm_is_mpi() ? "built with Open MPI"
                             : "built without MPI: install libopenmpi-dev and rebuild");
}

typedef struct {
    fe_tensor img, lab;     /* uint8 [N,28,28], int64 [N] */
    const char *img_path;
} dataset;

static void load_set(dataset *d, const char *ipath, const char *lpath, int64_t limit,
                     const char *limit_opt)
{
    fe_err err;
    fe_tensor raw;
    d->img_path = ipath;
    fe_load_images(prog, ipath, &d->img);
    if (npy_load(lpath, &raw, &err))
        fe_die(prog, lpath, "%s", err.msg);
    if (raw.ndim != 1 || (raw.dtype != FE_U8 && raw.dtype != FE_I32 && raw.dtype != FE_I64))
        fe_die(prog, lpath, "expected integer labels of shape [N]");
    if (raw.shape[0] != d->img.shape[0])
        fe_die(prog, lpath, "%lld labels for %lld images in %s", (long long)raw.shape[0],
               (long long)d->img.shape[0], ipath);
    int64_t n = raw.shape[0];
    if (limit > n)
        fe_die(prog, ipath, "%s %lld but the file holds %lld images", limit_opt,
               (long long)limit, (long long)n);
    if (limit > 0)                          /* keep the first `limit` images */
        d->img.shape[0] = n = limit;
    if (fe_tensor_alloc(&d->lab, FE_I64, 1, &n))
        fe_die(prog, lpath, "out of memory");
    int64_t *l = d->lab.data;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = raw.dtype == FE_U8 ? ((uint8_t *)raw.data)[i]
                  : raw.dtype == FE_I32 ? ((int32_t *)raw.data)[i] : ((int64_t *)raw.data)[i];
        if (v < 0 || v >= FE_CLASSES)
            fe_die(prog, lpath, "label %lld at index %lld is outside 0..9", (long long)v, (long long)i);
        l[i] = v;
    }
    fe_tensor_free(&raw);
    if (n == 0)
        fe_die(prog, ipath, "no images");
}

/* Mean loss and accuracy (percent) over idx[0..count) in eval mode; under MPI
 * each rank takes its share of every batch and the totals are added up. */
static void evaluate(fe_model *m, const dataset *d, const int64_t *idx, int64_t count, int batch,
                     float mean, float std, const fe_comm *comm, double *loss, double *acc)
{
    double tot[2] = {0, 0};     /* loss summed over images, correct predictions */
    int64_t correct = 0;
    int64_t *labels = fe_xmalloc(sizeof(int64_t) * batch);
    fe_model_fix_weights(m, 1);
    for (int64_t s = 0; s < count; s += batch) {
        const int nb = (int)(count - s < batch ? count - s : batch);
        const int lo = (int)((int64_t)nb * comm->rank / comm->size);
        const int nl = (int)((int64_t)nb * (comm->rank + 1) / comm->size) - lo;
        if (nl == 0)
            continue;
        fe_model_set_input(m, d->img.data, idx + s + lo, nl, mean, std);
        for (int j = 0; j < nl; j++)
            labels[j] = ((int64_t *)d->lab.data)[idx[s + lo + j]];
        fe_model_forward(m, nl, 0);
        tot[0] += softmax_xent(FE_CLASSES, nl, m->logits, labels, NULL, &correct, NULL) * nl;
    }
    fe_model_fix_weights(m, 0);
    free(labels);
    tot[1] = (double)correct;
    comm->sum_f64(comm, tot, 2);
    *loss = tot[0] / (double)count;
    *acc = 100.0 * tot[1] / (double)count;
}

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
        fe_die(prog, dir, "path too long");
}

/* Metrics rows kept in memory and rewritten atomically after every epoch. */
typedef struct {
    char **rows;
    int n;
} metrics;

static const char *METRICS_HEADER =
    "epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\ttest_loss\ttest_acc\tseconds\timages_per_s"
    "\ttrain_acc_batchmean\n";
/* The header before train_acc_batchmean: such runs resume, their rows padded. */
static const char *METRICS_HEADER_V1 =
    "epoch\ttrain_loss\ttrain_acc\tval_loss\tval_acc\ttest_loss\ttest_acc\tseconds\timages_per_s\n";

static void metrics_write(const metrics *mt, const char *dir)
{
    char path[4096];
    fe_err err;
    fe_out o;
    path_in(path, sizeof path, dir, "metrics.tsv");
    if (fe_out_open(&o, path, 1, &err))
        fe_die(prog, path, "%s", err.msg);
    fputs(METRICS_HEADER, o.f);
    for (int i = 0; i < mt->n; i++)
        fputs(mt->rows[i], o.f);
    if (fe_out_commit(&o, &err))
        fe_die(prog, path, "%s", err.msg);
}

/* Keep rows of epochs <= upto from an existing metrics.tsv. */
static void metrics_read(metrics *mt, const char *dir, int upto)
{
    char path[4096], line[1024];
    path_in(path, sizeof path, dir, "metrics.tsv");
    FILE *f = fopen(path, "r");
    if (!f)
        fe_die(prog, path, "cannot resume: %s", strerror(errno));
    int v1 = 0;
    if (!fgets(line, sizeof line, f) || (strcmp(line, METRICS_HEADER) && !(v1 = !strcmp(line, METRICS_HEADER_V1))))
        fe_die(prog, path, "cannot resume: not a featevo metrics file");
    while (fgets(line, sizeof line, f)) {
        int e = atoi(line);
        if (e > upto)
            break;
        size_t len = strlen(line);
        if (v1 && len > 0 && line[len - 1] == '\n' && len + 1 < sizeof line)
            memcpy(line + len - 1, "\t\n", 3);    /* no train_acc_batchmean then */
        mt->rows = realloc(mt->rows, sizeof(char *) * (mt->n + 1));
        mt->rows[mt->n++] = strdup(line);
    }
    fclose(f);
    if (mt->n != upto + 1)
        fe_die(prog, path, "cannot resume: %d rows for %d epochs", mt->n, upto + 1);
}

static void metrics_add(metrics *mt, int epoch, int have_train, double tl, double ta, int have_val,
                        double vl, double va, int have_test, double sl, double sa, double secs,
                        double ips, double tab)
{
    char row[512], a[64], b[64], c[64], d[64], e[64], f[64], g[64], h[64];
    a[0] = b[0] = c[0] = d[0] = e[0] = f[0] = g[0] = h[0] = 0;
    if (have_train) {
        snprintf(a, sizeof a, "%.6f", tl);
        snprintf(b, sizeof b, "%.3f", ta);
        snprintf(g, sizeof g, "%.1f", ips);
        snprintf(h, sizeof h, "%.3f", tab);
    }
    if (have_val) {
        snprintf(c, sizeof c, "%.6f", vl);
        snprintf(d, sizeof d, "%.3f", va);
    }
    if (have_test) {
        snprintf(e, sizeof e, "%.6f", sl);
        snprintf(f, sizeof f, "%.3f", sa);
    }
    snprintf(row, sizeof row, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\n", epoch, a, b, c, d, e, f,
             secs, g, h);
    mt->rows = realloc(mt->rows, sizeof(char *) * (mt->n + 1));
    mt->rows[mt->n++] = strdup(row);
}

/* state.npz: the epoch reached, the optimiser state and the run's identity. */
static void state_save(const char *dir, int epoch, const fe_optim *o, const int64_t *ident, int nident)
{
    char path[4096];
    fe_err err;
    int64_t e64 = epoch, step = o->step, nid = nident, n = (int64_t)o->n;
    npz_entry e[4];
    memset(e, 0, sizeof e);
    e[0] = (npz_entry){.name = "epoch", .t = {.dtype = FE_I64, .ndim = 0, .data = &e64}};
    e[1] = (npz_entry){.name = "step", .t = {.dtype = FE_I64, .ndim = 0, .data = &step}};
    e[2] = (npz_entry){.name = "run", .t = {.dtype = FE_I64, .ndim = 1, .shape = {nid}, .data = (void *)ident}};
    e[3] = (npz_entry){.name = "optim.buf", .t = {.dtype = FE_F32, .ndim = 1, .shape = {n}, .data = o->buf}};
    npz_entry all[5];
    memcpy(all, e, sizeof e);
    int cnt = 4;
    if (o->sq)
        all[cnt++] = (npz_entry){.name = "optim.sq", .t = {.dtype = FE_F32, .ndim = 1, .shape = {n}, .data = o->sq}};
    path_in(path, sizeof path, dir, "state.npz");
    if (npz_save(path, all, cnt, &err))
        fe_die(prog, path, "%s", err.msg);
}

/* Returns the epoch reached, or -1 when there is no state file. */
static int state_load(const char *dir, fe_optim *o, const int64_t *ident, int nident)
{
    char path[4096];
    fe_err err;
    npz_t z = {0};
    path_in(path, sizeof path, dir, "state.npz");
    if (access(path, F_OK))
        return -1;
    if (npz_load(path, &z, &err))
        fe_die(prog, path, "%s", err.msg);
    const fe_tensor *ep = npz_get(&z, "epoch"), *st = npz_get(&z, "step"), *run = npz_get(&z, "run"),
                    *buf = npz_get(&z, "optim.buf"), *sq = npz_get(&z, "optim.sq");
    if (!ep || !st || !run || !buf || ep->dtype != FE_I64 || st->dtype != FE_I64 ||
        run->dtype != FE_I64 || buf->dtype != FE_F32 || (o->sq && (!sq || sq->dtype != FE_F32)))
        fe_die(prog, path, "not a featevo training state");
    if (run->ndim != 1 || run->shape[0] != nident || memcmp(run->data, ident, sizeof(int64_t) * nident))
        fe_die(prog, path, "this run was started with other settings (model, optimiser, "
               "--fresh-optimizer, precision, seed, batch, split, normalisation or data size); use another "
               "--out DIR");
    if (fe_numel(ep) != 1 || fe_numel(st) != 1)
        fe_die(prog, path, "epoch and step must be single numbers");
    if (buf->ndim != 1 || buf->shape[0] != (int64_t)o->n ||
        (o->sq && (sq->ndim != 1 || sq->shape[0] != (int64_t)o->n)))
        fe_die(prog, path, "optimiser state has the wrong shape (expected [%zu])", o->n);
    const int64_t epoch64 = *(int64_t *)ep->data, step = *(int64_t *)st->data;
    if (epoch64 < 0 || epoch64 > 100000 || step < 0)
        fe_die(prog, path, "epoch %lld, step %lld: out of range", (long long)epoch64, (long long)step);
    for (int k = 0; k < (o->sq ? 2 : 1); k++) {
        const float *v = (const float *)(k ? sq : buf)->data;
        for (size_t i = 0; i < o->n; i++)
            if (!isfinite(v[i]))
                fe_die(prog, path, "optim.%s element %zu is not finite (%g)", k ? "sq" : "buf", i,
                       (double)v[i]);
    }
    memcpy(o->buf, buf->data, sizeof(float) * o->n);
    if (o->sq)
        memcpy(o->sq, sq->data, sizeof(float) * o->n);
    o->step = step;
    int epoch = (int)epoch64;
    npz_free(&z);
    return epoch;
}

static void progress(int live, int epoch, int epochs, int b, int nb, double loss, double acc,
                     double ips, double eta)
{
    if (live)
        fprintf(stderr, "\repoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  %.0f img/s  ETA %.0fs   ",
                epoch, epochs, b, nb, loss, acc, ips, eta);
    else
        fprintf(stderr, "train: epoch %d/%d batch %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %.0fs\n",
                epoch, epochs, b, nb, loss, acc, ips, eta);
}

int main(int argc, char **argv)
{
    const char *model_s = NULL, *images = NULL, *labels = NULL, *timages = NULL, *tlabels = NULL;
    const char *out = NULL, *optim_s = NULL, *init_s = "default";
    int64_t epochs = -1, batch = -1, seed = -1, threads = 0;
    double lr = NAN, momentum = 0.9, wd = 0.0, val_split = 0.0, mean = 0.1307, std = 0.3081;
    int64_t limit = 0, test_limit = 0;
    int resume = 0, quiet = 0, shuffle = 1, fresh_opt = 0, bf16 = 0;
    enum { O_MODEL = 256, O_IMAGES, O_LABELS, O_TIMAGES, O_TLABELS, O_OUT, O_EPOCHS, O_BATCH,
           O_OPT, O_LR, O_MOM, O_WD, O_INIT, O_SEED, O_VAL, O_THREADS, O_RESUME, O_QUIET,
           O_NOSHUF, O_MEAN, O_STD, O_LIMIT, O_TLIMIT, O_FRESH, O_PREC };
    static const struct option opts[] = {
        {"model", 1, 0, O_MODEL}, {"images", 1, 0, O_IMAGES}, {"labels", 1, 0, O_LABELS},
        {"test-images", 1, 0, O_TIMAGES}, {"test-labels", 1, 0, O_TLABELS}, {"out", 1, 0, O_OUT},
        {"epochs", 1, 0, O_EPOCHS}, {"batch", 1, 0, O_BATCH}, {"optimizer", 1, 0, O_OPT},
        {"lr", 1, 0, O_LR}, {"momentum", 1, 0, O_MOM}, {"weight-decay", 1, 0, O_WD},
        {"init", 1, 0, O_INIT}, {"seed", 1, 0, O_SEED}, {"val-split", 1, 0, O_VAL},
        {"threads", 1, 0, O_THREADS}, {"resume", 0, 0, O_RESUME}, {"quiet", 0, 0, O_QUIET},
        {"no-shuffle", 0, 0, O_NOSHUF}, {"mean", 1, 0, O_MEAN}, {"std", 1, 0, O_STD},
        {"limit", 1, 0, O_LIMIT}, {"test-limit", 1, 0, O_TLIMIT},
        {"fresh-optimizer", 0, 0, O_FRESH}, {"precision", 1, 0, O_PREC}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    fe_blas_autoselect(argv);
    opterr = 0;
    int oi;
    while ((oi = -1, c = getopt_long(argc, argv, "h", opts, &oi)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case O_MODEL: model_s = optarg; break;
        case O_IMAGES: images = optarg; break;
        case O_LABELS: labels = optarg; break;
        case O_TIMAGES: timages = optarg; break;
        case O_TLABELS: tlabels = optarg; break;
        case O_OUT: out = optarg; break;
        case O_EPOCHS: bad = fe_parse_i64(optarg, &epochs) || epochs < 0 || epochs > 100000; break;
        case O_BATCH: bad = fe_parse_i64(optarg, &batch) || batch < 1 || batch > 65536; break;
        case O_OPT: optim_s = optarg; break;
        case O_LR: bad = fe_parse_double(optarg, &lr) || lr <= 0; break;
        case O_MOM: bad = fe_parse_double(optarg, &momentum) || momentum < 0; break;
        case O_WD: bad = fe_parse_double(optarg, &wd) || wd < 0; break;
        case O_INIT: init_s = optarg; break;
        case O_SEED: bad = fe_parse_i64(optarg, &seed) || seed < 0; break;
        case O_VAL: bad = fe_parse_double(optarg, &val_split) || val_split < 0 || val_split >= 1; break;
        case O_THREADS: bad = fe_parse_i64(optarg, &threads) || threads < 0 || threads > 1024; break;
        case O_RESUME: resume = 1; break;
        case O_QUIET: quiet = 1; break;
        case O_NOSHUF: shuffle = 0; break;
        case O_FRESH: fresh_opt = 1; break;
        case O_PREC:
            bad = strcmp(optarg, "fp32") && strcmp(optarg, "bf16");
            bf16 = !strcmp(optarg, "bf16");
            break;
        case O_MEAN: bad = fe_parse_double(optarg, &mean); break;
        case O_STD: bad = fe_parse_double(optarg, &std) || std <= 0; break;
        case O_LIMIT: bad = fe_parse_i64(optarg, &limit) || limit < 1; break;
        case O_TLIMIT: bad = fe_parse_i64(optarg, &test_limit) || test_limit < 1; break;
        default:
            fprintf(stderr, "train: unknown or incomplete option '%s' (see train --help)\n",
                    argv[optind - 1]);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "train: invalid value '%s' for --%s (see train --help)\n", optarg,
                    oi >= 0 ? opts[oi].name : "?");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "train: unexpected argument '%s' (see train --help)\n", argv[optind]);
        return 2;
    }
    const char *missing = !model_s ? "--model" : !images ? "--images" : !labels ? "--labels"
                        : !out ? "--out" : epochs < 0 ? "--epochs" : batch < 0 ? "--batch"
                        : !optim_s ? "--optimizer" : isnan(lr) ? "--lr" : seed < 0 ? "--seed" : NULL;
    if (missing) {
        fprintf(stderr, "train: %s is required (see train --help)\n", missing);
        return 2;
    }
    fe_arch arch;
    if (fe_arch_parse(model_s, &arch)) {
        fprintf(stderr, "train: unknown model '%s' (lenet5 or resnet18)\n", model_s);
        return 2;
    }
    fe_optim_kind okind;
    if (!strcmp(optim_s, "sgd"))
        okind = FE_SGD;
    else if (!strcmp(optim_s, "adam"))
        okind = FE_ADAM;
    else {
        fprintf(stderr, "train: unknown optimizer '%s' (sgd or adam)\n", optim_s);
        return 2;
    }
    double conv_std = 0;
    if (!strncmp(init_s, "normal:", 7)) {
        if (fe_parse_double(init_s + 7, &conv_std) || conv_std <= 0) {
            fprintf(stderr, "train: invalid --init '%s' (normal:STD with STD > 0)\n", init_s);
            return 2;
        }
    } else if (strcmp(init_s, "default")) {
        fprintf(stderr, "train: unknown --init '%s' (default or normal:STD)\n", init_s);
        return 2;
    }
    if (!timages != !tlabels) {
        fprintf(stderr, "train: --test-images and --test-labels go together\n");
        return 2;
    }
    if (bf16 && arch != FE_RESNET18) {
        fprintf(stderr, "train: --precision bf16 is for resnet18 (LeNet-5 trains in fp32)\n");
        return 2;
    }
    if (bf16 && !fe_bf16_supported()) {
        fprintf(stderr, "train: --precision bf16: this CPU has no AVX512_BF16 (bfloat16 dot "
                "products); use --precision fp32\n");
        return 2;
    }

    /* Under mpirun: one rank of a data-parallel run (comm.h); else one process. */
    fe_comm comm;
    fe_comm_open(prog, &argc, &argv, &comm);
    const int R = comm.size, me = comm.rank;
    if (me != 0)
        quiet = 1;              /* rank 0 speaks and writes for the run */

    dataset train, test;
    memset(&test, 0, sizeof test);
    load_set(&train, images, labels, limit, "--limit");
    if (timages)
        load_set(&test, timages, tlabels, test_limit, "--test-limit");

    /* Every check of the arguments and data comes before --out is created. */
    const int64_t N = train.img.shape[0];
    int64_t n_val = (int64_t)llround(val_split * (double)N), n_tr = N - n_val;
    if (n_tr < 1)
        fe_die(prog, images, "--val-split %g leaves no training images", val_split);
    if (R > 1 && (batch < R || (n_tr % batch && n_tr % batch < R)))
        fe_die(prog, images, "%lld training images in batches of %lld leave a batch of %lld: "
               "fewer than one image for each of the %d ranks", (long long)n_tr,
               (long long)batch, (long long)(batch < R ? batch : n_tr % batch), R);

    if (me == 0) {
        if (mkdir(out, 0777) && errno != EEXIST)
            fe_die(prog, out, "cannot create the output directory: %s", strerror(errno));
        struct stat st;
        if (stat(out, &st) || !S_ISDIR(st.st_mode))
            fe_die(prog, out, "not a directory");
        if (access(out, W_OK))
            fe_die(prog, out, "output directory is not writable");
        /* One train per run directory; the kernel drops the lock when this process ends. */
        fe_err lerr;
        if (fe_run_lock(out, &lerr) < 0)
            fe_die(prog, out, "%s", lerr.msg);
    }
    comm.barrier(&comm);

    int nthreads = fe_blas_threads((int)threads);
    fe_err err;
    fe_model *m = fe_model_new(arch, (int)batch, 0, &err);
    if (!m)
        fe_die(prog, model_s, "%s", err.msg);
    m->bf16 = bf16;
    m->comm = R > 1 ? &comm : NULL;
    fe_optim opt;
    if (fe_optim_init(&opt, okind, m->nparams))
        fe_die(prog, out, "out of memory");
    opt.lr = lr;
    opt.momentum = momentum;
    opt.weight_decay = wd;
    /* The run's identity, checked on --resume. */
    /* (--fresh-optimizer and bf16 add elements, so runs made before them still resume) */
    int64_t ident[16] = {arch, okind, seed, batch, n_val, N, test_limit, (int64_t)(lr * 1e12),
                         (int64_t)(wd * 1e12), (int64_t)(momentum * 1e12), shuffle,
                         (int64_t)(conv_std * 1e12), (int64_t)(mean * 1e12), (int64_t)(std * 1e12)};
    int nident = 14;
    if (fresh_opt)
        ident[nident++] = 1;
    if (bf16)
        ident[nident++] = 16;

    char path[4096], blas[256];
    metrics mt = {0};
    int start = -1;
    if (resume)
        start = state_load(out, &opt, ident, nident);
    else {
        path_in(path, sizeof path, out, "state.npz");
        if (!access(path, F_OK))
            fe_die(prog, out, "already holds a run; use --resume to continue it or choose another --out");
    }
    comm.barrier(&comm);        /* every rank has looked before rank 0 writes */
    if (!quiet) {
        fprintf(stderr, "train: %s, %lld train / %lld validation / %lld test images, batch %lld, "
                "%lld epochs\n", fe_arch_name(arch), (long long)n_tr, (long long)n_val,
                (long long)(timages ? test.img.shape[0] : 0), (long long)batch, (long long)epochs);
        fprintf(stderr, "train: %s lr %g momentum %g weight_decay %g init %s seed %lld "
                "normalise (x-%g)/%g shuffle %s%s%s\n", optim_s, lr, okind == FE_SGD ? momentum : 0.0,
                wd, init_s, (long long)seed, mean, std, shuffle ? "on" : "off",
                fresh_opt ? ", a fresh optimiser every epoch" : "",
                bf16 ? ", bf16 convolution products" : "");
        fprintf(stderr, "train: BLAS %s (asked for %d)\n", fe_blas_describe(blas, sizeof blas),
                nthreads);
        fprintf(stderr, "train: %zu parameters, %.0f MiB of activations and scratch\n",
                m->nparams, m->nacts * 4.0 / 1048576.0);
        if (R > 1)
            fprintf(stderr, "train: data-parallel: %s, about %lld images per rank per batch\n",
                    comm.name, (long long)(batch / R));
    }
    if (start >= 0) {
        snprintf(path, sizeof path, "%s/epoch-%03d.npz", out, start);
        if (fe_model_load(m, path, &err))
            fe_die(prog, path, "cannot resume: %s", err.msg);
        metrics_read(&mt, out, start);
        if (!quiet)
            fprintf(stderr, "train: resuming %s after epoch %d\n", out, start);
    }

    /* Split: a seeded permutation; the last n_val indices are the validation set.
     * (Allocated only after the checks of --resume: fe_die does not return, so
     * the compiler need not keep these pointers anywhere a leak checker looks.) */
    int64_t *perm = fe_xmalloc(sizeof(int64_t) * N);
    for (int64_t i = 0; i < N; i++)
        perm[i] = i;
    fe_rng rng;
    if (n_val > 0) {
        fe_rng_seed(&rng, (uint64_t)seed, "split", 0);
        fe_rng_permute(&rng, perm, N);
    }
    const int64_t *val_idx = n_val ? perm + n_tr : NULL;    /* (not one past the end) */
    int64_t *order = fe_xmalloc(sizeof(int64_t) * n_tr);
    int64_t *test_idx = NULL;
    if (timages) {
        test_idx = fe_xmalloc(sizeof(int64_t) * test.img.shape[0]);
        for (int64_t i = 0; i < test.img.shape[0]; i++)
            test_idx[i] = i;
    }

    if (start < 0) {
        fe_rng_seed(&rng, (uint64_t)seed, "init", 0);
        fe_model_init(m, &rng, conv_std);
        double vl = 0, va = 0, sl = 0, sa = 0;
        if (n_val)
            evaluate(m, &train, val_idx, n_val, (int)batch, mean, std, &comm, &vl, &va);
        if (timages)
            evaluate(m, &test, test_idx, test.img.shape[0], (int)batch, mean, std, &comm, &sl, &sa);
        snprintf(path, sizeof path, "%s/epoch-000.npz", out);
        metrics_add(&mt, 0, 0, 0, 0, n_val > 0, vl, va, timages != NULL, sl, sa, 0, 0, 0);
        if (me == 0) {
            if (fe_model_save(m, path, &err))
                fe_die(prog, path, "%s", err.msg);
            metrics_write(&mt, out);
            state_save(out, 0, &opt, ident, nident);
        }
        start = 0;
    }

    int live = !quiet && isatty(2);
    int64_t *lab = fe_xmalloc(sizeof(int64_t) * batch);
    const int nbatches = (int)((n_tr + batch - 1) / batch);
    char diverged[256] = "";    /* set, the loops end and everything is freed before the exit */
    for (int epoch = start + 1; epoch <= epochs && !diverged[0]; epoch++) {
        for (int64_t i = 0; i < n_tr; i++)
            order[i] = perm[i];
        if (shuffle) {
            fe_rng_seed(&rng, (uint64_t)seed, "shuffle", (uint64_t)epoch);
            fe_rng_permute(&rng, order, n_tr);
        }
        if (fresh_opt)
            fe_optim_reset(&opt);
        double t0 = fe_now(), last = t0, loss_sum = 0, bacc_sum = 0, comm0 = comm.seconds(&comm);
        int64_t correct = 0;
        for (int b = 0; b < nbatches; b++) {
            int64_t s = (int64_t)b * batch;
            int nb = (int)(n_tr - s < batch ? n_tr - s : batch);
            /* this rank's part of the batch: images [lo, lo + nl) (all of it in one process) */
            const int lo = (int)((int64_t)nb * me / R), nl = (int)((int64_t)nb * (me + 1) / R) - lo;
            fe_model_set_input(m, train.img.data, order + s + lo, nl, (float)mean, (float)std);
            for (int j = 0; j < nl; j++)
                lab[j] = ((int64_t *)train.lab.data)[order[s + lo + j]];
            fe_model_forward(m, nl, 1);
            int64_t got = 0;
            double loss = softmax_xent(FE_CLASSES, nl, m->logits, lab, m->dlogits, &got, NULL);
            if (R > 1) {        /* the whole batch's mean loss: dlogits / nb, not / nl */
                double tot[2] = {loss * nl, (double)got};
                comm.sum_f64(&comm, tot, 2);
                loss = tot[0] / nb;
                got = (int64_t)tot[1];
                const float scale = (float)nl / (float)nb;
                for (size_t i = 0; i < (size_t)FE_CLASSES * nl; i++)
                    m->dlogits[i] *= scale;
            }
            correct += got;
            bacc_sum += 100.0 * (double)got / nb;
            if (!isfinite(loss)) {
                snprintf(diverged, sizeof diverged, "training diverged: loss is %g at epoch %d, "
                         "batch %d; the last good checkpoint is epoch-%03d.npz", loss, epoch,
                         b + 1, epoch - 1);
                break;
            }
            fe_model_backward(m, 1, NULL);
            comm.sum_f32(&comm, m->grads, m->nparams);     /* the whole batch's gradient */
            fe_optim_step(&opt, m->params, m->grads);
            loss_sum += loss;
            double now = fe_now();
            if (!quiet && (b + 1 == nbatches || now - last > (live ? 0.5 : 30.0))) {
                double seen = (double)(s + nb), ips = seen / (now - t0);
                progress(live, epoch, (int)epochs, b + 1, nbatches, loss_sum / (b + 1),
                         100.0 * correct / seen, ips, (n_tr - seen) / ips);
                last = now;
            }
        }
        if (diverged[0])
            break;
        double secs = fe_now() - t0, comm_secs = comm.seconds(&comm) - comm0;
        if (live)
            fputc('\n', stderr);
        if (R > 1 && !quiet)
            fprintf(stderr, "train: epoch %d: %.1f s of %.1f in the sums over %d ranks "
                    "(%.1f ms a step: gradients %.1f MB, loss and batch-norm statistics)\n",
                    epoch, comm_secs, secs, R, 1e3 * comm_secs / nbatches,
                    m->nparams * 4.0 / 1e6);
        double vl = 0, va = 0, sl = 0, sa = 0;
        if (n_val)
            evaluate(m, &train, val_idx, n_val, (int)batch, mean, std, &comm, &vl, &va);
        if (timages)
            evaluate(m, &test, test_idx, test.img.shape[0], (int)batch, mean, std, &comm, &sl, &sa);
        snprintf(path, sizeof path, "%s/epoch-%03d.npz", out, epoch);
        metrics_add(&mt, epoch, 1, loss_sum / nbatches, 100.0 * correct / n_tr, n_val > 0, vl, va,
                    timages != NULL, sl, sa, secs, n_tr / secs, bacc_sum / nbatches);
        if (me == 0) {
            if (fe_model_save(m, path, &err))
                fe_die(prog, path, "%s", err.msg);
            metrics_write(&mt, out);
            state_save(out, epoch, &opt, ident, nident);
        }
        if (!quiet) {
            fprintf(stderr, "train: epoch %d: train loss %.4f acc %.2f%%", epoch,
                    loss_sum / nbatches, 100.0 * correct / n_tr);
            if (n_val)
                fprintf(stderr, ", val loss %.4f acc %.2f%%", vl, va);
            if (timages)
                fprintf(stderr, ", test loss %.4f acc %.2f%%", sl, sa);
            fprintf(stderr, ", %.1fs (%.0f img/s)", secs, n_tr / secs);
            if (epoch < epochs) { /* the whole run's end, at this epoch's pace (evaluation too) */
                const double left = (fe_now() - t0) * (double)(epochs - epoch);
                fprintf(stderr, "; about %.0f %s to epoch %d", left < 120 ? left : left / 60,
                        left < 120 ? "s" : "min", (int)epochs);
            }
            fprintf(stderr, "\n");
        }
    }
    for (int i = 0; i < mt.n; i++)
        free(mt.rows[i]);
    free(mt.rows);
    free(lab);
    free(order);
    free(perm);
    free(test_idx);
    fe_optim_free(&opt);
    fe_model_free(m);
    fe_tensor_free(&train.img);
    fe_tensor_free(&train.lab);
    fe_tensor_free(&test.img);
    fe_tensor_free(&test.lab);
    if (diverged[0]) {
        if (me != 0)            /* rank 0 says it */
            exit(1);
        fe_die(prog, out, "%s", diverged);
    }
    fe_comm_close(&comm);
    return 0;
}
