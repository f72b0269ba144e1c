/* nn_internal.h - the model builder shared by model.c, lenet5.c and resnet18.c. */
#ifndef FE_NN_INTERNAL_H
#define FE_NN_INTERNAL_H

#include "model.h"

typedef struct {
    fe_model *m;
    size_t nparams, nbufs, nacts;
    size_t maxact;      /* largest single activation, for the gradient scratch */
    size_t col_min;     /* im2col floats of one image of the largest conv */
    size_t wu_min;      /* Winograd filter gradient scratch of the largest such conv */
    size_t bf16_min;    /* bf16 GEMM scratch of the largest conv (touched only in bf16) */
} fe_builder;

float *fe_b_act(fe_builder *b, size_t n);
void fe_b_conv(fe_builder *b, fe_conv *c, const char *name, int cin, int cout, int k, int stride,
               int pad, int h, int w, int bias);
void fe_b_bn(fe_builder *b, fe_bn *bn, const char *name, int c);
void fe_b_fc(fe_builder *b, fe_fc *f, const char *name, int in, int out);
void fe_b_layer(fe_builder *b, const char *name, fe_conv *conv, fe_fc *fc, float *post, int c,
                int h, int w);

/* Call the hook if `name` is one of its layers; returns 1 when that was the
 * last of them (the pass stops). */
int fe_hook_at(const fe_model *m, fe_hook *h, const char *name, const float *dz, int rows,
               int64_t cols);

void lenet5_build(fe_builder *b);
void lenet5_forward(fe_model *m, int n);
void lenet5_backward(fe_model *m, int param_grads, fe_hook *hook);
void resnet18_build(fe_builder *b);
void resnet18_forward(fe_model *m, int n, int training);
void resnet18_backward(fe_model *m, int param_grads, fe_hook *hook);

#endif
