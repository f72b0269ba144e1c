/* resnet18.h - ResNet-18's own state (m->net of a model of fe_resnet18), for
 * resnet18.c and the tests; the tools see only model.h. */
#ifndef FE_RESNET18_H
#define FE_RESNET18_H

#include "model.h"

typedef struct {
    fe_conv c1, c2, sc;
    fe_bn b1, b2, sbn;
    int has_sc;
    float *a1;              /* relu(bn1(conv1(x))) */
    float *out;             /* relu(bn2(conv2(a1)) + shortcut(x)) */
} resnet18_block;

typedef struct {
    fe_conv conv1;
    fe_bn bn1;
    float *a0;              /* relu(bn1(conv1(input))) */
    resnet18_block blk[8];
    float *pooled;          /* [512][N] */
    fe_fc linear;
    int blocked;            /* the activations are in the blocked layout (layers.h) */
} resnet18_net;

#endif
