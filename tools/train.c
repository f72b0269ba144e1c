/* train - train LeNet-5 or ResNet-18 on MNIST, a checkpoint (.npz) per epoch.
 *
 * DIR/epoch-000.npz is the initial model, DIR/epoch-00E.npz the model after
 * epoch E (PyTorch state_dict keys), DIR/metrics.tsv a row per epoch,
 * DIR/state.npz the optimiser state, epoch reached and the run's settings (for
 * --resume).  Every file is written to a temporary name and renamed into place.
 *
 * main reads as the run goes: parse_train_args, run_open (data, run directory,
 * model, optimiser, what --resume finds), record_epoch for the initial model,
 * then train_epoch and record_epoch for every epoch, run_close. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "comm.h"
#include "esc.h"
#include "io.h"
#include "model_args.h"
#include "npy.h"
#include "optim.h"
#include "runlock.h"

#define PROG "train"

static void usage(FILE *f)
{
    char models[256];
    fprintf(f,
"usage: train --model %s --images X.npy --labels Y.npy --out DIR\n"
"             --epochs N --batch B --optimizer sgd|adam --lr LR --seed S\n"
"             [--test-images T.npy --test-labels TL.npy] [--val-split F]\n"
"             [--momentum M] [--weight-decay WD] [--init default|normal:STD]\n"
"             [--threads T] [--resume] [--quiet] [--no-shuffle] [--mean M] [--std S]\n"
"             [--limit N] [--test-limit N] [--fresh-optimizer] [--precision fp32|bf16]\n"
"       train --help | --version\n"
"\n"
"Train one of the paper's models on uint8 images [N,28,28] and integer labels [N]\n"
"(as idx2bin writes them). Pixels are scaled to [0,1] and normalised with\n"
"--mean (" FE_STR(FE_MEAN) ") and --std (" FE_STR(FE_STD) ").\n"
"\n"
"  --val-split F    hold out this fraction of the images for validation, chosen\n"
"                   with the seed (0 = none); the rest is reshuffled every epoch\n"
"  --init default   PyTorch's default Conv2d/Linear initialisation\n"
"  --init normal:S  every conv weight ~ N(0, S), the rest default (1e-30 <= S <= 1e6)\n"
"  --lr LR          the learning rate, 0 < LR <= 1e6\n"
"  --momentum M     SGD momentum, 0..1 (0.9); --weight-decay WD coupled L2, 0..1e6 (0)\n"
"  --mean M --std S  -1e6 <= M <= 1e6, 1e-6 <= S <= 1e6\n"
"  --out DIR        the run directory, made with its parents if missing\n"
"  --threads T      OpenBLAS threads (default: all cores); same seed and threads\n"
"                   give bit-identical checkpoints\n"
"  --resume         continue the run in DIR from its last complete epoch, if\n"
"                   it was started with the same settings (starts afresh when DIR\n"
"                   holds no run; says 'nothing to do' and exits 0 when it is\n"
"                   already at --epochs; warns when --threads differs from the\n"
"                   last epoch's; one train at a time in DIR: a second one is\n"
"                   refused, naming the first one's pid)\n"
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
"  --quiet          no progress on stderr (warnings and errors still)\n"
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
"        --test-labels data/mnist/test-labels.npy --val-split 0.2 --out runs/lenet5-mine \\\n"
"        --epochs 10 --batch 512 --optimizer adam --lr 1e-4 --init default --seed 0\n",
            fe_arch_names(models, sizeof models, "|"), fe_comm_is_mpi() ? "built with Open MPI"
                             : "built without MPI: install libopenmpi-dev and rebuild");
}

/* ---- the command line ------------------------------------------------------ */

struct train_opts {
    fe_model_args m;            /* --model --images --batch --threads --mean --std --precision */
    const char *labels, *timages, *tlabels, *out, *optim_s, *init_s;
    int64_t epochs, seed, limit, test_limit;    /* limit, test_limit: 0 = all */
    double lr, momentum, wd, val_split;
    fe_optim_kind okind;
    double conv_std;            /* --init normal:STD; 0: --init default */
    int resume, quiet, shuffle, fresh_opt;
};

/* The ranges of the real-valued settings (featevo-train(1)): beyond them the
 * weights or their updates overflow float32 at once, or the setting does nothing. */
#define LR_MAX 1e6
#define WD_MAX 1e6
#define INIT_STD_MIN 1e-30
#define INIT_STD_MAX 1e6

