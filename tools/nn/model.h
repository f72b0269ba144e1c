/* model.h - LeNet-5 and the CIFAR-style ResNet-18 of the paper, with their
 * parameters named exactly as PyTorch's state_dict names them.
 *
 * A model owns three arenas planned once for a maximum batch size:
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

typedef enum { FE_LENET5, FE_RESNET18 } fe_arch;

#define FE_IMG 28        /* input images are 1 x 28 x 28 */
#define FE_CLASSES 10

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
    float *u;               /* Winograd filters made by the last forward (NULL where
                               Winograd does not apply) */
    int u_kept;             /* u is of the current weights (fe_model_fix_weights) */
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

typedef struct {
    fe_conv c1, c2, sc;
    fe_bn b1, b2, sbn;
    int has_sc;
    float *a1;              /* relu(bn1(conv1(x))) */
    float *out;             /* relu(bn2(conv2(a1)) + shortcut(x)) */
} fe_block;

/* A named layer for snapshot/agop: a conv or linear layer, its output z (the
 * quantity whose gradient agop needs) and the activation after its nonlinearity. */
typedef struct {
    const char *name;
    fe_conv *conv;          /* exactly one of conv, fc is set */
    fe_fc *fc;
    float *post;            /* [C][N][H][W] (or [C][N]) after the nonlinearity */
    int post_c, post_h, post_w;
} fe_layer;

typedef struct fe_model {
    fe_arch arch;
    int maxn;               /* batch capacity */
    int n;                  /* batch size of the last forward */
    int training;           /* mode of the last forward */
    int exact_conv;         /* 1: no Winograd (its rounding, ~1e-5 of a layer's scale
                               per convolution, adds up to ~1e-3 in a deep layer's
                               AGOP); set by the analysis tools, agop and snapshot */
    int bf16;               /* 1: ResNet-18's convolutions direct, their forward and
                               input-gradient products in bfloat16 with float32 sums
                               (train --precision bf16); needs fe_bf16_supported() */

    float *params, *grads, *bufs, *acts;
    size_t nparams, nbufs, nacts;
    fe_param *p;
    int np, pcap;
    fe_layer layers[32];
    int nlayers;

    float *input;           /* [1][N][28][28] normalised */
    float *logits;          /* [10][N] */
    float *dlogits;
    float *g[4];            /* gradient scratch, each as large as the largest activation */
    float *col;             /* im2col / Winograd chunk scratch */
    size_t col_cap;
    float *wdu;             /* Winograd filter gradient scratch (ResNet-18) */
    int weights_fixed;      /* set by fe_model_fix_weights */
    float *bf16_scratch;    /* packed bf16 operands (bf16 only; untouched otherwise) */
    /* Data-parallel training (train under mpirun): when set, batch-norm statistics
     * in training mode are of the whole batch over comm's ranks (comm.h). */
    const struct fe_comm *comm;
    double comm_buf[2 * 512 + 2];

    /* LeNet-5 */
    fe_conv conv1, conv2;
    float *p1, *p2, *flat;
    fe_fc fc1, fc2, fc3;
    /* ResNet-18 (conv1 shared name) */
    fe_bn bn1;
    float *a0;
    fe_block blk[8];
    float *pooled;
    fe_fc linear;
} fe_model;

const char *fe_arch_name(fe_arch a);
int fe_arch_parse(const char *s, fe_arch *a);

/* Build a model for batches of up to maxn images; col_floats bounds the im2col
 * scratch (0 picks a default).  Returns NULL and fills err on failure. */
fe_model *fe_model_new(fe_arch arch, int maxn, size_t col_floats, fe_err *err);
void fe_model_free(fe_model *m);

/* Initialise: PyTorch defaults (U(-1/sqrt(fan_in), +) for conv/linear weight and
 * bias; BN weight 1, bias 0, running stats 0/1).  conv_std > 0 draws every conv
 * weight from N(0, conv_std) instead. */
void fe_model_init(fe_model *m, fe_rng *r, double conv_std);

/* Forward n images already written to m->input.  training selects BN mode. */
void fe_model_forward(fe_model *m, int n, int training);

/* fixed = 1 promises that the parameters stay as they are until the next call
 * with fixed = 0: forwards in between (an evaluation over many batches) make
 * the transformed Winograd filters once instead of every time.  Without the
 * promise every forward makes them afresh (a backward always uses those of its
 * forward). */
void fe_model_fix_weights(fe_model *m, int fixed);

/* 1 when conv c of m runs by Winograd F(4x4,3x3): ResNet-18's 3x3 stride-1
 * convolutions in float32, unless m->exact_conv.  The one place that decides
 * (resnet18.c's forward and backward, make bench's count of the arithmetic). */
int fe_conv_winograd(const fe_model *m, const fe_conv *c);

/* Gradients at layer outputs, for agop: fn is called with the gradient of the
 * loss w.r.t. the output z of each layer of `layers` (indices into m->layers),
 * laid out [rows][cols] (rows = out channels, cols = N*oh*ow); `slot` is the
 * layer's position in `layers`.  One backward pass serves them all: it stops
 * as soon as every one of them has been called (`called` counts them; the
 * pass resets it). */
typedef struct {
    const int *layers;
    int nlayers;
    void (*fn)(void *ctx, int slot, const fe_layer *l, const float *dz, int rows, int64_t cols);
    void *ctx;
    int called;
} fe_hook;

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

/* The architecture a checkpoint's keys belong to (-1 if neither). */
int fe_arch_detect(const npz_t *z);
/* Open a checkpoint for batches of up to maxn images: detect its architecture,
 * or check it against *arch when want_arch is set. */
fe_model *fe_model_open(const char *ckpt, int want_arch, fe_arch arch, int maxn, fe_err *err);

/* Normalise uint8 images idx[0..n) of data [N][28][28] into m->input. */
void fe_model_set_input(fe_model *m, const uint8_t *images, const int64_t *idx, int n,
                        float mean, float std);

#endif
