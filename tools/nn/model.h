/* model.h - the models of the paper (LeNet-5, the CIFAR-style ResNet-18) behind
 * one interface, with their parameters named exactly as PyTorch's state_dict
 * names them.
 *
 * The models are rows of a table (fe_archs[]): each row (fe_arch) is a model's
 * own explicit build, forward and backward (lenet5.c, resnet18.c); this file's
 * functions are the generic core around them (model.c): the arenas, named
 * layers, checkpoints, hooks.  A model owns three arenas planned once for a
 * maximum batch size (builder.c counts them, then hands out pointers):
 *   params/grads  every trainable tensor, contiguous (the optimiser is one loop)
 *   bufs          BatchNorm running statistics
 *   acts          the activations kept for the backward pass, plus scratch
 * Forward and backward never allocate. */
#ifndef FE_MODEL_H
#define FE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "fe.h"
#include "layers.h"
#include "npy.h"
#include "rng.h"

#define FE_IMG 28        /* input images are 1 x 28 x 28 */
#define FE_CLASSES 10

typedef struct fe_model fe_model;
typedef struct fe_arch fe_arch;
typedef struct fe_hook fe_hook;
struct fe_builder;
struct fe_comm;
struct fe_conv_algo;

/* ---- the model's mode, fixed when it is built ---- */
typedef enum { FE_PREC_FP32, FE_PREC_BF16 } fe_precision;

typedef struct {
    fe_precision precision;  /* FE_PREC_BF16: every convolution direct, its forward and
                                input-gradient products in bfloat16 with float32 sums
                                (train --precision bf16); see fe_arch_supports */
    int exact_conv;          /* 1: only algorithms that sum the convolution's own products
                                (no Winograd: its rounding, ~1e-5 of a layer's scale per
                                convolution, adds up to ~1e-3 in a deep layer's AGOP);
                                the analysis tools, agop and snapshot */
    const struct fe_comm *comm;  /* data-parallel training (train under mpirun): batch-norm
                                statistics in training mode are of the whole batch over
                                comm's ranks (comm.h); NULL: this process's batch */
    size_t col_floats;       /* chunk scratch of the convolutions (0: the default) */
    int plain_layout;        /* 1: every activation [C][N][H][W]; 0: a model with the
                                blocked layout (layers.h; FE_CAP_BLOCKED) keeps its
                                activations blocked (float32 and bf16) when exact_conv is 0.
                                (fe_layer.post and the hooks' gradients are read only by
                                the analysis tools, whose exact_conv models are plain.) */
} fe_model_opts;

/* ---- the pieces a model is built from ---- */
typedef struct {
    char name[64];          /* state_dict key */
    int ndim;
    int64_t shape[4];
    size_t n;               /* elements */
    float *data;            /* NULL for num_batches_tracked */
    float *grad;            /* trainable parameters only */
    int64_t *i64;           /* num_batches_tracked */
    int is_conv_weight;     /* for --init normal:STD */
    int fan_in;             /* for PyTorch's default init */
} fe_param;

typedef struct {
    char name[48];
    conv_geom g;
    float *w, *b, *dw, *db;
    float *y;               /* output [cout][N][oh][ow] */
    const struct fe_conv_algo *algo;  /* how it runs in the model's mode (ops.h) */
    float *state;           /* the algorithm's own state (Winograd: the transformed
                               filters of the last forward), NULL if it keeps none */
    int state_kept;         /* state is of the current weights (fe_model_fix_weights) */
} fe_conv;

typedef struct {
    bn_geom g;
    float *gamma, *beta, *dgamma, *dbeta, *rmean, *rvar, *smean, *sinv;
    int64_t nbt;
} fe_bn;

typedef struct {
    char name[48];
    int in, out;
    float *w, *b, *dw, *db;
    float *y;               /* output [out][N] */
} fe_fc;

/* A named layer for snapshot/agop: a conv or linear layer, its output z (the
 * quantity whose gradient agop needs) and the activation after its nonlinearity.
 * post, and the gradients a hook receives, are in the model's layout: plain
 * unless m->blocked, which the analysis tools' exact_conv models never are. */
typedef struct {
    const char *name;
    fe_conv *conv;          /* exactly one of conv, fc is set */
    fe_fc *fc;
    float *post;            /* [C][N][H][W] (or [C][N]) after the nonlinearity */
    int post_c, post_h, post_w;
} fe_layer;

/* ---- the table of models ---- */
enum {                     /* fe_arch.caps */
    FE_CAP_BF16 = 1,        /* it has a bf16 path (FE_PREC_BF16) */
    FE_CAP_BLOCKED = 2,     /* it can keep its activations in the blocked layout */
};

struct fe_arch {
    const char *name;               /* "lenet5": --model, messages */
    const char *title;              /* "LeNet-5" */
    const char *detect_keys[4];     /* state_dict keys its checkpoints hold and the other
                                       models' do not (NULL-terminated) */
    size_t net_size;                /* bytes of its own state (m->net) */
    unsigned caps;                  /* FE_CAP_* */
    /* Describe the model to the builder (builder.c; it is called twice). */
    void (*build)(struct fe_builder *b);
    /* Forward n images from m->input to m->logits (training: BatchNorm mode). */
    void (*forward)(fe_model *m, int n, int training);
    /* Backward from m->dlogits (see fe_model_backward). */
    void (*backward)(fe_model *m, int param_grads, fe_hook *hook);
};