/* Every check of the command line alone; a usage error exits 2. */
static void parse_train_args(struct train_opts *o, int argc, char **argv)
{
    enum { O_LABELS = 256, O_TIMAGES, O_TLABELS, O_OUT, O_EPOCHS, O_OPT, O_LR, O_MOM, O_WD,
           O_INIT, O_SEED, O_VAL, O_RESUME, O_QUIET, O_NOSHUF, O_LIMIT, O_TLIMIT, O_FRESH };
    static const struct option opts[] = {
        FE_OPTION_MODEL, FE_OPTION_IMAGES, {"labels", 1, 0, O_LABELS},
        {"test-images", 1, 0, O_TIMAGES}, {"test-labels", 1, 0, O_TLABELS}, {"out", 1, 0, O_OUT},
        {"epochs", 1, 0, O_EPOCHS}, FE_OPTION_BATCH, {"optimizer", 1, 0, O_OPT},
        {"lr", 1, 0, O_LR}, {"momentum", 1, 0, O_MOM}, {"weight-decay", 1, 0, O_WD},
        {"init", 1, 0, O_INIT}, {"seed", 1, 0, O_SEED}, {"val-split", 1, 0, O_VAL},
        FE_OPTION_THREADS, {"resume", 0, 0, O_RESUME}, {"quiet", 0, 0, O_QUIET},
        {"no-shuffle", 0, 0, O_NOSHUF}, FE_OPTION_MEAN, FE_OPTION_STD,
        {"limit", 1, 0, O_LIMIT}, {"test-limit", 1, 0, O_TLIMIT},
        {"fresh-optimizer", 0, 0, O_FRESH}, FE_OPTION_PRECISION, FE_STD_OPTIONS, {0, 0, 0, 0}};
    const fe_cli cl = {PROG, "h", opts, usage};
    *o = (struct train_opts){.init_s = "default", .epochs = -1, .seed = -1, .lr = NAN,
                             .momentum = 0.9, .shuffle = 1};
    fe_model_args_init(&o->m, argv, -1);
    int c;
    while ((c = fe_cli_next(&cl, argc, argv)) != -1) {
        if (fe_model_args_opt(&o->m, &cl, c, optarg))
            continue;
        int bad = 0;
        switch (c) {
        case O_LABELS: o->labels = optarg; break;
        case O_TIMAGES: o->timages = optarg; break;
        case O_TLABELS: o->tlabels = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_EPOCHS: bad = fe_parse_i64(optarg, &o->epochs) || o->epochs < 0 || o->epochs > 100000; break;
        case O_OPT: o->optim_s = optarg; break;
        case O_LR: o->lr = fe_cli_real(&cl, c, optarg, 0, 1, LR_MAX); break;
        case O_MOM: o->momentum = fe_cli_real(&cl, c, optarg, 0, 0, 1); break;
        case O_WD: o->wd = fe_cli_real(&cl, c, optarg, 0, 0, WD_MAX); break;
        case O_INIT: o->init_s = optarg; break;
        case O_SEED: bad = fe_parse_i64(optarg, &o->seed) || o->seed < 0; break;
        case O_VAL: bad = fe_parse_double(optarg, &o->val_split) || o->val_split < 0 || o->val_split >= 1; break;
        case O_RESUME: o->resume = 1; break;
        case O_QUIET: o->quiet = 1; break;
        case O_NOSHUF: o->shuffle = 0; break;
        case O_FRESH: o->fresh_opt = 1; break;
        case O_LIMIT: bad = fe_parse_i64(optarg, &o->limit) || o->limit < 1; break;
        case O_TLIMIT: bad = fe_parse_i64(optarg, &o->test_limit) || o->test_limit < 1; break;
        }
        if (bad)
            fe_cli_bad_value(&cl, c, optarg);
    }
    fe_cli_no_operands(&cl, argc, argv);
    const char *missing = !o->m.model ? "--model" : !o->m.images ? "--images" : !o->labels ? "--labels"
                        : !o->out ? "--out" : o->epochs < 0 ? "--epochs" : o->m.batch < 0 ? "--batch"
                        : !o->optim_s ? "--optimizer" : isnan(o->lr) ? "--lr" : o->seed < 0 ? "--seed" : NULL;
    if (missing)
        fe_usage_error(PROG, "%s is required", missing);
    fe_model_args_check(&o->m, PROG);       /* --model, and --precision for it */
    if (!strcmp(o->optim_s, "sgd"))
        o->okind = FE_SGD;
    else if (!strcmp(o->optim_s, "adam"))
        o->okind = FE_ADAM;
    else
        fe_usage_error(PROG, "unknown optimizer '%s': sgd or adam", o->optim_s);
    if (!strncmp(o->init_s, "normal:", 7)) {
        if (fe_parse_double(o->init_s + 7, &o->conv_std) || !(o->conv_std >= INIT_STD_MIN) ||
            o->conv_std > INIT_STD_MAX)
            fe_usage_error(PROG, "invalid --init '%s': normal:STD with STD >= %g and <= %g",
                           o->init_s, INIT_STD_MIN, INIT_STD_MAX);
    } else if (strcmp(o->init_s, "default")) {
        fe_usage_error(PROG, "unknown --init '%s': default or normal:STD", o->init_s);
    }
    if (!o->timages != !o->tlabels)
        fe_usage_error(PROG, "--test-images and --test-labels go together");
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
    fe_load_images(PROG, ipath, &d->img);
    if (npy_load(lpath, &raw, &err))
        fe_die(PROG, lpath, "%s", err.msg);
    if (raw.ndim != 1 || (raw.dtype != FE_U8 && raw.dtype != FE_I32 && raw.dtype != FE_I64))
        fe_die(PROG, lpath, "expected integer labels of shape [N]");
    if (raw.shape[0] != d->img.shape[0])
        fe_die(PROG, lpath, "%lld labels for %lld images in %s", (long long)raw.shape[0],
               (long long)d->img.shape[0], ipath);
    int64_t n = raw.shape[0];
    if (limit > n)
        fe_die(PROG, ipath, "%s %lld but the file holds %lld images", limit_opt,
               (long long)limit, (long long)n);
    if (limit > 0)                          /* keep the first `limit` images */
        d->img.shape[0] = n = limit;
    if (fe_tensor_alloc(&d->lab, FE_I64, 1, &n))
        fe_die(PROG, lpath, "out of memory");
    int64_t *l = d->lab.data;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = raw.dtype == FE_U8 ? ((uint8_t *)raw.data)[i]
                  : raw.dtype == FE_I32 ? ((int32_t *)raw.data)[i] : ((int64_t *)raw.data)[i];
        if (v < 0 || v >= FE_CLASSES)
            fe_die(PROG, lpath, "label %lld at index %lld is outside 0..9", (long long)v, (long long)i);
        l[i] = v;
    }
    fe_tensor_free(&raw);
    if (n == 0)
        fe_die(PROG, ipath, "no images");
}

/* An evaluation's progress on stderr, in the style of training's: on a terminal
 * (live) a line redrawn twice a second and erased at the end, otherwise a line
 * every 30 seconds of a long one (ResNet-18's 12,000 validation images take
 * minutes); show 0: nothing (--quiet, and every rank but 0). */
struct eval_progress {
    int show, live, epoch, epochs;
    const char *what;           /* "validation" or "test" */
};

/* Returns the length of the line printed (live: to erase it). */
static int eval_line(const struct eval_progress *pg, int64_t done, int64_t count, double secs)
{
    const double ips = secs > 0 ? done / secs : 0, eta = ips > 0 ? (count - done) / ips : 0;
    if (pg->live && !done)      /* the first, before any image: no pace yet */
        return fprintf(stderr, "\repoch %d/%d  %s 0/%lld images   ", pg->epoch, pg->epochs,
                       pg->what, (long long)count) - 1;
    if (pg->live)
        return fprintf(stderr, "\repoch %d/%d  %s %lld/%lld images  %.0f img/s  ETA %.0fs   ",
                       pg->epoch, pg->epochs, pg->what, (long long)done, (long long)count, ips,
                       eta) - 1;
    return fprintf(stderr, PROG ": epoch %d/%d %s %lld/%lld images %.0f img/s ETA %.0fs\n",
                   pg->epoch, pg->epochs, pg->what, (long long)done, (long long)count, ips, eta);
}

/* Mean loss and accuracy (percent) over idx[0..count) in eval mode; under MPI
 * each rank takes its share of every batch and the totals are added up. */
static void evaluate(fe_model *m, const dataset *d, const int64_t *idx, int64_t count, int batch,
                     float mean, float std, const fe_comm *comm, const struct eval_progress *pg,
                     double *loss, double *acc)
{
    double tot[2] = {0, 0};     /* loss summed over images, correct predictions */
    int64_t correct = 0;
    int64_t *labels = fe_xmalloc(sizeof(int64_t) * batch);
    const double t0 = fe_now();
    double last = t0;
    int shown = pg->show && pg->live ? eval_line(pg, 0, count, 0) : 0;
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
        const double now = fe_now();
        if (pg->show && now - last > (pg->live ? 0.5 : 30.0)) {
            shown = eval_line(pg, s + nb, count, now - t0);
            last = now;
        }
    }
    if (pg->live && shown > 0)          /* erase it: the epoch's line comes next */
        fprintf(stderr, "\r%*s\r", shown, "");
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
        fe_die(PROG, dir, "path too long");
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
        fe_die(PROG, path, "%s", err.msg);
    fputs(METRICS_HEADER, o.f);
    for (int i = 0; i < mt->n; i++)
        fputs(mt->rows[i], o.f);
    if (fe_out_commit(&o, &err))
        fe_die(PROG, path, "%s", err.msg);
}

