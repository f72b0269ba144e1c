/* model_args.h - what the tools that run a model share: loading the images and
 * naming a layer, with their errors reported for the tool. */
#ifndef FE_MODEL_ARGS_H
#define FE_MODEL_ARGS_H

#include "model.h"

/* Load uint8 images [N,28,28] from path, or exit with "prog: path: why" (the
 * shape found is named). */
void fe_load_images(const char *prog, const char *path, fe_tensor *t);
/* The index of layer `name`, or exit with "prog: name: no such layer ...; layers: ...". */
int fe_model_layer_or_die(const fe_model *m, const char *prog, const char *name);

#endif
