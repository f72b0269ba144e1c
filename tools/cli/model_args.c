/* model_args.c - see model_args.h. */
#include <stdio.h>
#include <string.h>
#include "model_args.h"
#include "npy.h"

void fe_model_args_init(fe_model_args *a, char **argv, int64_t batch)
{
    *a = (fe_model_args){.mean = FE_MEAN, .std = FE_STD, .batch = batch, .argv = argv};
}

int fe_model_args_opt(fe_model_args *a, const fe_cli *cl, int code, const char *arg)
{
    int bad = 0;
    switch (code) {
    case FE_OPT_CKPT: a->ckpt = arg; break;
    case FE_OPT_IMAGES: a->images = arg; break;
    case FE_OPT_MODEL: a->model = arg; break;
    case FE_OPT_MEAN: a->mean = fe_cli_real(cl, code, arg, -FE_MEAN_MAX, 0, FE_MEAN_MAX); break;
    case FE_OPT_STD: a->std = fe_cli_real(cl, code, arg, FE_STD_MIN, 0, FE_STD_MAX); break;
    case FE_OPT_THREADS: bad = fe_parse_i64(arg, &a->threads) || a->threads < 0 || a->threads > 1024; break;
    case FE_OPT_BATCH: bad = fe_parse_i64(arg, &a->batch) || a->batch < 1 || a->batch > 65536; break;
    case FE_OPT_PRECISION:
        bad = strcmp(arg, "fp32") && strcmp(arg, "bf16");
        a->bf16 = !strcmp(arg, "bf16");
        break;
    default:
        return 0;
    }
    if (bad)
        fe_cli_bad_value(cl, code, arg);
    return 1;
}

void fe_load_images(const char *prog, const char *path, fe_tensor *t)
{
    fe_err err;
    if (npy_load(path, t, &err))
        fe_die(prog, path, "%s", err.msg);
    if (t->dtype != FE_U8 || t->ndim != 3 || t->shape[1] != FE_IMG || t->shape[2] != FE_IMG) {
        char shape[80];
        fe_die(prog, path, "expected uint8 images of shape [N,28,28], got %s %s",
               fe_dtype_name(t->dtype), fe_shape_str(t, shape, sizeof shape));
    }
}

/* The model --model names (usage error if none does; NULL when not given and
 * optional). */
static const fe_arch *arch_of(const fe_model_args *a, const char *prog, int required)
{
    char names[256];
    if (!a->model && !required)
        return NULL;
    const fe_arch *arch = a->model ? fe_arch_find(a->model) : NULL;
    if (!arch)
        fe_usage_error(prog, "unknown model '%s': %s", a->model ? a->model : "",
                       fe_arch_names(names, sizeof names, " or "));
    return arch;
}

static fe_model_opts mode_of(const fe_model_args *a)
{
    return (fe_model_opts){.precision = a->bf16 ? FE_PREC_BF16 : FE_PREC_FP32};
}

void fe_model_args_check(const fe_model_args *a, const char *prog)
{
    const fe_arch *arch = arch_of(a, prog, 0);
    const fe_model_opts mode = mode_of(a);
    fe_err why;
    if (arch && fe_arch_supports(arch, &mode, &why))
        fe_usage_error(prog, "--precision bf16: %s; use --precision fp32", why.msg);
}

fe_model *fe_model_args_open(fe_model_args *a, const char *prog, int maxn, fe_tensor *images)
{
    fe_model_args_check(a, prog);
    fe_blas_autoselect(a->argv);
    fe_blas_threads((int)a->threads);
    if (images) {
        fe_load_images(prog, a->images, images);
        if (maxn > images->shape[0] && images->shape[0] > 0)
            maxn = (int)images->shape[0];
    }
    /* reported numbers: direct convolution, not Winograd */
    const fe_model_opts exact = {.exact_conv = 1};
    fe_err err;
    fe_model *m = fe_model_open(a->ckpt, arch_of(a, prog, 0), maxn, &exact, &err);
    if (!m)
        fe_die(prog, a->ckpt, "%s", err.msg);
    a->name = m->arch->name;
    return m;
}

void fe_model_args_check_npz(const fe_model_args *a, const char *prog, const npz_t *z)
{
    const fe_arch *want = arch_of(a, prog, 0), *found = want ? fe_arch_detect(z) : NULL;
    char names[256];
    if (want && !found)
        fe_die(prog, a->ckpt, "not a checkpoint of any model featevo knows (%s): none has all "
               "its keys", fe_arch_names(names, sizeof names, ", "));
    if (want && found != want)
        fe_die(prog, a->ckpt, "this is a %s checkpoint, not a %s one", found->name, want->name);
}

fe_model *fe_model_args_new(fe_model_args *a, const char *prog, int maxn,
                            const struct fe_comm *comm)
{
    const fe_arch *arch = arch_of(a, prog, 1);
    fe_model_opts mode = mode_of(a);
    mode.comm = comm;
    fe_err err;
    fe_model *m = fe_model_new(arch, maxn, &mode, &err);
    if (!m)
        fe_die(prog, a->model, "%s", err.msg);
    a->name = arch->name;
    return m;
}

int fe_model_layer_or_die(const fe_model *m, const char *prog, const char *name)
{
    int li = fe_model_find_layer(m, name);
    if (li < 0) {
        char names[1024];
        fe_model_layer_list(m, names, sizeof names);
        fe_die(prog, name, "no such layer in %s; layers: %s", m->arch->name, names);
    }
    return li;
}