/* Keep rows of epochs <= upto from an existing metrics.tsv. */
static void metrics_read(metrics *mt, const char *dir, int upto)
{
    char path[4096], line[1024];
    path_in(path, sizeof path, dir, "metrics.tsv");
    FILE *f = fopen(path, "r");
    if (!f)
        fe_die(PROG, path, "cannot resume: %s", strerror(errno));
    int v1 = 0;
    if (!fgets(line, sizeof line, f) || (strcmp(line, METRICS_HEADER) && !(v1 = !strcmp(line, METRICS_HEADER_V1))))
        fe_die(PROG, path, "cannot resume: not a featevo metrics file");
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
        fe_die(PROG, path, "cannot resume: %d rows for %d epochs", mt->n, upto + 1);
}

/* One row of metrics.tsv; the have_ flags leave fields empty (epoch 0 has no
 * training, a run without --val-split or --test-images no such columns). */
struct metrics_row {
    int epoch;
    int have_train, have_val, have_test;
    double train_loss, train_acc, val_loss, val_acc, test_loss, test_acc;
    double seconds, images_per_s, train_acc_batchmean;
};

static void metrics_add(metrics *mt, const struct metrics_row *r)
{
    char row[512], a[64], b[64], c[64], d[64], e[64], f[64], g[64], h[64];
    a[0] = b[0] = c[0] = d[0] = e[0] = f[0] = g[0] = h[0] = 0;
    if (r->have_train) {
        snprintf(a, sizeof a, "%.6f", r->train_loss);
        snprintf(b, sizeof b, "%.3f", r->train_acc);
        snprintf(g, sizeof g, "%.1f", r->images_per_s);
        snprintf(h, sizeof h, "%.3f", r->train_acc_batchmean);
    }
    if (r->have_val) {
        snprintf(c, sizeof c, "%.6f", r->val_loss);
        snprintf(d, sizeof d, "%.3f", r->val_acc);
    }
    if (r->have_test) {
        snprintf(e, sizeof e, "%.6f", r->test_loss);
        snprintf(f, sizeof f, "%.3f", r->test_acc);
    }
    snprintf(row, sizeof row, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\n", r->epoch, a, b, c, d,
             e, f, r->seconds, g, h);
    mt->rows = realloc(mt->rows, sizeof(char *) * (mt->n + 1));
    mt->rows[mt->n++] = strdup(row);
}

/* ---- the run's identity: the settings --resume must find unchanged ---------- */

/* Kept in state.npz as entries run.KEY: text as uint8 bytes (run.model holds
 * "resnet18"), whole numbers as int64, real numbers as float64. */
struct run_ident {
    char model[16], optimizer[8], precision[8];
    int64_t seed, batch, val_images, images, test_limit, shuffle, fresh_optimizer;
    double lr, weight_decay, momentum, init_std, mean, std;
};

