/* layers.h - the network's layers as forward/backward pairs over explicit buffers.
 *
 * Activation layout everywhere is [C][N][H][W] ("channel, then batch"): a
 * convolution over a chunk of images is then one GEMM whose output rows are
 * channels, and batch-norm statistics of a channel are one contiguous run.
 * With C = 1 (the input image) this is the same as NCHW.
 *
 * The blocked layout (ResNet-18 in training and evaluation) keeps the
 * same N*H*W floats per channel, the images in blocks of FE_NB = 16: block b
 * holds images 16b .. 16b+w-1 (w = min(16, N - 16b)) as [H][W][w], starting at
 * 16b*H*W floats into the channel's plane (fe_blk_off).  BatchNorm, ReLU and
 * the residual additions work per channel or per element, so they run on it
 * unchanged; a convolution then reads and writes 16 images of one pixel as
 * one vector instead of transposing 16 image planes.  A conv_geom says which
 * of its tensors are blocked (bx: x and dx; by: y and dy); chunks of images
 * are then whole blocks (conv_chunk).  fe_blk_pack/unpack convert.
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
    int bx, by;      /* 1: x and dx (bx), y and dy (by) in the blocked layout */
} conv_geom;

#define FE_NB 16     /* images per block of the blocked layout */

/* Images in image i's block (of n), and the offset of its pixel p in a channel
 * plane of n images of hw pixels, blocked: its pixels lie fe_blk_w apart. */
static inline int fe_blk_w(int n, int i)
{
    const int i0 = i & ~(FE_NB - 1);
    return n - i0 < FE_NB ? n - i0 : FE_NB;
}
static inline size_t fe_blk_off(int n, int i, size_t hw, size_t p)
{
    const int i0 = i & ~(FE_NB - 1);
    return (size_t)i0 * hw + p * (size_t)fe_blk_w(n, i) + (size_t)(i - i0);
}
/* [C][N][HW] <-> the blocked layout of the same shape (out of place). */
void fe_blk_pack(int c, int n, size_t hw, const float *plain, float *blk);
void fe_blk_unpack(int c, int n, size_t hw, const float *blk, float *plain);

/* bx = by = 0 (the plain layout). */
void conv_geom_init(conv_geom *g, int cin, int cout, int k, int stride, int pad, int h, int w);
/* Floats of im2col scratch needed to process `chunk` images at once. */
size_t conv_col_floats(const conv_geom *g, int chunk);
/* Images per chunk so the im2col scratch stays within col_cap floats (>= 1).
 * With a blocked tensor, whole blocks (a multiple of FE_NB): col_cap must then
 * hold FE_NB images, or all of them when there are fewer. */
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
/* Its transpose: dx += the chunk's patch-matrix gradient col, scattered back;
 * then, when mask is set, the chunk's dx = 0 where mask <= 0 (a ReLU's backward). */
void col2im_add(const conv_geom *g, int n_total, int n0, int nc, const float *col, float *dx,
                const float *mask);

/* ---- conv2d with bfloat16 products (conv2d_bf16.c; train --precision bf16) ----
 * As conv2d_forward/backward (no bias), the forward and input-gradient GEMMs
 * with bf16 operands and float32 sums (gemm_bf16.h), the weight gradient in
 * float32.  Only where fe_bf16_supported(); scratch: conv_bf16_scratch_floats. */
size_t conv_bf16_scratch_floats(const conv_geom *g);
void conv2d_forward_bf16(const conv_geom *g, int n, const float *x, const float *w, float *y,
                         float *col, size_t col_cap, float *scratch);
void conv2d_backward_bf16(const conv_geom *g, int n, const float *x, const float *w,
                          const float *dy, float *dw, float *dx, int accumulate_dx, float *col,
                          size_t col_cap, float *scratch);

/* ---- conv2d in bf16 on the blocked layout (conv2d_bf16_blocked.c) ----
 * The same contract as conv2d_forward_bf16/backward_bf16 (bf16 products,
 * float32 sums, no bias), the weight gradient in bf16 products too, without
 * im2col: y and dy blocked (g->by), x and dx in either layout (g->bx).
 * scratch: conv_bf16_blocked_scratch_floats(g); no other buffer.  portable 1:
 * the kernels in portable C (VDPBF16PS's arithmetic, for the tests on any
 * CPU), 0: AVX512_BF16 (only where fe_bf16_supported()).  The backward
 * returns 1 when it applied mask to dx (mask and dx non-NULL), as
 * wino_backward. */
