/* builder.h - what a model's file (lenet5.c, resnet18.c) builds itself with.
 *
 * fe_model_new runs the model's build twice with the same description: the
 * first pass only counts (every pointer handed out is NULL), the arenas are
 * allocated from the counts, the second pass hands out pointers into them.
 * The builder also counts what the model's shape sizes: its parameters and
 * named layers, the widest BatchNorm (the data-parallel sums' buffer), the
 * largest activation (the gradient scratch) and the convolutions' scratch. */
#ifndef FE_BUILDER_H
#define FE_BUILDER_H

#include "model.h"
#include "ops.h"

typedef struct fe_builder {
    fe_model *m;
    int assign;         /* 0: the counting pass, 1: the pass that hands out pointers */
    int blocked;        /* the model's activations are in the blocked layout (layers.h):
                           fe_b_conv's geometries say so (bx = by = 1) */
    size_t nparams, nbufs, nacts;
    int np, nlayers;
    int maxbn;          /* channels of the widest BatchNorm */
    size_t maxact;      /* largest single activation, for the gradient scratch */
    size_t col_min;     /* chunk scratch of one image of the largest conv (a model may
                           raise it: LeNet-5 keeps columns there) */
    size_t scratch_min; /* the largest scratch of the convs' algorithms */
    fe_param counted;   /* where the counting pass writes the entries it counts */
    char long_name[96]; /* the first name too long for its field, and its limit */
} fe_builder;

/* The two passes and the arenas between them (fe_model_new checks arch, maxn and
 * the mode first).  NULL and err filled when memory runs out.  The model is
 * released by fe_model_free (here too: it frees what this allocates). */
fe_model *fe_build(const fe_arch *arch, int maxn, const fe_model_opts *opts, fe_err *err);

/* An activation of n floats (64-byte aligned). */
float *fe_b_act(fe_builder *b, size_t n);
/* A conv with its weight (and bias) named NAME.weight (NAME.bias), its output
 * activation for the batch, and its algorithm for the model's mode and geometry.
 * flags: FE_CONV_BIAS, a bias; FE_CONV_PLAIN_IN, its input (and dx) in the plain
 * layout in a blocked model (the first conv, on the images); 0: neither. */
enum { FE_CONV_BIAS = 1, FE_CONV_PLAIN_IN = 2 };
void fe_b_conv(fe_builder *b, fe_conv *c, const char *name, int cin, int cout, int k, int stride,
               int pad, int h, int w, int flags);
/* A BatchNorm of c channels: NAME.weight, .bias, .running_mean, .running_var,
 * .num_batches_tracked. */
void fe_b_bn(fe_builder *b, fe_bn *bn, const char *name, int c);
/* A linear layer in -> out with NAME.weight and NAME.bias, and its output. */
void fe_b_fc(fe_builder *b, fe_fc *f, const char *name, int in, int out);
/* A named layer (snapshot, agop): conv or fc, its activation after the nonlinearity
 * post, [c][N][h][w].  Named by its conv or fc; in forward order. */
void fe_b_layer(fe_builder *b, fe_conv *conv, fe_fc *fc, float *post, int c, int h, int w);

/* Call the hook if `name` is one of its layers; returns 1 when that was the
 * last of them (the pass stops). */
int fe_hook_at(const fe_model *m, fe_hook *h, const char *name, const float *dz, int rows,
               int64_t cols);

#endif