extern const fe_arch fe_lenet5, fe_resnet18;
extern const fe_arch *const fe_archs[];      /* every model, NULL-terminated */

/* The model called name, or NULL. */
const fe_arch *fe_arch_find(const char *name);
/* The models' names joined by sep ("lenet5|resnet18"), into buf; returns buf. */
const char *fe_arch_names(char *buf, size_t len, const char *sep);
/* 0 when arch can be built in the mode of opts (NULL: the default); else -1 and
 * the reason in why (a model without a bf16 path; a CPU without AVX512_BF16). */
int fe_arch_supports(const fe_arch *arch, const fe_model_opts *opts, fe_err *why);
/* The model whose detect_keys a checkpoint holds, or NULL. */
const fe_arch *fe_arch_detect(const npz_t *z);

/* ---- a model ---- */
struct fe_model {
    const fe_arch *arch;
    fe_model_opts opts;     /* its mode, as built */
    int maxn;               /* batch capacity */
    int n;                  /* batch size of the last forward */
    int training;           /* mode of the last forward */
    int blocked;            /* its activations are in the blocked layout (layers.h) */

    float *params, *grads, *bufs, *acts;
    size_t nparams, nbufs, nacts;
    fe_param *p;
    int np;
    fe_layer *layers;       /* every conv and linear layer, in forward order */
    int nlayers;

    float *input;           /* [1][N][28][28] normalised */
    float *logits;          /* [10][N] */
    float *dlogits;
    float *g[4];            /* gradient scratch, each as large as the largest activation */
    float *col;             /* im2col / Winograd chunk scratch */
    size_t col_cap;
    float *conv_scratch;    /* the convolution algorithms' shared scratch (ops.h) */
    int weights_fixed;      /* set by fe_model_fix_weights */
    double *comm_buf;       /* 2 * (the widest BatchNorm) + 2 doubles, for opts.comm */
    void *net;              /* the model's own state (lenet5.h, resnet18.h) */
};

/* Build a model for batches of up to maxn images in the mode of opts (NULL: float32,
 * Winograd where it applies, one process, the default scratch).  Returns NULL
 * and fills err on failure (also for a mode the model or the CPU does not have). */
fe_model *fe_model_new(const fe_arch *arch, int maxn, const fe_model_opts *opts, fe_err *err);
void fe_model_free(fe_model *m);

/* Initialise: PyTorch defaults (U(-1/sqrt(fan_in), +) for conv/linear weight and
 * bias; BN weight 1, bias 0, running stats 0/1).  conv_std > 0 draws every conv
 * weight from N(0, conv_std) instead. */
void fe_model_init(fe_model *m, fe_rng *r, double conv_std);

/* Forward n images already written to m->input.  training selects BN mode. */
void fe_model_forward(fe_model *m, int n, int training);

/* fixed = 1 promises that the parameters stay as they are until the next call
 * with fixed = 0: forwards in between (an evaluation over many batches) make
 * an algorithm's state (Winograd's transformed filters) once instead of every
 * time.  Without the promise every forward makes it afresh (a backward always
 * uses that of its forward). */
void fe_model_fix_weights(fe_model *m, int fixed);

/* Gradients at layer outputs, for agop: fn is called with the gradient of the
 * loss w.r.t. the output z of each layer of `layers` (indices into m->layers),
 * laid out [rows][cols] (rows = out channels, cols = N*oh*ow); `slot` is the
 * layer's position in `layers`.  One backward pass serves them all: it stops
 * as soon as every one of them has been called (`called` counts them; the
 * pass resets it). */
struct fe_hook {
    const int *layers;
    int nlayers;
    void (*fn)(void *ctx, int slot, const fe_layer *l, const float *dz, int rows, int64_t cols);
    void *ctx;
    int called;
};

/* Backward from m->dlogits through the last forward.  param_grads = 0 skips the
 * parameter gradients (agop); with a hook, the pass calls it at its layers and
 * stops after the last of them. */
void fe_model_backward(fe_model *m, int param_grads, fe_hook *hook);

/* Named layers. */
int fe_model_find_layer(const fe_model *m, const char *name);
/* "conv1, conv2, fc1, ..." into buf. */
void fe_model_layer_list(const fe_model *m, char *buf, size_t len);

/* Checkpoints: .npz with exactly the PyTorch state_dict keys and shapes. */
int fe_model_save(const fe_model *m, const char *path, fe_err *err);
int fe_model_load(fe_model *m, const char *path, fe_err *err);
int fe_model_from_npz(fe_model *m, const npz_t *z, fe_err *err);

/* Open a checkpoint for batches of up to maxn images in the mode of opts (NULL:
 * the default): detect its model, or check it is `want` when want is set. */
fe_model *fe_model_open(const char *ckpt, const fe_arch *want, int maxn,
                        const fe_model_opts *opts, fe_err *err);

/* Normalise uint8 images idx[0..n) of data [N][28][28] into m->input. */
void fe_model_set_input(fe_model *m, const uint8_t *images, const int64_t *idx, int n,
                        float mean, float std);

#endif