size_t conv_bf16_blocked_scratch_floats(const conv_geom *g);
void conv2d_forward_bf16_blocked(const conv_geom *g, int n, const float *x, const float *w,
                                 float *y, float *scratch, int portable);
int conv2d_backward_bf16_blocked(const conv_geom *g, int n, const float *x, const float *w,
                                 const float *dy, float *dw, float *dx, int accumulate_dx,
                                 const float *mask, float *scratch, int portable);

/* ---- 3x3 stride-1 pad-1 conv2d in bf16 by Winograd F(2x2,3x3) (winograd2_bf16.c) ----
 * The contract of conv2d_forward/backward_bf16_blocked, for x and y both
 * blocked (wino2_bf16_applies); scratch: wino2_bf16_scratch_floats(g). */
int wino2_bf16_applies(const conv_geom *g);
size_t wino2_bf16_scratch_floats(const conv_geom *g);
void wino2_bf16_forward(const conv_geom *g, int n, const float *x, const float *w, float *y,
                        float *scratch, int portable);
int wino2_bf16_backward(const conv_geom *g, int n, const float *x, const float *w,
                        const float *dy, float *dw, float *dx, int accumulate_dx,
                        const float *mask, float *scratch, int portable);

/* ---- conv2d with sgemm.h's GEMM (conv2d_sgemm.c) ----
 * As conv2d_forward/backward without a bias, the products by fe_sgemm_threads:
 * the same sums on every CPU and thread count.  With y blocked (g->by) the
 * forward and dw read the patch matrix straight from x and dx gets its
 * gradient 32 columns at a time (implicit im2col and col2im, the same bits;
 * col then holds only the dx pass's K x 32 slice per thread).  With mask (may
 * be NULL), then dx = 0 where mask <= 0: relu_backward(mask, dx) fused in. */
void conv2d_forward_sgemm(const conv_geom *g, int n, const float *x, const float *w, float *y,
                          float *col, size_t col_cap);
void conv2d_backward_sgemm(const conv_geom *g, int n, const float *x, const float *w,
                           const float *dy, float *dw, float *dx, int accumulate_dx, float *col,
                           size_t col_cap, const float *mask);

/* ---- Winograd F(4x4,3x3) for 3x3 stride-1 pad-1 convolutions (winograd.c) ----
 * Same results as conv2d_forward/backward (no bias) up to rounding, with 36
 * multiplies per 4x4 output tile instead of 144.  u holds the transformed
 * filters (wino_u_floats, [36][cout][cin]): wino_filters makes it from w, and
 * forward and backward take it ready, so that one transform serves a training
 * step's forward and backward, or a whole evaluation.  du is scratch of
 * wino_scratch_floats; col is chunk scratch as for conv2d (wino_col_floats per
 * chunk).  The 36 products of a chunk are sgemm.h's, one thread each. */
int wino_applies(const conv_geom *g);      /* k 3, stride 1, pad 1, cin >= 16, h, w <= 32 */
size_t wino_u_floats(const conv_geom *g);
size_t wino_scratch_floats(const conv_geom *g);
size_t wino_col_floats(const conv_geom *g, int chunk);
/* Whether wino_forward runs fused (one tile row of 16 images at a time, per
 * thread, V and M kept in cache) with col_cap floats of col: when cin * cout
 * <= 128 * 128 and col holds a block per thread.  The same bits either way. */
int wino_fused_applies(const conv_geom *g, size_t col_cap);
void wino_filters(const conv_geom *g, const float *w, float *u);
void wino_forward(const conv_geom *g, int n, const float *x, const float *u, float *y, float *col,
                  size_t col_cap);
/* dw overwritten when non-NULL; dx overwritten, accumulated into, or skipped (NULL);
 * with mask (may be NULL), then dx = 0 where mask <= 0: relu_backward(mask, dx) fused.
 * u (the filters of wino_filters) is read only when dx is set. */
