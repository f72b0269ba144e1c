/* model_args.h - the options of the programs that run a model (train, agop,
 * snapshot), their defaults and checks defined once, and opening the model they
 * name.
 *
 *   --ckpt C.npz      the checkpoint (agop, snapshot)
 *   --images X.npy    uint8 images [N,28,28]
 *   --model NAME      lenet5 or resnet18: train's choice; the checkpoint tools
 *                     check the checkpoint against it (default: detect)
 *   --mean M --std S  input normalisation, (x/255 - M) / S (MNIST's 0.1307, 0.3081)
 *   --threads T       OpenBLAS and OpenMP threads (default 0: every core)
 *   --batch B         images per pass (the program's default, or required)
 *   --precision P     fp32 or bf16 (train)
 *
 * A program lists the options it takes (FE_OPTION_* below) in its option table
 * and hands every code fe_cli_next returns to fe_model_args_opt first.
 *
 * The programs reach the table of models (fe_arch_find, fe_arch_supports) and
 * build or open a model in its mode (fe_model_new, fe_model_open with an
 * fe_model_opts) only here: fe_model_args_check, fe_model_args_open,
 * fe_model_args_new. */
#ifndef FE_MODEL_ARGS_H
#define FE_MODEL_ARGS_H

#include <stdint.h>
#include "cli.h"
#include "model.h"

struct fe_comm;

#define FE_MEAN 0.1307          /* MNIST's pixel mean and standard deviation */
#define FE_STD 0.3081
/* The ranges --mean and --std accept (fe_cli_real): beyond them the input, in
 * float32, overflows or carries no information. */
#define FE_MEAN_MAX 1e6
#define FE_STD_MIN 1e-6
#define FE_STD_MAX 1e6
#define FE_STR_(x) #x
#define FE_STR(x) FE_STR_(x)    /* FE_STR(FE_MEAN) is "0.1307", for usage texts */

typedef struct {
    const char *ckpt;           /* --ckpt */
    const char *images;         /* --images */
    const char *model;          /* --model; NULL: not given */
    double mean, std;           /* --mean, --std */
    int64_t threads;            /* --threads */
    int64_t batch;              /* --batch; -1: not given */
    int bf16;                   /* --precision bf16 */
    char **argv;                /* main's, for fe_blas_autoselect */
    const char *name;           /* the model's architecture, set by open and new */
} fe_model_args;

/* The option codes, and the table entries a program picks from. */
enum { FE_OPT_CKPT = 0x7e00, FE_OPT_IMAGES, FE_OPT_MODEL, FE_OPT_MEAN, FE_OPT_STD,
       FE_OPT_THREADS, FE_OPT_BATCH, FE_OPT_PRECISION };
#define FE_OPTION_CKPT      {"ckpt", required_argument, NULL, FE_OPT_CKPT}
#define FE_OPTION_IMAGES    {"images", required_argument, NULL, FE_OPT_IMAGES}
#define FE_OPTION_MODEL     {"model", required_argument, NULL, FE_OPT_MODEL}
#define FE_OPTION_MEAN      {"mean", required_argument, NULL, FE_OPT_MEAN}
#define FE_OPTION_STD       {"std", required_argument, NULL, FE_OPT_STD}
#define FE_OPTION_THREADS   {"threads", required_argument, NULL, FE_OPT_THREADS}
#define FE_OPTION_BATCH     {"batch", required_argument, NULL, FE_OPT_BATCH}
#define FE_OPTION_PRECISION {"precision", required_argument, NULL, FE_OPT_PRECISION}

/* The defaults; batch is the program's (-1: --batch is required). */
void fe_model_args_init(fe_model_args *a, char **argv, int64_t batch);
/* Take option `code` with its argument: 1 when it is one of these (an invalid
 * value is a usage error, exit 2), 0 when it is the program's own. */
int fe_model_args_opt(fe_model_args *a, const fe_cli *cl, int code, const char *arg);
/* The checks that need the models: --model names one, and --precision bf16 is
 * for a model and a CPU that have it.  A usage error (exit 2) otherwise. */
void fe_model_args_check(const fe_model_args *a, const char *prog);

/* For the checkpoint tools: check (as above), pick OpenBLAS's kernels
 * (fe_blas_autoselect: this may re-execute the program) and the threads, load
 * --images into *images (unless images is NULL), and open --ckpt, checked against
 * --model, for batches of up to maxn images (no more than the images loaded), with
 * direct convolutions (m->exact_conv: the reported numbers, not Winograd's).
 * Exits with "prog: FILE: why" on a bad file. */
fe_model *fe_model_args_open(fe_model_args *a, const char *prog, int maxn, fe_tensor *images);
/* For a checkpoint read as an archive, not opened as a model (snapshot --tensor,
 * --list): when --model is given, check z is a checkpoint of that model, or exit
 * with "prog: CKPT: this is a lenet5 checkpoint, not a resnet18 one" (1). */
void fe_model_args_check_npz(const fe_model_args *a, const char *prog, const npz_t *z);
/* For train: a new --model for batches of up to maxn images, in --precision, its
 * batch-norm statistics over comm's ranks (NULL: this process only). */
fe_model *fe_model_args_new(fe_model_args *a, const char *prog, int maxn,
                            const struct fe_comm *comm);

/* Load uint8 images [N,28,28] from path, or exit with "prog: path: why" (the
 * shape found is named). */
void fe_load_images(const char *prog, const char *path, fe_tensor *t);
/* The index of layer `name`, or exit with "prog: name: no such layer ...; layers: ...". */
int fe_model_layer_or_die(const fe_model *m, const char *prog, const char *name);

#endif
