/* layers.h - the network's layers as forward/backward pairs over explicit buffers.
 *
 * Activation layout everywhere is [C][N][H][W] ("channel, then batch"): a
 * convolution over a chunk of images is then one GEMM whose output rows are
 * channels, and batch-norm statistics of a channel are one contiguous run.
 * With C = 1 (the input image) this is the same as NCHW.
 *
 * Backward functions take the gradient of the layer output and write the
 * gradient of its input; parameter gradients are written (not accumulated)
 * unless stated.  No function allocates: every buffer is planned by the model. */
#ifndef FE_LAYERS_H
#define FE_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* ---- conv2d (square kernel, symmetric zero padding) ---- */
typedef struct {
    int cin, cout, k, stride, pad;
    int h, w;        /* input spatial size */
    int oh, ow;      /* output spatial size */
} conv_geom;

void conv_geom_init(conv_geom *g, int cin, int cout, int k, int stride, int pad, int h, int w);
/* Floats of im2col scratch needed to process `chunk` images at once. */
size_t conv_col_floats(const conv_geom *g, int chunk);
/* Images per chunk so the im2col scratch stays within col_cap floats (>= 1). */
int conv_chunk(const conv_geom *g, size_t col_cap);

/* y[cout][n][oh][ow] = w (*) x + b.  w is [cout][cin*k*k], b may be NULL. */
void conv2d_forward(const conv_geom *g, int n, const float *x, const float *w, const float *b,
                    float *y, float *col, size_t col_cap);
/* From dy: dw (and db when non-NULL) are overwritten when dw != NULL;
 * dx is overwritten, or accumulated into when accumulate_dx, or skipped when NULL. */
void conv2d_backward(const conv_geom *g, int n, const float *x, const float *w, const float *dy,
                     float *dw, float *db, float *dx, int accumulate_dx, float *col, size_t col_cap);
/* The input patch matrix of one image chunk (im2col), exposed for tests and agop. */
void im2col(const conv_geom *g, int n_total, int n0, int nc, const float *x, float *col);

/* ---- Winograd F(2x2,3x3) for 3x3 stride-1 pad-1 convolutions (winograd.c) ----
 * Same results as conv2d_forward/backward (no bias) up to rounding, with 16
 * multiplies per 2x2 output tile instead of 36.  u and du are scratch of
 * wino_u_floats; col is chunk scratch as for conv2d (wino_col_floats per chunk). */
int wino_applies(const conv_geom *g);      /* k 3, stride 1, pad 1, cin >= 16, h, w <= 64 */
size_t wino_u_floats(const conv_geom *g);
size_t wino_col_floats(const conv_geom *g, int chunk);
void wino_forward(const conv_geom *g, int n, const float *x, const float *w, float *y, float *u,
                  float *col, size_t col_cap);
/* dw overwritten when non-NULL; dx overwritten, accumulated into, or skipped (NULL);
 * with mask (may be NULL), then dx = 0 where mask <= 0: relu_backward(mask, dx) fused. */
void wino_backward(const conv_geom *g, int n, const float *x, const float *w, const float *dy,
                   float *dw, float *dx, int accumulate_dx, const float *mask, float *u, float *du,
                   float *col, size_t col_cap);

/* ---- batch norm over [C][M] (M = N*H*W) ---- */
typedef struct {
    int c;
    float eps, momentum;
} bn_geom;

/* Training mode: normalise with the batch statistics (biased variance), save
 * mean/invstd per channel, update running stats (unbiased variance) and *nbt. */
void bn_forward_train(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                      const float *beta, float *y, float *save_mean, float *save_invstd,
                      float *run_mean, float *run_var, int64_t *nbt);
/* Eval mode: running statistics. */
void bn_forward_eval(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                     const float *beta, const float *run_mean, const float *run_var, float *y);
/* Training-mode backward (x is the saved input); dgamma/dbeta overwritten when non-NULL. */
void bn_backward_train(const bn_geom *g, int64_t m, const float *x, const float *dy,
                       const float *gamma, const float *save_mean, const float *save_invstd,
                       float *dx, float *dgamma, float *dbeta);
/* Eval-mode backward: dx = dy * gamma / sqrt(run_var + eps); when non-NULL,
 * dgamma = sum dy * (x - run_mean) / sqrt(run_var + eps) and dbeta = sum dy. */
void bn_backward_eval(const bn_geom *g, int64_t m, const float *x, const float *dy,
                      const float *gamma, const float *run_mean, const float *run_var, float *dx,
                      float *dgamma, float *dbeta);

/* ---- elementwise ---- */
void relu_forward(size_t n, float *x);                      /* in place */
/* dx = dy * (y > 0); may run in place (dx == dy). */
void relu_backward(size_t n, const float *y, const float *dy, float *dx);
void add_inplace(size_t n, float *y, const float *x);      /* y += x */

/* ---- 2x2 max pool, stride 2, over [C][N][H][W] (H, W even) ----
 * Ties go to the first element in row-major window order, as in PyTorch. */
void maxpool2_forward(int c, int n, int h, int w, const float *x, float *y);
void maxpool2_backward(int c, int n, int h, int w, const float *x, const float *dy, float *dx);

/* ---- global average pool [C][N][H*W] -> [C][N] ---- */
void avgpool_forward(int c, int n, int hw, const float *x, float *y);
void avgpool_backward(int c, int n, int hw, const float *dy, float *dx);

/* ---- linear: y[out][n] = w[out][in] x[in][n] + b ---- */
void linear_forward(int in, int out, int n, const float *x, const float *w, const float *b, float *y);
void linear_backward(int in, int out, int n, const float *x, const float *w, const float *dy,
                     float *dw, float *db, float *dx);

/* ---- softmax cross-entropy over logits [K][N] (mean over the batch) ----
 * Returns the mean loss; writes dlogits = (softmax - onehot) / n when dlogits
 * is non-NULL; counts correct argmax predictions into *correct when non-NULL.
 * loss_each, when non-NULL, receives each image's loss. */
double softmax_xent(int k, int n, const float *logits, const int64_t *labels, float *dlogits,
                    int64_t *correct, double *loss_each);

#endif