void wino_backward(const conv_geom *g, int n, const float *x, const float *u, const float *dy,
                   float *dw, float *dx, int accumulate_dx, const float *mask, float *du,
                   float *col, size_t col_cap);

/* Small batches, where the tiles of all n images (n * ceil(h/4) * ceil(w/4))
 * number at most a sixteenth of min(cin, cout): the filter transforms run block
 * by block beside the products (U and dU stay in cache, never in u or du), so
 * these take w itself, and scratch (wino_scratch_floats) for the blocks; col
 * must hold 36 (2 cin + cout) tiles' floats.  The same bits as wino_filters +
 * wino_forward and wino_backward. */
int wino_streams_applies(const conv_geom *g, int n, size_t col_cap);
void wino_forward_streamed(const conv_geom *g, int n, const float *x, const float *w, float *y,
                           float *col, float *scratch);
void wino_backward_streamed(const conv_geom *g, int n, const float *x, const float *w,
                            const float *dy, float *dw, float *dx, int accumulate_dx,
                            const float *mask, float *scratch, float *col);

/* ---- batch norm over [C][M] (M = N*H*W) ---- */
typedef struct {
    int c;
    float eps, momentum;
} bn_geom;

/* What the forward does to BatchNorm's output as it writes it, so that a
 * residual addition and a ReLU cost no pass of their own through memory:
 *   y = bn(x), then y += res (res != NULL, [C][M] as y), then y = relu(y).
 * Each step rounds as a pass of its own would (a float addition, then
 * relu_forward's test), so the bits are the separate passes'.
 * A NULL bn_post: y = bn(x). */
typedef struct {
    const float *res;
    int relu;
} bn_post;

/* Training mode: normalise with the batch statistics (biased variance), save
 * mean/invstd per channel, update running stats (unbiased variance) and *nbt. */
void bn_forward_train(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                      const float *beta, float *y, float *save_mean, float *save_invstd,
                      float *run_mean, float *run_var, int64_t *nbt, const bn_post *post);
/* Eval mode: running statistics. */
void bn_forward_eval(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                     const float *beta, const float *run_mean, const float *run_var, float *y,
                     const bn_post *post);
/* Training-mode backward (x is the saved input); dgamma/dbeta overwritten when non-NULL. */
void bn_backward_train(const bn_geom *g, int64_t m, const float *x, const float *dy,
                       const float *gamma, const float *save_mean, const float *save_invstd,
                       float *dx, float *dgamma, float *dbeta);
/* Eval-mode backward: dx = dy * gamma / sqrt(run_var + eps); when non-NULL,
 * dgamma = sum dy * (x - run_mean) / sqrt(run_var + eps) and dbeta = sum dy. */
void bn_backward_eval(const bn_geom *g, int64_t m, const float *x, const float *dy,
                      const float *gamma, const float *run_mean, const float *run_var, float *dx,
                      float *dgamma, float *dbeta);

/* Their building blocks, per channel (m values): sums in double in a fixed
 * order (8 interleaved partial sums), the elementwise passes in float. */
double bn_sum(int64_t m, const float *x);                          /* sum x */
double bn_sqdev(int64_t m, const float *x, double mean);           /* sum (x - mean)^2 */
/* *sdy = sum dy, *sdyx = sum dy * (x - mean) * invstd */
void bn_dsums(int64_t m, const float *x, const float *dy, double mean, double invstd, double *sdy,
              double *sdyx);
/* y = (x-fm)*a+b for channel c, then post's residual (its channel c) and ReLU */
void bn_affine(int64_t m, const float *x, float fm, float a, float b, const bn_post *post, int c,
               float *y);
/* dx = a * (dy - mdy - (x - fm) * k) */
void bn_dx(int64_t m, const float *x, const float *dy, float fm, float a, float mdy, float k,
           float *dx);

/* Training mode over a batch split across the ranks of a data-parallel run
 * (batchnorm_dist.c): the statistics and the backward's sums are the whole
 * batch's, added over comm's ranks; dgamma and dbeta are this rank's part.
 * buf: 2 * c + 2 doubles of scratch. */
