/* model_args.c - see model_args.h. */
#include <stdio.h>
#include "model_args.h"
#include "npy.h"

void fe_load_images(const char *prog, const char *path, fe_tensor *t)
{
    fe_err err;
    if (npy_load(path, t, &err))
        fe_die(prog, path, "%s", err.msg);
    if (t->dtype != FE_U8 || t->ndim != 3 || t->shape[1] != FE_IMG || t->shape[2] != FE_IMG) {
        char shape[160] = "";
        for (int i = 0, u = 0; i < t->ndim && u < (int)sizeof shape - 24; i++)
            u += snprintf(shape + u, sizeof shape - u, "%s%lld", i ? "," : "", (long long)t->shape[i]);
        fe_die(prog, path, "expected uint8 images of shape [N,28,28], got %s [%s]",
               fe_dtype_name(t->dtype), shape);
    }
}

int fe_model_layer_or_die(const fe_model *m, const char *prog, const char *name)
{
    int li = fe_model_find_layer(m, name);
    if (li < 0) {
        char names[1024];
        fe_model_layer_list(m, names, sizeof names);
        fe_die(prog, name, "no such layer in %s; layers: %s", fe_arch_name(m->arch), names);
    }
    return li;
}