enum { ID_TEXT, ID_I64, ID_F64 };
/* The first 14 in the order of the int64 array `run` that earlier trains wrote. */
static const struct ident_field {
    const char *key;            /* state.npz entry run.KEY */
    int type;
    size_t off, size;           /* where in struct run_ident */
    const char *say, *say0;     /* how a command line says it (%s: the value); say0 for 0 */
} IDENT[] = {
#define F(key, type, say, say0) \
    {#key, type, offsetof(struct run_ident, key), sizeof(((struct run_ident *)0)->key), say, say0}
    F(model, ID_TEXT, "--model %s", NULL),
    F(optimizer, ID_TEXT, "--optimizer %s", NULL),
    F(seed, ID_I64, "--seed %s", NULL),
    F(batch, ID_I64, "--batch %s", NULL),
    F(val_images, ID_I64, "%s validation images (--val-split)", NULL),
    F(images, ID_I64, "%s images (--images, --limit)", NULL),
    F(test_limit, ID_I64, "--test-limit %s", "no --test-limit"),
    F(lr, ID_F64, "--lr %s", NULL),
    F(weight_decay, ID_F64, "--weight-decay %s", NULL),
    F(momentum, ID_F64, "--momentum %s", NULL),
    F(shuffle, ID_I64, "shuffling", "--no-shuffle"),
    F(init_std, ID_F64, "--init normal:%s", "--init default"),
    F(mean, ID_F64, "--mean %s", NULL),
    F(std, ID_F64, "--std %s", NULL),
    F(fresh_optimizer, ID_I64, "--fresh-optimizer", "no --fresh-optimizer"),
    F(precision, ID_TEXT, "--precision %s", NULL),
#undef F
};
enum { NIDENT = sizeof IDENT / sizeof IDENT[0], NLEGACY = 14 };

static struct run_ident ident_of(const struct train_opts *o, int64_t images, int64_t val_images)
{
    struct run_ident id = {.seed = o->seed, .batch = o->m.batch, .val_images = val_images,
                           .images = images, .test_limit = o->test_limit, .shuffle = o->shuffle,
                           .fresh_optimizer = o->fresh_opt, .lr = o->lr, .weight_decay = o->wd,
                           .momentum = o->momentum, .init_std = o->conv_std, .mean = o->m.mean,
                           .std = o->m.std};
    snprintf(id.model, sizeof id.model, "%s", o->m.model);
    snprintf(id.optimizer, sizeof id.optimizer, "%s", o->optim_s);
    snprintf(id.precision, sizeof id.precision, "%s", o->m.bf16 ? "bf16" : "fp32");
    return id;
}

static int ident_same(const struct ident_field *f, const struct run_ident *a, const struct run_ident *b)
{
    const char *x = (const char *)a + f->off, *y = (const char *)b + f->off;
    return f->type == ID_TEXT ? !strcmp(x, y)
         : f->type == ID_I64 ? *(const int64_t *)x == *(const int64_t *)y
                             : *(const double *)x == *(const double *)y;
}

/* The setting as a command line says it, with `digits` significant digits for reals. */
static void ident_say(const struct ident_field *f, const struct run_ident *id, int digits,
                      char *buf, size_t len)
{
    const char *p = (const char *)id + f->off;
    char v[64];
    int zero = 0;
    if (f->type == ID_TEXT)
        snprintf(v, sizeof v, "%s", p);
    else if (f->type == ID_I64)
        zero = snprintf(v, sizeof v, "%lld", (long long)*(const int64_t *)p) && !*(const int64_t *)p;
    else
        zero = snprintf(v, sizeof v, "%.*g", digits, *(const double *)p) && !*(const double *)p;
    snprintf(buf, len, zero && f->say0 ? f->say0 : f->say, v);
}

static _Noreturn void ident_differs(const char *path, const struct ident_field *f,
                                    const struct run_ident *was, const struct run_ident *now)
{
    char a[128], b[128];
    for (int digits = 6; digits <= 17; digits += 11) {     /* 17 where 6 look the same */
        ident_say(f, was, digits, a, sizeof a);
        ident_say(f, now, digits, b, sizeof b);
        if (strcmp(a, b))
            break;
    }
    fe_die(PROG, path, "this run was started with other settings: %s, not %s; resume it with "
           "those, or choose another --out DIR", a, b);
}

/* Earlier trains wrote the identity as one int64 array `run`: model and optimiser
 * by their enum values (lenet5 0, resnet18 1; sgd 0, adam 1), real numbers times
 * 1e12 and truncated, then 1 for --fresh-optimizer and 16 for bf16 when set.
 * Returns the array's length for `id`, or fills `id` from such an array
 * (its reals as near as the encoding allows) and returns 0, or -1 if it is not one. */
static const char *const LEGACY_MODEL[] = {"lenet5", "resnet18"}, *const LEGACY_OPTIM[] = {"sgd", "adam"};

/* x * 1e12 truncated, as earlier trains stored reals; values whose product does
 * not fit int64 (none the option ranges allow) become INT64_MIN, which no such
 * state holds for a setting in range, instead of a cast with undefined behaviour. */
static int64_t legacy_real(double x)
{
    const double v = x * 1e12;
    return v > -9.2e18 && v < 9.2e18 ? (int64_t)v : INT64_MIN;
}

static int legacy_encode(const struct run_ident *id, int64_t *v)
{
    int64_t model = -1, optim = -1;
    for (int64_t k = 0; k < 2; k++) {
        if (!strcmp(id->model, LEGACY_MODEL[k]))
            model = k;
        if (!strcmp(id->optimizer, LEGACY_OPTIM[k]))
            optim = k;
    }
    const int64_t head[NLEGACY] = {model, optim, id->seed, id->batch, id->val_images, id->images,
        id->test_limit, legacy_real(id->lr), legacy_real(id->weight_decay),
        legacy_real(id->momentum), id->shuffle, legacy_real(id->init_std),
        legacy_real(id->mean), legacy_real(id->std)};
    memcpy(v, head, sizeof head);
    int n = NLEGACY;
    if (id->fresh_optimizer)
        v[n++] = 1;
    if (!strcmp(id->precision, "bf16"))
        v[n++] = 16;
    return n;
}

static int legacy_decode(const int64_t *v, int n, struct run_ident *id)
{
    if (n < NLEGACY || n > NLEGACY + 2 || v[0] < 0 || v[0] > 1 || v[1] < 0 || v[1] > 1)
        return -1;
    *id = (struct run_ident){.seed = v[2], .batch = v[3], .val_images = v[4], .images = v[5],
                             .test_limit = v[6], .lr = v[7] / 1e12, .weight_decay = v[8] / 1e12,
                             .momentum = v[9] / 1e12, .shuffle = v[10], .init_std = v[11] / 1e12,
                             .mean = v[12] / 1e12, .std = v[13] / 1e12};
    snprintf(id->model, sizeof id->model, "%s", LEGACY_MODEL[v[0]]);
    snprintf(id->optimizer, sizeof id->optimizer, "%s", LEGACY_OPTIM[v[1]]);
    snprintf(id->precision, sizeof id->precision, "fp32");
    for (int k = NLEGACY; k < n; k++) {
        if (v[k] == 1 && k == NLEGACY)
            id->fresh_optimizer = 1;
        else if (v[k] == 16 && k == n - 1)
            snprintf(id->precision, sizeof id->precision, "bf16");
        else
            return -1;
    }
    return 0;
}

/* Refuse (exit 1) a state whose run is not `now`, naming the first setting that
 * differs: from its run.KEY entries, or from the int64 array of earlier trains. */
static void ident_check(const char *path, const npz_t *z, const struct run_ident *now)
{
    struct run_ident was;
    const fe_tensor *legacy = npz_get(z, "run");
    if (legacy) {
        int64_t want[NLEGACY + 2];
        const int n = legacy->dtype == FE_I64 && legacy->ndim == 1 ? (int)legacy->shape[0] : -1;
        if (n < 0 || n > NLEGACY + 2 || legacy_decode(legacy->data, n, &was))
            fe_die(PROG, path, "not a featevo training state (its run entry)");
        legacy_encode(now, want);
        for (int i = 0; i < NIDENT; i++)     /* reals compared as the array holds them */
            if (i < NLEGACY ? ((const int64_t *)legacy->data)[i] != want[i]
                            : !ident_same(&IDENT[i], &was, now))
                ident_differs(path, &IDENT[i], &was, now);
        return;
    }
    for (int i = 0; i < z->n; i++) {        /* a setting this train does not know */
        int known = strncmp(z->e[i].name, "run.", 4) != 0;
        for (int k = 0; k < NIDENT && !known; k++)
            known = !strcmp(z->e[i].name + 4, IDENT[k].key);
        fe_escbuf eb;                       /* a name from the file */
        if (!known)
            fe_die(PROG, path, "a run setting this train does not know (%s): made by a newer "
                   "train?", fe_esc(&eb, z->e[i].name));
    }
    for (int k = 0; k < NIDENT; k++) {
        const struct ident_field *f = &IDENT[k];
        char key[40];
        snprintf(key, sizeof key, "run.%s", f->key);
        const fe_tensor *t = npz_get(z, key);
        char *dst = (char *)&was + f->off;
        if (!t || (f->type == ID_TEXT ? t->dtype != FE_U8 || t->ndim != 1 ||
                   (size_t)t->shape[0] >= f->size || memchr(t->data, 0, (size_t)t->shape[0])
                 : t->ndim != 0 || t->dtype != (f->type == ID_I64 ? FE_I64 : FE_F64)))
            fe_die(PROG, path, "not a featevo training state (%s missing or malformed)", key);
        memcpy(dst, t->data, f->type == ID_TEXT ? (size_t)t->shape[0] : f->size);
        if (f->type == ID_TEXT)
            dst[t->shape[0]] = 0;
    }
    for (int k = 0; k < NIDENT; k++)
        if (!ident_same(&IDENT[k], &was, now))
            ident_differs(path, &IDENT[k], &was, now);
}

/* state.npz: the epoch reached, the optimiser state and the run's identity, and
 * the threads and processes that trained the last epoch (not part of the
 * identity: a resume with others is warned about, not refused). */
static void state_save(const char *dir, int epoch, const fe_optim *o, struct run_ident *id,
                       int64_t threads, int64_t ranks)
{
    char path[4096], keys[NIDENT][40];
    fe_err err;
    int64_t e64 = epoch, step = o->step, n = (int64_t)o->n;
    npz_entry e[4 + NIDENT + 2];
    memset(e, 0, sizeof e);
    int cnt = 0;
    e[cnt++] = (npz_entry){.name = "epoch", .t = {.dtype = FE_I64, .ndim = 0, .data = &e64}};
    e[cnt++] = (npz_entry){.name = "step", .t = {.dtype = FE_I64, .ndim = 0, .data = &step}};
    e[cnt++] = (npz_entry){.name = "threads", .t = {.dtype = FE_I64, .ndim = 0, .data = &threads}};
    e[cnt++] = (npz_entry){.name = "ranks", .t = {.dtype = FE_I64, .ndim = 0, .data = &ranks}};
    for (int k = 0; k < NIDENT; k++) {
        const struct ident_field *f = &IDENT[k];
        void *v = (char *)id + f->off;
        snprintf(keys[k], sizeof keys[k], "run.%s", f->key);
        e[cnt++] = (npz_entry){.name = keys[k], .t = {.dtype = FE_I64, .ndim = 0, .data = v}};
        if (f->type == ID_TEXT)         /* the bytes of the text, without its 0 */
            e[cnt - 1].t = (fe_tensor){.dtype = FE_U8, .ndim = 1, .shape = {(int64_t)strlen(v)}, .data = v};
        else if (f->type == ID_F64)
            e[cnt - 1].t.dtype = FE_F64;
    }
    e[cnt++] = (npz_entry){.name = "optim.buf", .t = {.dtype = FE_F32, .ndim = 1, .shape = {n}, .data = o->buf}};
    if (o->sq)
        e[cnt++] = (npz_entry){.name = "optim.sq", .t = {.dtype = FE_F32, .ndim = 1, .shape = {n}, .data = o->sq}};
    path_in(path, sizeof path, dir, "state.npz");
    if (npz_save(path, e, cnt, &err))
        fe_die(PROG, path, "%s", err.msg);
}

/* Returns the epoch reached, or -1 when there is no state file; *threads and
 * *ranks: what trained that epoch, or 0 when the state does not say (earlier trains). */
static int state_load(const char *dir, fe_optim *o, const struct run_ident *id, int64_t *threads,
                      int64_t *ranks)
{
    char path[4096];
    fe_err err;
    npz_t z = {0};
    path_in(path, sizeof path, dir, "state.npz");
    if (access(path, F_OK))
        return -1;
    if (npz_load(path, &z, &err))
        fe_die(PROG, path, "%s", err.msg);
    const fe_tensor *ep = npz_get(&z, "epoch"), *st = npz_get(&z, "step"),
                    *buf = npz_get(&z, "optim.buf"), *sq = npz_get(&z, "optim.sq");
    if (!ep || !st || !buf || ep->dtype != FE_I64 || st->dtype != FE_I64 || buf->dtype != FE_F32)
        fe_die(PROG, path, "not a featevo training state");
    /* the settings first: another --optimizer is named as such, not taken for a
     * state without Adam's optim.sq */
    ident_check(path, &z, id);
    if (o->sq && (!sq || sq->dtype != FE_F32))
        fe_die(PROG, path, "not a featevo training state");
    if (fe_numel(ep) != 1 || fe_numel(st) != 1)
        fe_die(PROG, path, "epoch and step must be single numbers");
    if (buf->ndim != 1 || buf->shape[0] != (int64_t)o->n ||
        (o->sq && (sq->ndim != 1 || sq->shape[0] != (int64_t)o->n)))
        fe_die(PROG, path, "optimiser state has the wrong shape (expected [%zu])", o->n);
    const int64_t epoch64 = *(int64_t *)ep->data, step = *(int64_t *)st->data;
    if (epoch64 < 0 || epoch64 > 100000 || step < 0)
        fe_die(PROG, path, "epoch %lld, step %lld: out of range", (long long)epoch64, (long long)step);
    for (int k = 0; k < (o->sq ? 2 : 1); k++) {
        const float *v = (const float *)(k ? sq : buf)->data;
        for (size_t i = 0; i < o->n; i++)
            if (!isfinite(v[i]))
                fe_die(PROG, path, "optim.%s element %zu is not finite (%g)", k ? "sq" : "buf", i,
                       (double)v[i]);
    }
    memcpy(o->buf, buf->data, sizeof(float) * o->n);
    if (o->sq)
        memcpy(o->sq, sq->data, sizeof(float) * o->n);
    o->step = step;
    const fe_tensor *th = npz_get(&z, "threads"), *rk = npz_get(&z, "ranks");
    *threads = th && th->dtype == FE_I64 && fe_numel(th) == 1 ? *(int64_t *)th->data : 0;
    *ranks = rk && rk->dtype == FE_I64 && fe_numel(rk) == 1 ? *(int64_t *)rk->data : 0;
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
        fprintf(stderr, PROG ": epoch %d/%d batch %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %.0fs\n",
                epoch, epochs, b, nb, loss, acc, ips, eta);
}

/* ---- the run ------------------------------------------------------------------ */

/* One training run, as run_open leaves it. */
struct run {
    const struct train_opts *o;
    fe_comm comm;               /* this process's rank among R (comm.h) */
    dataset train, test;
    int64_t n_val, n_tr;        /* validation and training images of train */
    fe_model *m;
    fe_optim opt;
    struct run_ident id;
    metrics mt;
    int start;                  /* the last complete epoch, -1 for a new run */
    int maxn;                   /* images in the largest pass this run makes: --batch, or
                                 * fewer when no set has that many (the buffers' size) */
    int nthreads, live;         /* live: progress redrawn on a terminal */
    int64_t *perm;              /* the seeded split: training images first, then validation */
    const int64_t *val_idx;     /* perm + n_tr, or NULL */
    int64_t *order, *test_idx, *lab;
};

/* The directories run_dir made for --out and its missing parents, deepest last:
 * removed again, those still empty, when train stops before the run's first
 * checkpoint (unmake_dirs at exit), kept once it is written (keep_dirs). */
static struct {
    char **path;
    int n;
} made;

static void keep_dirs(void)
{
    for (int i = 0; i < made.n; i++)
        free(made.path[i]);
    free(made.path);
    made.path = NULL;
    made.n = 0;
}

static void unmake_dirs(void)
{
    for (int i = made.n - 1; i >= 0; i--)
        rmdir(made.path[i]);            /* fails, harmlessly, on one that is not empty */
    keep_dirs();
}

/* mkdir -p out: every missing directory of the path, each one made recorded. */
static void make_dirs(const char *out)
{
    char *p = fe_xmalloc(strlen(out) + 1);
    strcpy(p, out);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        const char c = *s;
        *s = 0;
        if (!mkdir(p, 0777)) {
            made.path = realloc(made.path, sizeof(char *) * (made.n + 1));
            if (!made.path)
                fe_die(PROG, out, "out of memory");
            made.path[made.n] = fe_xmalloc(strlen(p) + 1);
            strcpy(made.path[made.n++], p);
        } else if (errno != EEXIST) {
            const int e = errno;
            unmake_dirs();
            if (!c)
                fe_die(PROG, out, "cannot create the output directory: %s", strerror(e));
            fe_die(PROG, out, "cannot create the output directory's parent %s: %s", p, strerror(e));
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
}

static void run_dir(const char *out)
{
    make_dirs(out);
    struct stat st;
    if (stat(out, &st) || !S_ISDIR(st.st_mode))
        fe_die(PROG, out, "not a directory");
    if (access(out, W_OK))
        fe_die(PROG, out, "output directory is not writable");
    /* One train per run directory; the kernel drops the lock when this process ends. */
    fe_err lerr;
    if (fe_run_lock(out, &lerr) < 0)
        fe_die(PROG, out, "%s", lerr.msg);
    /* under the lock: temp files that dead processes left here go (featevo(7)) */
    (void)fe_tmp_sweep(out, &lerr);
    /* ours alone now: if train stops before epoch-000.npz, what it made goes */
    if (made.n)
        atexit(unmake_dirs);
}

static void banner(const struct run *r)
{
    const struct train_opts *o = r->o;
    char blas[256];
    fprintf(stderr, PROG ": %s, %lld train / %lld validation / %lld test images, batch %lld, "
            "%lld epoch%s\n", o->m.name, (long long)r->n_tr, (long long)r->n_val,
            (long long)(o->timages ? r->test.img.shape[0] : 0), (long long)o->m.batch,
            (long long)o->epochs, FE_PLURAL(o->epochs));
    fprintf(stderr, PROG ": %s lr %g momentum %g weight_decay %g init %s seed %lld "
            "normalise (x-%g)/%g shuffle %s%s%s\n", o->optim_s, o->lr,
            o->okind == FE_SGD ? o->momentum : 0.0, o->wd, o->init_s, (long long)o->seed,
            o->m.mean, o->m.std, o->shuffle ? "on" : "off",
            o->fresh_opt ? ", a fresh optimiser every epoch" : "",
            o->m.bf16 ? ", bf16 convolution products" : "");
    fprintf(stderr, PROG ": BLAS %s (asked for %d)\n", fe_blas_describe(blas, sizeof blas),
            r->nthreads);
    fprintf(stderr, PROG ": %zu parameters, %.0f MiB of activations and scratch\n",
            r->m->nparams, r->m->nacts * 4.0 / 1048576.0);
    if (r->comm.size > 1)
        fprintf(stderr, PROG ": data-parallel: %s, about %lld images per rank per batch\n",
                r->comm.name, (long long)(o->m.batch / r->comm.size));
}

/* Everything before the first epoch: the processes, the data and every check of
 * it (before --out is created), the run directory, the model and optimiser, and
 * what --resume finds there; then the split.  Exits with a message on any error. */
static void run_open(struct run *r, struct train_opts *o, int *argc, char ***argv)
{
    *r = (struct run){.o = o};
    /* Under mpirun: one rank of a data-parallel run (comm.h); else one process. */
    fe_comm_open(PROG, argc, argv, &r->comm);
    const int R = r->comm.size, me = r->comm.rank;
    const int quiet = o->quiet || me != 0;      /* rank 0 speaks and writes for the run */
    const int64_t batch = o->m.batch;
    load_set(&r->train, o->m.images, o->labels, o->limit, "--limit");
    if (o->timages)
        load_set(&r->test, o->timages, o->tlabels, o->test_limit, "--test-limit");

    const int64_t N = r->train.img.shape[0];
    r->n_val = (int64_t)llround(o->val_split * (double)N);
    r->n_tr = N - r->n_val;
    if (r->n_tr < 1)
        fe_die(PROG, o->m.images, "--val-split %g leaves no training images", o->val_split);
    if (R > 1 && (batch < R || (r->n_tr % batch && r->n_tr % batch < R)))
        fe_die(PROG, o->m.images, "%lld training images in batches of %lld leave a batch of %lld: "
               "fewer than one image for each of the %d ranks", (long long)r->n_tr,
               (long long)batch, (long long)(batch < R ? batch : r->n_tr % batch), R);
    /* the buffers for the largest pass really made, not a nominal --batch beyond the data */
    int64_t most = r->n_tr > r->n_val ? r->n_tr : r->n_val;
    if (o->timages && r->test.img.shape[0] > most)
        most = r->test.img.shape[0];
    r->maxn = (int)(batch < most ? batch : most);
    if (me == 0)
        run_dir(o->out);
    r->comm.barrier(&r->comm);

    r->nthreads = fe_blas_threads((int)o->m.threads);
    r->m = fe_model_args_new(&o->m, PROG, r->maxn, R > 1 ? &r->comm : NULL);
    if (fe_optim_init(&r->opt, o->okind, r->m->nparams))
        fe_die(PROG, o->out, "out of memory");
    r->opt.lr = o->lr;
    r->opt.momentum = o->momentum;
    r->opt.weight_decay = o->wd;
    r->id = ident_of(o, N, r->n_val);

    char path[4096];
    int64_t was_threads = 0, was_ranks = 0;
    r->start = -1;
    if (o->resume)
        r->start = state_load(o->out, &r->opt, &r->id, &was_threads, &was_ranks);
    else {
        path_in(path, sizeof path, o->out, "state.npz");
        if (!access(path, F_OK))
            fe_die(PROG, o->out, "already holds a run; use --resume to continue it or choose another --out");
    }
    r->comm.barrier(&r->comm);        /* every rank has looked before rank 0 writes */
    r->live = !quiet && isatty(2);
    const int done = r->start >= o->epochs;     /* a finished run: nothing to train */
    if (!quiet && !done)
        banner(r);
    if (r->start >= 0) {
        fe_err err;
        snprintf(path, sizeof path, "%s/epoch-%03d.npz", o->out, r->start);
        if (fe_model_load(r->m, path, &err))
            fe_die(PROG, path, "cannot resume: %s", err.msg);
        metrics_read(&r->mt, o->out, r->start);
        if (!quiet && done)
            fprintf(stderr, PROG ": %s: already trained to epoch %d (--epochs %lld); nothing to "
                    "do\n", o->out, r->start, (long long)o->epochs);
        else if (!quiet)
            fprintf(stderr, PROG ": resuming %s after epoch %d, to epoch %lld\n", o->out,
                    r->start, (long long)o->epochs);
        /* A warning, not a refusal: the run may go on on another machine. */
        if (me == 0 && !done && was_threads > 0 && was_threads != r->nthreads)
            fprintf(stderr, PROG ": %s: warning: epoch %d was trained with %lld thread%s, this "
                    "resumes with %d: the rest may differ in the last bits from an uninterrupted "
                    "run (bit-identity needs the same --threads)\n", o->out, r->start,
                    (long long)was_threads, FE_PLURAL(was_threads), r->nthreads);
        if (me == 0 && !done && was_ranks > 0 && was_ranks != R)
            fprintf(stderr, PROG ": %s: warning: epoch %d was trained by %lld process%s, this "
                    "resumes with %d: the rest may differ in the last bits from an uninterrupted "
                    "run (bit-identity needs the same mpirun -np)\n", o->out, r->start,
                    (long long)was_ranks, was_ranks == 1 ? "" : "es", R);
    }

    /* Split: a seeded permutation; the last n_val indices are the validation set.
     * (Allocated only after the checks of --resume: fe_die does not return, so
     * the compiler need not keep these pointers anywhere a leak checker looks.) */
    r->perm = fe_xmalloc(sizeof(int64_t) * N);
    for (int64_t i = 0; i < N; i++)
        r->perm[i] = i;
    if (r->n_val > 0) {
        fe_rng rng;
        fe_rng_seed(&rng, (uint64_t)o->seed, "split", 0);
        fe_rng_permute(&rng, r->perm, N);
    }
    r->val_idx = r->n_val ? r->perm + r->n_tr : NULL;    /* (not one past the end) */
    r->order = fe_xmalloc(sizeof(int64_t) * r->n_tr);
    if (o->timages) {
        r->test_idx = fe_xmalloc(sizeof(int64_t) * r->test.img.shape[0]);
        for (int64_t i = 0; i < r->test.img.shape[0]; i++)
            r->test_idx[i] = i;
    }
    r->lab = fe_xmalloc(sizeof(int64_t) * r->maxn);
}

static void run_close(struct run *r)
{
    for (int i = 0; i < r->mt.n; i++)
        free(r->mt.rows[i]);
    free(r->mt.rows);
    free(r->lab);
    free(r->order);
    free(r->perm);
    free(r->test_idx);
    fe_optim_free(&r->opt);
    fe_model_free(r->m);
    fe_tensor_free(&r->train.img);
    fe_tensor_free(&r->train.lab);
    fe_tensor_free(&r->test.img);
    fe_tensor_free(&r->test.lab);
}

/* One epoch's training, as metrics.tsv and the progress line report it. */
struct epoch_stats {
    double loss;                /* the mean over batches of the batch's mean loss */
    double acc;                 /* percent of the training images predicted right */
    double acc_batchmean;       /* the mean over batches of the batch's accuracy */
    double t0, seconds;         /* its start (fe_now) and training time */
    char diverged[512];         /* set when a loss or weight was not finite: why training stopped */
};

/* Weights and batch-norm statistics (the state_dict) that are not finite. */
static int64_t nonfinite(const fe_model *m)
{
    int64_t bad = 0;
    for (size_t i = 0; i < m->nparams; i++)
        bad += !isfinite(m->params[i]);
    for (size_t i = 0; i < m->nbufs; i++)
        bad += !isfinite(m->bufs[i]);
    return bad;
}

/* Train one epoch: the epoch's seeded order, a step per batch (under MPI each
 * rank takes its part of every batch), progress on stderr. */
static struct epoch_stats train_epoch(struct run *r, int epoch)
{
    const struct train_opts *o = r->o;
    const int R = r->comm.size, me = r->comm.rank, quiet = o->quiet || me != 0;
    const int64_t batch = o->m.batch, n_tr = r->n_tr;
    const int nbatches = (int)((n_tr + batch - 1) / batch);
    fe_model *m = r->m;
    struct epoch_stats st = {.diverged = ""};
    for (int64_t i = 0; i < n_tr; i++)
        r->order[i] = r->perm[i];
    if (o->shuffle) {
        fe_rng rng;
        fe_rng_seed(&rng, (uint64_t)o->seed, "shuffle", (uint64_t)epoch);
        fe_rng_permute(&rng, r->order, n_tr);
    }
    if (o->fresh_opt)
        fe_optim_reset(&r->opt);
    double t0 = fe_now(), last = t0, loss_sum = 0, bacc_sum = 0, comm0 = r->comm.seconds(&r->comm);
    int64_t correct = 0;
    for (int b = 0; b < nbatches; b++) {
        int64_t s = (int64_t)b * batch;
        int nb = (int)(n_tr - s < batch ? n_tr - s : batch);
        /* this rank's part of the batch: images [lo, lo + nl) (all of it in one process) */
        const int lo = (int)((int64_t)nb * me / R), nl = (int)((int64_t)nb * (me + 1) / R) - lo;
        fe_model_set_input(m, r->train.img.data, r->order + s + lo, nl, (float)o->m.mean,
                           (float)o->m.std);
        for (int j = 0; j < nl; j++)
            r->lab[j] = ((int64_t *)r->train.lab.data)[r->order[s + lo + j]];
        fe_model_forward(m, nl, 1);
        int64_t got = 0;
        double loss = softmax_xent(FE_CLASSES, nl, m->logits, r->lab, m->dlogits, &got, NULL);
        if (R > 1) {        /* the whole batch's mean loss: dlogits / nb, not / nl */
            double tot[2] = {loss * nl, (double)got};
            r->comm.sum_f64(&r->comm, tot, 2);
            loss = tot[0] / nb;
            got = (int64_t)tot[1];
            const float scale = (float)nl / (float)nb;
            for (size_t i = 0; i < (size_t)FE_CLASSES * nl; i++)
                m->dlogits[i] *= scale;
        }
        correct += got;
        bacc_sum += 100.0 * (double)got / nb;
        if (!isfinite(loss)) {
            snprintf(st.diverged, sizeof st.diverged, "training diverged: loss is %g at epoch %d, "
                     "batch %d; no checkpoint written for epoch %d (the last one written is "
                     "epoch-%03d.npz)", loss, epoch, b + 1, epoch, epoch - 1);
            return st;
        }
        fe_model_backward(m, 1, NULL);
        r->comm.sum_f32(&r->comm, m->grads, m->nparams);     /* the whole batch's gradient */
        fe_optim_step(&r->opt, m->params, m->grads);
        loss_sum += loss;
        double now = fe_now();
        if (!quiet && (b + 1 == nbatches || now - last > (r->live ? 0.5 : 30.0))) {
            double seen = (double)(s + nb), ips = seen / (now - t0);
            progress(r->live, epoch, (int)o->epochs, b + 1, nbatches, loss_sum / (b + 1),
                     100.0 * correct / seen, ips, (n_tr - seen) / ips);
            last = now;
        }
    }
    double secs = fe_now() - t0, comm_secs = r->comm.seconds(&r->comm) - comm0;
    if (r->live)
        fputc('\n', stderr);
    /* The last step's result, which no loss above has seen: the weights, and the
     * last batch's loss again in eval mode, both over every rank. */
    {
        const int64_t s = (int64_t)(nbatches - 1) * batch;
        const int nb = (int)(n_tr - s), lo = (int)((int64_t)nb * me / R),
                  nl = (int)((int64_t)nb * (me + 1) / R) - lo;
        double tot[2] = {0, (double)nonfinite(m)};
        if (!tot[1]) {          /* (NaN weights give a NaN loss: no need to run them) */
            fe_model_fix_weights(m, 1);
            fe_model_set_input(m, r->train.img.data, r->order + s + lo, nl, (float)o->m.mean,
                               (float)o->m.std);
            for (int j = 0; j < nl; j++)
                r->lab[j] = ((int64_t *)r->train.lab.data)[r->order[s + lo + j]];
            fe_model_forward(m, nl, 0);
            tot[0] = softmax_xent(FE_CLASSES, nl, m->logits, r->lab, NULL, NULL, NULL) * nl;
            fe_model_fix_weights(m, 0);
        }
        r->comm.sum_f64(&r->comm, tot, 2);
        if (tot[1])
            snprintf(st.diverged, sizeof st.diverged, "training diverged: %.0f weights or "
                     "batch-norm statistics are not finite after the last step of epoch %d; no "
                     "checkpoint written for epoch %d (the last one written is epoch-%03d.npz)",
                     tot[1], epoch, epoch, epoch - 1);
        else if (!isfinite(tot[0]))
            snprintf(st.diverged, sizeof st.diverged, "training diverged: after the last step "
                     "of epoch %d the loss of its last batch is %g; no checkpoint written for "
                     "epoch %d (the last one written is epoch-%03d.npz)", epoch, tot[0] / nb,
                     epoch, epoch - 1);
        if (st.diverged[0])
            return st;
    }
    if (R > 1 && !quiet)
        fprintf(stderr, PROG ": epoch %d: %.1f s of %.1f in the sums over %d ranks "
                "(%.1f ms a step: gradients %.1f MB, loss and batch-norm statistics)\n",
                epoch, comm_secs, secs, R, 1e3 * comm_secs / nbatches, m->nparams * 4.0 / 1e6);
    st.loss = loss_sum / nbatches;
    st.acc = 100.0 * correct / n_tr;
    st.acc_batchmean = bacc_sum / nbatches;
    st.t0 = t0;
    st.seconds = secs;
    return st;
}

/* The record of an epoch (st NULL: the initial model, epoch 0): evaluate the
 * validation and test sets, add its metrics row, and (rank 0) write its
 * checkpoint, metrics.tsv and state.npz, the state last: a run stopped in
 * between resumes from the epoch before. */
static struct metrics_row record_epoch(struct run *r, int epoch, const struct epoch_stats *st,
                                       char *diverged, size_t dlen)
{
    const struct train_opts *o = r->o;
    const int batch = r->maxn;     /* (the same passes as --batch: no set is larger) */
    struct metrics_row row = {.epoch = epoch, .have_val = r->n_val > 0, .have_test = o->timages != NULL};
    if (st) {
        row.have_train = 1;
        row.train_loss = st->loss;
        row.train_acc = st->acc;
        row.seconds = st->seconds;
        row.images_per_s = r->n_tr / st->seconds;
        row.train_acc_batchmean = st->acc_batchmean;
    }
    struct eval_progress pg = {.show = !o->quiet && r->comm.rank == 0, .live = r->live,
                               .epoch = epoch, .epochs = (int)o->epochs, .what = "validation"};
    if (r->n_val)
        evaluate(r->m, &r->train, r->val_idx, r->n_val, batch, o->m.mean, o->m.std, &r->comm,
                 &pg, &row.val_loss, &row.val_acc);
    pg.what = "test";
    if (o->timages)
        evaluate(r->m, &r->test, r->test_idx, r->test.img.shape[0], batch, o->m.mean, o->m.std,
                 &r->comm, &pg, &row.test_loss, &row.test_acc);
    /* (every rank has the same sums: all see it, none writes) */
    const char *bad = row.have_val && !isfinite(row.val_loss) ? "validation"
                    : row.have_test && !isfinite(row.test_loss) ? "test" : NULL;
    if (bad) {
        const double loss = *bad == 'v' ? row.val_loss : row.test_loss;
        if (epoch)
            snprintf(diverged, dlen, "training diverged: the %s loss is %g after epoch %d; no "
                     "checkpoint written for epoch %d (the last one written is epoch-%03d.npz)",
                     bad, loss, epoch, epoch, epoch - 1);
        else
            snprintf(diverged, dlen, "training diverged: the initial model's %s loss is %g "
                     "(--init %s); no checkpoint written", bad, loss, o->init_s);
        return row;
    }
    metrics_add(&r->mt, &row);
    if (r->comm.rank == 0) {
        char name[32], path[4096];
        fe_err err;
        snprintf(name, sizeof name, "epoch-%03d.npz", epoch);
        path_in(path, sizeof path, o->out, name);
        if (fe_model_save(r->m, path, &err))
            fe_die(PROG, path, "%s", err.msg);
        metrics_write(&r->mt, o->out);
        state_save(o->out, epoch, &r->opt, &r->id, r->nthreads, r->comm.size);
    }
    return row;
}

/* "train: epoch 3: train loss ... acc ...%, val ..., 12.0s (800 img/s); about 2 min to epoch 10" */
static void epoch_line(const struct run *r, const struct metrics_row *row, const struct epoch_stats *st)
{
    const struct train_opts *o = r->o;
    fprintf(stderr, PROG ": epoch %d: train loss %.4f acc %.2f%%", row->epoch, st->loss, st->acc);
    if (row->have_val)
        fprintf(stderr, ", val loss %.4f acc %.2f%%", row->val_loss, row->val_acc);
    if (row->have_test)
        fprintf(stderr, ", test loss %.4f acc %.2f%%", row->test_loss, row->test_acc);
    fprintf(stderr, ", %.1fs (%.0f img/s)", st->seconds, r->n_tr / st->seconds);
    if (row->epoch < o->epochs) {   /* the whole run's end, at this epoch's pace (evaluation too) */
        const double left = (fe_now() - st->t0) * (double)(o->epochs - row->epoch);
        fprintf(stderr, "; about %.0f %s to epoch %d", left < 120 ? left : left / 60,
                left < 120 ? "s" : "min", (int)o->epochs);
    }
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
    fe_blas_autoselect(argv);   /* first: it may run train again, with the same arguments */
    struct train_opts o;
    parse_train_args(&o, argc, argv);
    struct run r;
    run_open(&r, &o, &argc, &argv);
    if (r.start < 0) {
        fe_rng rng;
        fe_rng_seed(&rng, (uint64_t)o.seed, "init", 0);
        fe_model_init(r.m, &rng, o.conv_std);
        char diverged0[512] = "";
        record_epoch(&r, 0, NULL, diverged0, sizeof diverged0);
        if (diverged0[0]) {     /* nothing written: directories train made go (unmake_dirs) */
            const int me0 = r.comm.rank;
            run_close(&r);
            if (me0 != 0)
                exit(1);
            fe_die(PROG, o.out, "%s", diverged0);
        }
        keep_dirs();            /* the run directory holds a run now */
        r.start = 0;
    }
    char diverged[512] = "";    /* set, the loop ends and everything is freed before the exit */
    for (int epoch = r.start + 1; epoch <= o.epochs && !diverged[0]; epoch++) {
        const struct epoch_stats st = train_epoch(&r, epoch);
        if (st.diverged[0]) {
            snprintf(diverged, sizeof diverged, "%s", st.diverged);
            break;
        }
        const struct metrics_row row = record_epoch(&r, epoch, &st, diverged, sizeof diverged);
        if (diverged[0])
            break;
        if (!o.quiet && r.comm.rank == 0)
            epoch_line(&r, &row, &st);
    }
    const int me = r.comm.rank;
    run_close(&r);
    if (diverged[0]) {
        if (me != 0)            /* rank 0 says it */
            exit(1);
        fe_die(PROG, o.out, "%s", diverged);
    }
    fe_comm_close(&r.comm);
    return 0;
}