struct fe_comm;
void bn_forward_train_dist(const bn_geom *g, int64_t m, const float *x, const float *gamma,
                           const float *beta, float *y, float *save_mean, float *save_invstd,
                           float *run_mean, float *run_var, int64_t *nbt, const bn_post *post,
                           const struct fe_comm *comm, double *buf);
void bn_backward_train_dist(const bn_geom *g, int64_t m, const float *x, const float *dy,
                            const float *gamma, const float *save_mean, const float *save_invstd,
                            float *dx, float *dgamma, float *dbeta, const struct fe_comm *comm,
                            double *buf);

/* ---- elementwise ---- */
void relu_forward(size_t n, float *x);                      /* in place */
/* dx = dy * (y > 0); may run in place (dx == dy). */
void relu_backward(size_t n, const float *y, const float *dy, float *dx);

/* ---- 2x2 max pool, stride 2, over [C][N][H][W] (H, W even) ----
 * Ties go to the first element in row-major window order, as in PyTorch. */
void maxpool2_forward(int c, int n, int h, int w, const float *x, float *y);
void maxpool2_backward(int c, int n, int h, int w, const float *x, const float *dy, float *dx);

/* ---- global average pool [C][N][H*W] -> [C][N]; blk: x and dx blocked ---- */
void avgpool_forward(int c, int n, int hw, int blk, const float *x, float *y);
void avgpool_backward(int c, int n, int hw, int blk, const float *dy, float *dx);

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

/* ---- LeNet-5 fast paths ----
 * Pieces of a forward/backward pass that gives each thread whole chunks of
 * images [n0, n0+nc) of a batch of n: they run serially (OpenBLAS, called inside
 * a parallel region, runs single-threaded) and touch only the chunk's images. */

/* conv2d_forward (no bias) of the chunk, stride 1; col: conv_col_floats(g, nc)
 * floats, left holding the chunk's im2col columns. */
void conv2d_forward_chunk(const conv_geom *g, int n, int n0, int nc, const float *x,
                          const float *w, float *y, float *col);
/* From dy and the chunk's columns col (as conv2d_forward_chunk left them), stride 1:
 * dw = this chunk's weight gradient (overwritten) when non-NULL; the chunk's
 * images of dx overwritten (through dcol, conv_col_floats(g, nc) floats) when non-NULL. */
void conv2d_backward_chunk(const conv_geom *g, int n, int n0, int nc, const float *w,
                           const float *dy, const float *col, float *dw, float *dcol, float *dx);
/* Direct convolution for cin 1, k 5, stride 1 (LeNet-5's conv1): when it applies
 * (ow <= 32, oh and ow even, cout <= 16, padded input <= 36 x 36), */
int conv5x5c1_applies(const conv_geom *g);
/* y = relu(w (*) x + b) and p = maxpool2(y) for the chunk's images. */
void conv5x5c1_relu_pool_forward(const conv_geom *g, int n, int n0, int nc, const float *x,
                                 const float *w, const float *b, float *y, float *p);
/* With dz = relu_backward(y, maxpool2_backward(y, dp)) of the chunk's images:
 * dw[cout][25] += the weight gradient, db[cout] += sum dz (float sums). */
void conv5x5c1_pool_relu_backward_w(const conv_geom *g, int n, int n0, int nc, const float *x,
                                    const float *y, const float *dp, float *dw, float *db);
/* y += b (b may be NULL), ReLU in place, then 2x2 max pool of the chunk's images
 * of y [c][n][h][w]; pooled value (ch, image i, s = r*(w/2)+j) is written to
 * p[ch*pcs + i*pis + s*pss] (strides make the pool write a flattened [c*s][n]). */
void bias_relu_maxpool2_forward(int c, int n, int n0, int nc, int h, int w, const float *b,
                                float *y, float *p, size_t pcs, size_t pis, size_t pss);
/* dz = relu_backward(y, maxpool2_backward(y, dp)) for the chunk's images, with y
 * the ReLU'd pool input and dp strided as p above; db[ch] += sum dz when non-NULL. */
void maxpool2_relu_backward(int c, int n, int n0, int nc, int h, int w, const float *y,
                            const float *dp, size_t pcs, size_t pis, size_t pss, float *dz,
                            float *db);

#endif
